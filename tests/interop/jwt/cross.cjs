// node jsonwebtoken 9 (the article's JWT library) against auth-jwt, driven by the Rust
// interop test (tests/tests/it/interop.rs). One JSON document in on stdin, one out on stdout.
//
// `node jwt/cross.cjs sign`: in {"hs256_secret", "issuer", "audience"}. Generates an RS256
// and an ES256 key pair, signs with jsonwebtoken for each of HS256, RS256, ES256 a valid
// token, an expired one and one for another audience, and checks its own verdicts. Out:
// {"keys": {"RS256": <public JWK>, "ES256": <public JWK>}, "rsa_private_pem": <a PKCS#8
// RSA key for auth-jwt to sign with>, "tokens": [{"alg", "case", "token", "node_verdict"}]}.
//
// `node jwt/cross.cjs verify`: in {"hs256_secret", "issuer", "audience", "keys": {alg: <public
// JWK>}, "tokens": [{"alg", "case", "token"}]}. Verifies each token with jsonwebtoken.
// Out: {"verdicts": [{"alg", "case", "verdict"}]}; a verdict is "valid" or the error's name
// and message ("TokenExpiredError: jwt expired").
'use strict';
const crypto = require('node:crypto');
const jwt = require('jsonwebtoken');

function readStdin() {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { text += chunk; });
    process.stdin.on('end', () => resolve(JSON.parse(text)));
    process.stdin.on('error', reject);
  });
}

function verdict(token, key, input, alg) {
  try {
    jwt.verify(token, key, { algorithms: [alg], issuer: input.issuer, audience: input.audience });
    return 'valid';
  } catch (error) {
    return `${error.name}: ${error.message}`;
  }
}

function publicKey(input, alg) {
  if (alg === 'HS256') return input.hs256_secret;
  return crypto.createPublicKey({ key: input.keys[alg], format: 'jwk' });
}

function sign(input) {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const forRust = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = {
    RS256: { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'node-rs256', alg: 'RS256', use: 'sig' },
    ES256: { ...ec.publicKey.export({ format: 'jwk' }), kid: 'node-es256', alg: 'ES256', use: 'sig' },
  };
  const signing = {
    HS256: { key: input.hs256_secret, kid: undefined },
    RS256: { key: rsa.privateKey, kid: 'node-rs256' },
    ES256: { key: ec.privateKey, kid: 'node-es256' },
  };
  const now = Math.floor(Date.now() / 1000);
  const tokens = [];
  for (const alg of ['HS256', 'RS256', 'ES256']) {
    const { key, kid } = signing[alg];
    const options = { algorithm: alg, issuer: input.issuer, subject: 'node-user', ...(kid ? { keyid: kid } : {}) };
    const cases = {
      valid: jwt.sign({ scope: 'orders:read' }, key, { ...options, audience: input.audience, expiresIn: '10m' }),
      // Issued two hours ago for one hour: expired an hour ago, beyond any leeway.
      expired: jwt.sign({ scope: 'orders:read', iat: now - 7200, exp: now - 3600 }, key, { ...options, audience: input.audience }),
      wrong_audience: jwt.sign({ scope: 'orders:read' }, key, { ...options, audience: 'urn:another:api', expiresIn: '10m' }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const check = { ...input, keys };
      tokens.push({ alg, case: name, token, node_verdict: verdict(token, publicKey(check, alg), check, alg) });
    }
  }
  return {
    keys,
    rsa_private_pem: forRust.privateKey.export({ format: 'pem', type: 'pkcs8' }),
    tokens,
  };
}

function verify(input) {
  return {
    verdicts: input.tokens.map(({ alg, case: name, token }) => ({
      alg,
      case: name,
      verdict: verdict(token, publicKey(input, alg), input, alg),
    })),
  };
}

(async () => {
  const mode = process.argv[2];
  const input = await readStdin();
  const output = mode === 'sign' ? sign(input) : mode === 'verify' ? verify(input) : null;
  if (!output) throw new Error(`unknown mode ${mode}: sign or verify`);
  process.stdout.write(`${JSON.stringify(output)}\n`);
})().catch((error) => {
  console.error(`jsonwebtoken: ${error.stack}`);
  process.exitCode = 1;
});
