//! auth-oauth2 against endpoints on 127.0.0.1 started inside the tests: a token endpoint,
//! an introspection endpoint, RFC 8414 metadata and a JWKS.

mod authorization;
#[cfg(feature = "server")]
mod authorize;
mod introspection;
#[cfg(feature = "jwt")]
mod resource_jwt;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
mod service_e2e;
// Some helpers serve only the JWT tests.
#[cfg_attr(not(feature = "jwt"), allow(dead_code))]
mod support;
mod token_source;
