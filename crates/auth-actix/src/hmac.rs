//! HMAC request signatures for actix-web (work in progress).
