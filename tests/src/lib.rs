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

/// Makes sure, once per test binary, that a global subscriber (discarding what it receives) is
/// installed: without one, a log call site or span first reached on a thread that captures
/// nothing (another test's) is cached as "never enabled", and a capture misses its lines, or
/// the span fields (`output=…`) of the lines it gets.
pub fn install_global_subscriber() {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let discard = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(std::io::sink)
            .finish();
        // Only this function installs one; should another exist, it keeps call sites enabled too.
        let _ = tracing::subscriber::set_global_default(discard);
        tracing::callsite::rebuild_interest_cache();
    });
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
