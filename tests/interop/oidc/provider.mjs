// oidc-provider (a certified OpenID Provider) as the authorization server the Rust interop
// tests (tests/tests/it/interop.rs) drive our client side and resource server against.
//
// Usage: node oidc/provider.mjs <config.json>
//   {"port": 0, "clients": [<oidc-provider client metadata>...],
//    "resources": {"<resource indicator>": {"format": "jwt" | "opaque", "scope": "a b"}}}
// Listens on 127.0.0.1:<port> (0: a free one), then prints one JSON line on stdout:
//   {"issuer": "http://127.0.0.1:<port>"}
// and serves until stdin closes (the parent test ends) or SIGTERM.
//
// Plain HTTP on loopback: our crates accept `http://` endpoints on loopback hosts only, and
// oidc-provider serves any issuer; no certificate is needed for a test on 127.0.0.1.
//
// - Client credentials, introspection and revocation are on; the development interaction
//   pages (`devInteractions`: a login form taking any login and a consent form) are on.
// - Resource indicators (RFC 8707) are on: oidc-provider issues JWT access tokens
//   (`typ: at+jwt`, RFC 9068) only for a resource server whose `accessTokenFormat` is
//   `jwt`; the others get opaque tokens, which its introspection endpoint answers for
//   (it does not introspect JWT access tokens).
// - Signing keys (ES256 for access tokens, RS256 for ID tokens) are generated at start.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function jwk(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, kid, use: 'sig' };
}
const keys = [
  jwk('ec', { namedCurve: 'P-256' }, 'ES256', 'interop-es256'),
  jwk('rsa', { modulusLength: 2048 }, 'RS256', 'interop-rs256'),
];

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const resources = config.resources ?? {};
const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access'],
  claims: { openid: ['sub'] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The authorization code grant: the token is for the resource the user consented to.
      useGrantedResource: () => true,
      defaultResource: () => undefined,
      getResourceServerInfo(ctx, resourceIndicator) {
        const resource = resources[resourceIndicator];
        if (!resource) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: resource.scope,
          audience: resourceIndicator,
          accessTokenTTL: 600,
          accessTokenFormat: resource.format,
          ...(resource.format === 'jwt' ? { jwt: { sign: { alg: 'ES256' } } } : {}),
        };
      },
    },
  },
  pkce: { required: () => true },
  // The Rust test logs in through devInteractions as this account.
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id }; } };
  },
});
provider.on('server_error', (ctx, error) => {
  console.error('oidc-provider server_error', error);
});
server.on('request', provider.callback());

// The parent reads this line; later writes must not kill the server if it stopped reading.
process.stdout.on('error', () => {});
console.log(JSON.stringify({ issuer }));

const stop = () => server.close(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
