//! `BasicAuthenticator` against the framework-neutral request view: the defences, each
//! with a test that fails if the defence is removed.

mod authenticator;
