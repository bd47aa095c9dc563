//! The OAuth 2.0 token service (work in progress; lands with issue 9).
