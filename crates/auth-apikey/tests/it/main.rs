//! Integration tests of auth-apikey through its public API only.

mod authenticator;
mod format;
mod lifecycle;
mod support;
