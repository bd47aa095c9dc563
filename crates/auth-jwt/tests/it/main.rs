//! auth-jwt: RFC vectors, the attack catalogue, keys and rotation, JWKS, the authenticator.

mod attacks;
mod authenticator;
mod keys;
mod support;
mod vectors;
