//! HMAC signatures end to end (work in progress).
