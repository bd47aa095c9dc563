//! OAuth 2.0 resource server for actix-web (work in progress).
