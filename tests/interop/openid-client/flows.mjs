// openid-client 6 (a strict, certified OAuth 2.0 / OpenID Connect client built on
// oauth4webapi) against our token service, the demo's `/oauth2/*` (auth-oauth2's server
// side): discovery (RFC 8414), client credentials with client_secret_basic and
// client_secret_post, introspection (RFC 7662), revocation (RFC 7009), and the
// authorization code flow with PKCE (RFC 7636) through the demo's login and consent pages.
//
// `DEMO_CREDENTIALS=<file> NODE_EXTRA_CA_CERTS=<the demo's certificate> node
// openid-client/flows.mjs`: the demo runs with `--tls`, so openid-client needs no
// `allowInsecureRequests`. Exit 0 when every flow passes, else 1 with one line per failure
// naming the peer, the step and the response.
import { createRequire } from 'node:module';
import * as client from 'openid-client';

const require = createRequire(import.meta.url);
const demo = require('../lib/demo.cjs');
const { describe, fail } = require('../lib/check.cjs');

const PEER = 'openid-client';
const oauth = demo.credentials.oauth2;
const issuer = new URL(oauth.issuer);
const protectedUrl = new URL('/oauth2/protected', demo.baseUrl);

/** What an openid-client error carries: the OAuth error, the status, the body. */
function explain(error) {
  const parts = [error.name, error.code, error.message];
  if (error.error) parts.push(`error=${error.error}`, error.error_description);
  if (error.status) parts.push(`status=${error.status}`);
  const response = error.cause instanceof Response ? error.cause : error.response;
  if (response?.status) parts.push(`status=${response.status}`);
  if (error.cause && !(error.cause instanceof Response)) parts.push(describe(error.cause));
  return parts.filter(Boolean).join(' ');
}

async function step(name, fn) {
  try {
    return await fn();
  } catch (error) {
    if (error.name === 'InteropError') throw error;
    return fail(PEER, name, explain(error));
  }
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

async function discover(clientId, metadata, auth) {
  // `algorithm: 'oauth2'`: RFC 8414 metadata at /.well-known/oauth-authorization-server.
  // openid-client checks that its `issuer` is exactly the URL it was given.
  return client.discovery(issuer, clientId, metadata, auth, { algorithm: 'oauth2' });
}

async function clientCredentials(name, auth) {
  const config = await step(`${name}: discovery`, () => discover(oauth.client_id, undefined, auth));
  const tokens = await step(`${name}: client credentials grant`, () =>
    client.clientCredentialsGrant(config, { scope: 'orders:read' }),
  );
  if (tokens.token_type !== 'bearer' || !tokens.access_token || !(tokens.expires_in > 0)) {
    fail(PEER, `${name}: token response`, describe(tokens));
  }
  const response = await step(`${name}: GET /oauth2/protected`, () =>
    client.fetchProtectedResource(config, tokens.access_token, protectedUrl, 'GET'),
  );
  const body = await response.text();
  if (response.status !== 200) fail(PEER, `${name}: GET /oauth2/protected`, `${response.status} ${body}`);
  return tokens;
}

check('discovery: RFC 8414 metadata', async (name) => {
  const config = await step(name, () =>
    discover(oauth.client_id, oauth.client_secret, client.ClientSecretBasic(oauth.client_secret)),
  );
  const metadata = config.serverMetadata();
  for (const [field, path] of [
    ['token_endpoint', oauth.token_endpoint],
    ['introspection_endpoint', oauth.introspection_endpoint],
    ['revocation_endpoint', oauth.revocation_endpoint],
    ['authorization_endpoint', oauth.authorization_endpoint],
  ]) {
    if (metadata[field] !== new URL(path, issuer).href) {
      fail(PEER, `${name}: ${field}`, describe(metadata));
    }
  }
  if (!metadata.code_challenge_methods_supported?.includes('S256')) {
    fail(PEER, `${name}: code_challenge_methods_supported`, describe(metadata));
  }
});

check('client credentials: client_secret_basic', async (name) => {
  await clientCredentials(name, client.ClientSecretBasic(oauth.client_secret));
});

check('client credentials: client_secret_post', async (name) => {
  await clientCredentials(name, client.ClientSecretPost(oauth.client_secret));
});

check('client credentials: a wrong secret is invalid_client', async (name) => {
  const config = await step(`${name}: discovery`, () =>
    discover(oauth.client_id, undefined, client.ClientSecretBasic('not-the-secret')),
  );
  try {
    await client.clientCredentialsGrant(config, { scope: 'orders:read' });
  } catch (error) {
    // RFC 6749 §5.2: 401 with a WWW-Authenticate challenge for the scheme the client used.
    // openid-client reports the challenge first (WWWAuthenticateChallengeError); the body
    // is still the OAuth error.
    const body = error.response ? await error.response.json().catch(() => undefined) : undefined;
    const challenged = error.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE' &&
      error.cause?.some?.((c) => c.scheme === 'basic');
    if (error.status === 401 && (error.error === 'invalid_client' || (challenged && body?.error === 'invalid_client'))) {
      return;
    }
    fail(PEER, name, `${explain(error)} ${describe(body)}`);
  }
  fail(PEER, name, 'a token was issued');
});

check('introspection and revocation', async (name) => {
  const tokens = await clientCredentials(`${name}: a token to introspect`, client.ClientSecretBasic(oauth.client_secret));
  const api = oauth.introspection_client;
  const config = await step(`${name}: discovery (${api.client_id})`, () =>
    discover(api.client_id, undefined, client.ClientSecretBasic(api.client_secret)),
  );
  const active = await step(`${name}: introspect`, () => client.tokenIntrospection(config, tokens.access_token));
  if (active.active !== true || active.client_id !== oauth.client_id || !active.scope?.includes('orders:read')) {
    fail(PEER, `${name}: introspect`, describe(active));
  }
  const unknown = await step(`${name}: introspect a made-up token`, () =>
    client.tokenIntrospection(config, 'not-a-token'),
  );
  if (unknown.active !== false) fail(PEER, `${name}: introspect a made-up token`, describe(unknown));
  // The token's own client revokes it; introspection then says inactive.
  const owner = await step(`${name}: discovery (${oauth.client_id})`, () =>
    discover(oauth.client_id, undefined, client.ClientSecretBasic(oauth.client_secret)),
  );
  await step(`${name}: revoke`, () => client.tokenRevocation(owner, tokens.access_token));
  const revoked = await step(`${name}: introspect after revocation`, () =>
    client.tokenIntrospection(config, tokens.access_token),
  );
  if (revoked.active !== false) fail(PEER, `${name}: introspect after revocation`, describe(revoked));
});

/** A browser stand-in: fetch without following redirects, with a cookie jar. */
function browser() {
  const cookies = new Map();
  return async function go(url, init = {}) {
    const headers = new Headers(init.headers);
    if (cookies.size > 0) {
      headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return response;
  };
}

function hidden(html, field) {
  const match = html.match(new RegExp(`name="${field}" value="([^"]*)"`));
  if (!match) return undefined;
  return match[1]
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

check('authorization code + PKCE (public client, login and consent pages)', async (name) => {
  const config = await step(`${name}: discovery`, () => discover(oauth.app_client_id, undefined, client.None()));
  const redirectUri = oauth.app_redirect_uri;
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'orders:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const go = browser();
  const expect = async (what, response, status) => {
    const redirect = status === 'redirect' && response.status >= 301 && response.status <= 303;
    if (!redirect && response.status !== status) {
      fail('token service (demo)', `${name}: ${what}`, `${response.status} ${await response.text()}`);
    }
    return response;
  };
  // Not logged in: the authorization endpoint sends us to the login page.
  let response = await expect('GET authorization URL', await go(url), 'redirect');
  const loginUrl = new URL(response.headers.get('location'), demo.baseUrl);
  response = await expect('GET login page', await go(loginUrl), 200);
  let html = await response.text();
  const { username, password } = demo.credentials.basic;
  response = await go(new URL('/oauth2/login', demo.baseUrl), {
    method: 'POST',
    body: new URLSearchParams({
      csrf_token: hidden(html, 'csrf_token'),
      return_to: hidden(html, 'return_to'),
      username,
      password,
    }),
  });
  await expect('POST login form', response, 'redirect');
  response = await expect(
    'GET authorization URL, logged in (consent page)',
    await go(new URL(response.headers.get('location'), demo.baseUrl)),
    200,
  );
  html = await response.text();
  const action = hidden(html.replace('method="post" action=', 'name="action" value='), 'action');
  response = await go(new URL(action, demo.baseUrl), {
    method: 'POST',
    body: new URLSearchParams({
      csrf_token: hidden(html, 'csrf_token'),
      request: hidden(html, 'request'),
      decision: 'approve',
    }),
  });
  if (response.status < 300 || response.status > 303) {
    fail('token service (demo)', `${name}: POST consent`, `${response.status} ${await response.text()}`);
  }
  const callback = new URL(response.headers.get('location'));
  if (`${callback.origin}${callback.pathname}` !== redirectUri.replace(/\/$/, '')) {
    // Loopback redirect URIs may differ in port only (RFC 8252 §7.3); this one is exact.
    if (!callback.href.startsWith(redirectUri)) fail(PEER, `${name}: callback`, callback.href);
  }
  const tokens = await step(`${name}: authorization code grant (callback ${callback.search})`, () =>
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    }),
  );
  response = await step(`${name}: GET /oauth2/protected`, () =>
    client.fetchProtectedResource(config, tokens.access_token, protectedUrl, 'GET'),
  );
  const body = await response.text();
  if (response.status !== 200 || !body.includes(username)) {
    fail(PEER, `${name}: GET /oauth2/protected`, `${response.status} ${body}`);
  }
  // The code is single use (RFC 6749 §4.1.2): a second redemption is invalid_grant.
  try {
    await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    fail(PEER, `${name}: second redemption`, 'a second token was issued for one code');
  } catch (error) {
    if (error.name === 'InteropError') throw error;
    if (error.error !== 'invalid_grant') fail(PEER, `${name}: second redemption`, explain(error));
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
