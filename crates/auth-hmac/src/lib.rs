//! HMAC request signatures (work in progress).

#![forbid(unsafe_code)]
