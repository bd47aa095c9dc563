// The article, "API keys" — "Example (Node.js with Axios)", as published but for the URL
// (the demo's `GET /apikey/protected`) and the key (the one the demo minted at start).
const demo = require('../lib/demo.cjs');

const axios = require('axios');
async function apiKeyRequest() {
  const apiKey = demo.credentials.api_key.key;
  try {
    const response = await axios.get(`${demo.baseUrl}/apikey/protected`, {
      headers: {
        'X-API-Key': apiKey,
      },
    });
    console.log(response.data);
  } catch (error) {
    console.error('Request failed:', error);
  }
}

module.exports = { apiKeyRequest };
