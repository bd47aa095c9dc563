// The article, "OAuth 2.0" — "Example (Node.js with Axios, client credentials flow)", as
// published but for the URLs (the demo's `POST /oauth2/token` and `GET /oauth2/protected`)
// and the client (the demo's `demo-client` and its generated secret).
//
// As published it sends the client secret in the query string, which RFC 6749 §2.3.1 forbids
// ("MUST NOT be included in the request URI"): the demo answers the teaching 400
// `invalid_request`. `oauth2ClientCredentialsInBody` is the same request with the parameters
// in the form body (RFC 6749 §4.4.2), which gets a token.
const demo = require('../lib/demo.cjs');

const axios = require('axios');
async function oauth2ClientCredentials() {
  const clientId = demo.credentials.oauth2.client_id;
  const clientSecret = demo.credentials.oauth2.client_secret;
  try {
    // Retrieve token via Client Credentials flow
    const tokenResponse = await axios.post(`${demo.baseUrl}/oauth2/token`, null, {
      params: {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      },
    });
    const token = tokenResponse.data.access_token;
    // Send the token to the API
    const response = await axios.get(`${demo.baseUrl}/oauth2/protected`, {
      headers: {
        Authorization: `Bearer ${token}`,
      },
    });
    console.log(response.data);
  } catch (error) {
    console.error('Request failed:', error);
  }
}

// The one change: the parameters go in the body (`application/x-www-form-urlencoded`).
async function oauth2ClientCredentialsInBody() {
  const clientId = demo.credentials.oauth2.client_id;
  const clientSecret = demo.credentials.oauth2.client_secret;
  try {
    // Retrieve token via Client Credentials flow
    const tokenResponse = await axios.post(`${demo.baseUrl}/oauth2/token`, new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }));
    const token = tokenResponse.data.access_token;
    // Send the token to the API
    const response = await axios.get(`${demo.baseUrl}/oauth2/protected`, {
      headers: {
        Authorization: `Bearer ${token}`,
      },
    });
    console.log(response.data);
  } catch (error) {
    console.error('Request failed:', error);
  }
}

module.exports = { oauth2ClientCredentials, oauth2ClientCredentialsInBody };
