//! Sessions for actix-web (work in progress).
