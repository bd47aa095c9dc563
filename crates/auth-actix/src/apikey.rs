//! The apikey scheme for actix-web (work in progress).
