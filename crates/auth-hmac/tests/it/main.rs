//! Integration tests of auth-hmac through its public API only.

mod attacks;
mod roundtrip;
mod support;
mod vectors;
