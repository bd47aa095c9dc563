//! The HMAC part of the demo (work in progress).
