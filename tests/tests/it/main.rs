//! Cross-crate end-to-end tests: real actix-web servers on 127.0.0.1:0, driven over HTTP.

mod apikey;
mod basic;
mod browser;
mod demo;
mod foundation;
mod hmac;
mod jwt;
mod oauth2;
mod oauth2_server;
mod redis_stores;
mod session;
mod sql_stores;
mod tidy;
mod transport;
