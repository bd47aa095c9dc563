//! Example servers and clients for the `auth-*` crates.
//!
//! - [`demo`]: every scheme on one actix-web server, run by `cargo xtask demo`.
//!
//! The `demo` binary is a thin wrapper around [`demo::start`], which the end-to-end tests
//! also use, so what the tests check is what a user runs.

#![forbid(unsafe_code)]

pub mod demo;
