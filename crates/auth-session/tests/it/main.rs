//! Integration tests of auth-session: the store contract, the lifecycle, CSRF, key rotation
//! and the authenticator, through the public API only.

mod authenticator;
mod contract;
mod csrf;
mod lifecycle;
mod rotation;
mod support;
