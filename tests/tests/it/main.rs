//! Cross-crate end-to-end tests: real actix-web servers on 127.0.0.1:0, driven over HTTP.

mod apikey;
mod attacks;
mod basic;
mod browser;
mod demo;
mod foundation;
mod hmac;
mod interop;
mod jwt;
mod leaks;
mod oauth2;
mod oauth2_server;
mod oauth_sql_stores;
mod properties;
mod redis_stores;
mod scale_out;
mod security_catalogue;
mod session;
mod sql_stores;
mod tidy;
mod transport;
