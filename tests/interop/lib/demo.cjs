// The running demo, as its credentials file describes it (README.md, "The credentials
// file"): `DEMO_CREDENTIALS=<file>`. Over `--tls`, Node trusts the demo's self-signed
// certificate through `NODE_EXTRA_CA_CERTS=<tls.ca_cert>` (set by `cargo xtask interop`).
'use strict';
const fs = require('node:fs');

const path = process.env.DEMO_CREDENTIALS;
if (!path) {
  throw new Error('DEMO_CREDENTIALS must name the demo credentials file');
}
const file = JSON.parse(fs.readFileSync(path, 'utf8'));

module.exports = {
  baseUrl: file.base_url,
  credentials: file.credentials,
  tls: file.tls,
};
