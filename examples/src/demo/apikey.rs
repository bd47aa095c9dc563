//! The apikey part of the demo (work in progress).

use super::{DemoError, SchemePart};

pub(crate) async fn setup() -> Result<SchemePart, DemoError> {
    Err(DemoError::Scheme {
        scheme: "apikey",
        message: "not wired yet".to_owned(),
    })
}
