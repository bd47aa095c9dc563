// The article, "HMAC signatures" — its Node snippet, as published. The harness calls it with
// the demo's `POST /hmac/webhook` URL and its `webhook_secret`; the demo accepts this
// untimestamped `X-Signature: <hex>` form there only through an explicitly named opt-in
// (`insecure_allow_untimestamped_replayable_signatures`): it can be replayed.
const axios = require('axios');
const crypto = require('crypto');
async function hmacSignedRequest(url, payload, secret) {
  const payloadString = JSON.stringify(payload);
  const signature = crypto
    .createHmac('sha256', secret)
    .update(payloadString)
    .digest('hex');
  try {
    const response = await axios.post(url, payload, {
      headers: {
        'X-Signature': signature,
      },
    });
    console.log(response.data);
  } catch (error) {
    console.error('Request failed:', error);
  }
}

module.exports = { hmacSignedRequest };
