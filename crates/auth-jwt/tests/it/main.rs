//! auth-jwt: RFC vectors, the attack catalogue, keys and rotation, JWKS, the authenticator.

mod attacks;
mod authenticator;
#[cfg(feature = "remote-jwks")]
mod jwks;
mod keys;
mod support;
mod vectors;
