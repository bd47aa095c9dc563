// The article, "JSON Web Tokens (JWT)" — "Example (Node.js)", as published but for the
// secret: the demo's generated `hs256_secret` (the article's 'MY_SUPER_SECRET_KEY' is 19
// bytes, below the 256 bits RFC 7518 §3.2 requires for HS256). The harness also sends the
// token to the demo's `GET /jwt/article`, which verifies it with auth-jwt.
const demo = require('../lib/demo.cjs');

const jwt = require('jsonwebtoken');
function generateJwt() {
  const secretKey = demo.credentials.jwt.hs256_secret;
  const payload = { userId: 123, role: 'admin' };
  // Tokens typically expire, e.g., in one hour
  return jwt.sign(payload, secretKey, { expiresIn: '1h' });
}
function verifyJwt(token) {
  const secretKey = demo.credentials.jwt.hs256_secret;
  try {
    const decoded = jwt.verify(token, secretKey);
    console.log('Decoded payload:', decoded);
  } catch (error) {
    console.error('JWT validation failed:', error.message);
  }
}

module.exports = { generateJwt, verifyJwt };
