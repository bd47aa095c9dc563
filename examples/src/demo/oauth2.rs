//! The OAuth 2.0 part of the demo (work in progress).
