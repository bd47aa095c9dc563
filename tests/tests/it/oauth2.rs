//! OAuth 2.0 end to end (work in progress).
