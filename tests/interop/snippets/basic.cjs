// The article, "Basic authentication" — "Example (Node.js with Axios)", as published but for
// the URL (the demo's `GET /basic/protected`). On a loopback address the demo's user is the
// article's own `myUser` / `myPassword`.
const demo = require('../lib/demo.cjs');

const axios = require('axios');
async function basicAuthRequest() {
  const username = 'myUser';
  const password = 'myPassword';
  const token = Buffer.from(`${username}:${password}`).toString('base64');
  try {
    const response = await axios.get(`${demo.baseUrl}/basic/protected`, {
      headers: {
        Authorization: `Basic ${token}`,
      },
    });
    console.log(response.data);
  } catch (error) {
    console.error('Request failed:', error);
  }
}

module.exports = { basicAuthRequest };
