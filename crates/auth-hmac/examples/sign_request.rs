//! Placeholder until its author writes it.
#![allow(missing_docs)]
fn main() {}
