// The article, "Bearer tokens" — "Example (Node.js with Axios)", as published but for the
// URLs: the token endpoint is the demo's `POST /auth/token` (a first-party login answering
// `accessToken`), the API its `GET /bearer/protected`.
const demo = require('../lib/demo.cjs');

const axios = require('axios');
async function bearerTokenRequest() {
  try {
    // Typically obtained from a token endpoint
    const authResponse = await axios.post(`${demo.baseUrl}/auth/token`, {
      username: 'myUser',
      password: 'myPassword',
    });
    const token = authResponse.data.accessToken;
    const response = await axios.get(`${demo.baseUrl}/bearer/protected`, {
      headers: {
        Authorization: `Bearer ${token}`,
      },
    });
    console.log(response.data);
  } catch (error) {
    console.error('Request failed:', error);
  }
}

module.exports = { bearerTokenRequest };
