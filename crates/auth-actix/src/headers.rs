//! actix-web's header map as an [`auth_core::HeaderSource`].

use actix_web::http::header::HeaderMap;
use auth_core::HeaderSource;

/// Adapts actix-web's [`HeaderMap`] to [`HeaderSource`], without copying.
#[derive(Debug, Clone, Copy)]
pub struct ActixHeaders<'a>(pub &'a HeaderMap);

impl HeaderSource for ActixHeaders<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|value| value.as_bytes())
    }

    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.0.get_all(name).map(|value| value.as_bytes()).collect()
    }
}
