//! Helpers shared by the integration tests: the harness of the vendored StreamAlert test vectors
//! ([`vectors`]) and capturing log output.

pub mod vectors;

use std::sync::{Arc, Mutex};

/// Runs `f` with a subscriber on this thread that writes every log event as text, at every
/// level; returns `f`'s result and the text.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    install_global_subscriber();
    let buffer = Buffer::default();
    let result = tracing::subscriber::with_default(buffer.subscriber(), f);
    (result, buffer.text())
}

/// [`capture_logs`] for a future, polled to completion on the current thread's subscriber.
pub async fn capture_logs_async<F: std::future::Future>(f: F) -> (F::Output, String) {
    install_global_subscriber();
    let buffer = Buffer::default();
    let guard = tracing::subscriber::set_default(buffer.subscriber());
    let result = f.await;
    drop(guard);
    (result, buffer.text())
}

/// Makes sure, once per test binary, that a global subscriber is installed: without one, a
/// log call site or span first reached on a thread that captures nothing (another test's) is
/// cached as "never enabled", and a capture misses its lines, or the span fields (`output=…`)
/// of the lines it gets. It discards what it receives until [`record_global_logs`] is called.
pub fn install_global_subscriber() {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let global = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| GlobalLogs)
            .finish();
        // Only this function installs one; should another exist, it keeps call sites enabled too.
        let _ = tracing::subscriber::set_global_default(global);
        tracing::callsite::rebuild_interest_cache();
    });
}

/// Whether the global subscriber records what it receives, and what it recorded.
static GLOBAL_LOGS: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// From now on, the global subscriber records every event at every level from every thread
/// without a subscriber of its own ([`global_log_text`] reads them).
pub fn record_global_logs() {
    install_global_subscriber();
    GLOBAL_LOGS
        .lock()
        .expect("global logs")
        .get_or_insert_with(Vec::new);
}

/// What the global subscriber recorded since [`record_global_logs`] was first called.
pub fn global_log_text() -> String {
    let logs = GLOBAL_LOGS.lock().expect("global logs");
    String::from_utf8_lossy(logs.as_deref().unwrap_or_default()).into_owned()
}

/// The global subscriber's writer: into [`GLOBAL_LOGS`] once it records.
struct GlobalLogs;

impl std::io::Write for GlobalLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Some(logs) = GLOBAL_LOGS.lock().expect("global logs").as_mut() {
            logs.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
