//! OAuth 2.0 (work in progress).

#![forbid(unsafe_code)]
