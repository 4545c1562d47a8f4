//! Helpers shared by the integration tests: loading the vendored StreamAlert test vectors and
//! capturing log output.

pub mod vectors;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Every `*.json` of `vectors/<category>`, sorted by file name, checked against the vectors
/// README's common fields (`schema`, `id` == file stem, `category` == directory). Panics with
/// the file name on any problem, and when the directory holds no vector.
pub fn load_vectors(category: &str) -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(category);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let vector: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("utf-8 file name");
            let name = path.display();
            assert_eq!(vector["schema"], "streamalert-vectors/1", "{name}: schema");
            assert_eq!(vector["id"], stem, "{name}: id is the file name");
            assert_eq!(
                vector["category"], category,
                "{name}: category is the directory"
            );
            (path, vector)
        })
        .collect()
}

/// Runs `f` with a subscriber on this thread that writes every log event as text, at every
/// level; returns `f`'s result and the text.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    global_subscriber();
    let buffer = Buffer::default();
    let result = tracing::subscriber::with_default(buffer.subscriber(), f);
    (result, buffer.text())
}

/// [`capture_logs`] for a future, polled to completion on the current thread's subscriber.
pub async fn capture_logs_async<F: std::future::Future>(f: F) -> (F::Output, String) {
    global_subscriber();
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
fn global_subscriber() {
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
