// Runs the article's snippets (this folder) against the running demo and checks what each
// one printed. `DEMO_CREDENTIALS=<file> node snippets/run.mjs`; exit 0 when every check
// passes, else 1 with one line per failure naming the peer, the step and the response.
import { createRequire } from 'node:module';
import axios from 'axios';
import { articleSession, sessionClient } from './session.mjs';

const require = createRequire(import.meta.url);
const demo = require('../lib/demo.cjs');
const { capture, describe, fail } = require('../lib/check.cjs');

const PEER = 'article snippet (axios)';
const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

/** What a snippet printed on success (its `console.log(response.data)`), or a failure. */
function printed(step, { logged, errors }) {
  if (errors.length > 0) {
    fail(PEER, step, errors.map((args) => args.map(describe).join(' ')).join('; '));
  }
  if (logged.length !== 1) {
    fail(PEER, step, `expected one console.log, got ${describe(logged)}`);
  }
  return logged[0][0];
}

check('basic: GET /basic/protected', async (step) => {
  const { basicAuthRequest } = require('./basic.cjs');
  const data = printed(step, await capture(basicAuthRequest));
  if (!JSON.stringify(data).includes('myUser')) fail(PEER, step, `200 ${describe(data)}`);
});

check('api key: GET /apikey/protected', async (step) => {
  const { apiKeyRequest } = require('./apikey.cjs');
  const data = printed(step, await capture(apiKeyRequest));
  if (data.scheme !== 'api_key' && !JSON.stringify(data).includes(demo.credentials.api_key.owner)) {
    fail(PEER, step, `200 ${describe(data)}`);
  }
});

check('bearer: POST /auth/token then GET /bearer/protected', async (step) => {
  const { bearerTokenRequest } = require('./bearer.cjs');
  const data = printed(step, await capture(bearerTokenRequest));
  if (!JSON.stringify(data).includes('myUser')) fail(PEER, step, `200 ${describe(data)}`);
});

check('jwt: jsonwebtoken sign and verify, then GET /jwt/article', async (step) => {
  const { generateJwt, verifyJwt } = require('./jwt.cjs');
  const token = generateJwt();
  const seen = await capture(() => verifyJwt(token));
  if (seen.errors.length > 0 || seen.logged[0]?.[1]?.userId !== 123) {
    fail('jsonwebtoken', `${step}: verifyJwt`, describe(seen));
  }
  const response = await axios
    .get(`${demo.baseUrl}/jwt/article`, { headers: { Authorization: `Bearer ${token}` } })
    .catch((error) => fail(PEER, `${step}: GET /jwt/article`, describe(error)));
  if (!JSON.stringify(response.data).includes('123')) {
    fail(PEER, `${step}: GET /jwt/article`, `200 ${describe(response.data)}`);
  }
  // The same snippet with another secret: the demo refuses it.
  const forged = require('jsonwebtoken').sign({ userId: 123, role: 'admin' }, 'x'.repeat(43), {
    expiresIn: '1h',
  });
  const refused = await axios
    .get(`${demo.baseUrl}/jwt/article`, { headers: { Authorization: `Bearer ${forged}` } })
    .then((r) => r, (e) => e.response);
  if (refused?.status !== 401) {
    fail(PEER, `${step}: a token signed with another secret`, describe(refused?.data ?? refused));
  }
});

check('hmac: POST /hmac/webhook with X-Signature', async (step) => {
  const { hmacSignedRequest } = require('./hmac.cjs');
  const { webhook_secret: secret } = demo.credentials.hmac;
  const payload = { event: 'order.created', id: 42 };
  const url = `${demo.baseUrl}/hmac/webhook`;
  const data = printed(step, await capture(() => hmacSignedRequest(url, payload, secret)));
  if (data.payload?.id !== 42) fail(PEER, step, `200 ${describe(data)}`);
  // A wrong secret: refused with 401, which the snippet reports through console.error.
  const wrong = await capture(() => hmacSignedRequest(url, payload, 'not-the-secret'));
  const status = wrong.errors[0]?.[1]?.response?.status;
  if (status !== 401) fail(PEER, `${step}: wrong secret`, describe(wrong));
});

check('session: GET /session/start, /session/protected, login, logout (cookie jar)', async (step) => {
  const base = demo.baseUrl;
  const seen = await articleSession(base).catch((e) => fail(PEER, step, describe(e)));
  if (seen.established !== 'Session established.' || !/^Hello user /.test(seen.protected)) {
    fail(PEER, step, describe(seen));
  }
  // No cookie, no session.
  const anonymous = await axios.get(`${base}/session/protected`).then((r) => r, (e) => e.response);
  if (anonymous?.status !== 401) fail(PEER, `${step}: without the cookie`, describe(anonymous?.data));
  // The real login: JSON credentials, a CSRF token for the logout.
  const { http } = sessionClient(base);
  const { username, password } = demo.credentials.session;
  const login = await http
    .post('/session/login', { username, password })
    .catch((e) => fail(PEER, `${step}: POST /session/login`, describe(e)));
  const csrf = login.data.csrf_token;
  await http.get('/session/protected').catch((e) => fail(PEER, `${step}: after login`, describe(e)));
  const noCsrf = await http.post('/session/logout').then((r) => r, (e) => e.response);
  if (noCsrf?.status !== 403) {
    fail(PEER, `${step}: logout without the CSRF token`, `${noCsrf?.status} ${describe(noCsrf?.data)}`);
  }
  await http
    .post('/session/logout', null, { headers: { [login.data.csrf_header]: csrf } })
    .catch((e) => fail(PEER, `${step}: POST /session/logout`, describe(e)));
  const after = await http.get('/session/protected').then((r) => r, (e) => e.response);
  if (after?.status !== 401) fail(PEER, `${step}: after logout`, `${after?.status} ${describe(after?.data)}`);
});

check('oauth2: the client credentials snippet (query string) gets 400 invalid_request', async (step) => {
  const { oauth2ClientCredentials, oauth2ClientCredentialsInBody } = require('./oauth2.cjs');
  const asPublished = await capture(oauth2ClientCredentials);
  const error = asPublished.errors[0]?.[1];
  if (
    asPublished.logged.length > 0 ||
    error?.response?.status !== 400 ||
    error.response.data?.error !== 'invalid_request'
  ) {
    fail(PEER, `${step}: as published`, describe(asPublished));
  }
  const data = printed(`${step}: parameters in the body`, await capture(oauth2ClientCredentialsInBody));
  if (data.client_id !== demo.credentials.oauth2.client_id) {
    fail(PEER, `${step}: parameters in the body`, `200 ${describe(data)}`);
  }
});

let failed = 0;
for (const { name, fn } of checks) {
  const started = Date.now();
  try {
    await fn(name);
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL  ${name}\n      ${error.message}`);
  }
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
