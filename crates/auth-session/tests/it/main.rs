//! Integration tests of auth-session: the lifecycle, CSRF, key rotation and the
//! authenticator, through the public API only. The `SessionStore` contract suite lives in
//! `tests/src/redis_support.rs` (the `tests` package), where it runs against `MemoryStore`
//! and `RedisSessionStore` alike.

mod authenticator;
mod csrf;
mod lifecycle;
mod rotation;
mod support;
