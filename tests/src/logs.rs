//! [`LogCapture`]: every `tracing` event of the test process, as JSON lines.
//!
//! One global subscriber serves the whole test binary (server workers run on their own
//! threads, so a thread-local subscriber would miss their events). Tests share it; each one
//! finds its own events by something unique to it, such as the request path. Every
//! [`TestApp`](crate::TestApp) installs it, so the whole end-to-end suite runs with audit and
//! debug logging captured, and the [leak watch](crate::leaks) searches it.

use std::io;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::Value;

/// The captured log of the test process.
#[derive(Debug, Clone)]
pub struct LogCapture {
    lines: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<String>>>);

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        lines.extend(text.lines().map(str::to_owned));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

static CAPTURE: OnceLock<LogCapture> = OnceLock::new();

impl LogCapture {
    /// Installs the global capture (once per process) and returns it. Captures every event at
    /// `TRACE` and above, from every target, as JSON lines.
    ///
    /// # Panics
    ///
    /// When another global subscriber was installed first.
    pub fn install() -> LogCapture {
        CAPTURE
            .get_or_init(|| {
                let lines = Arc::new(Mutex::new(Vec::new()));
                let writer = Writer(Arc::clone(&lines));
                tracing_subscriber::fmt()
                    .json()
                    .with_max_level(tracing::Level::TRACE)
                    .with_writer(move || writer.clone())
                    .try_init()
                    .expect("no other global tracing subscriber");
                LogCapture { lines }
            })
            .clone()
    }

    /// Every captured line.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many lines have been captured so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing has been captured yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lines captured from index `start` on (a [`leaks::Mark`](crate::leaks::Mark)
    /// remembers one).
    #[must_use]
    pub fn lines_from(&self, start: usize) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.get(start..).unwrap_or_default().to_vec()
    }

    /// The audit events (target `auth::audit`) whose `path` field is `path`, as their JSON
    /// `fields` objects.
    #[must_use]
    pub fn audit_events(&self, path: &str) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|event| event["target"] == auth_core::AUDIT_TARGET)
            .map(|event| event["fields"].clone())
            .filter(|fields| fields["path"] == path)
            .collect()
    }
}
