//! Logs on standard error, the summary line and the progress spinner around them.

use super::LogFormat;
use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;

/// The progress bar shown while it exists; log lines are written around it.
static PROGRESS: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Writes to standard error without tearing the progress bar.
struct StderrWriter;

impl std::io::Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let progress = PROGRESS.lock().ok().and_then(|guard| guard.clone());
        match progress {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf)),
            None => std::io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

pub(super) fn init_logging(format: LogFormat) {
    JSON_LOGS.store(
        format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| StderrWriter)
        // A log line that cannot be written (standard error closed) is dropped: the default
        // reports it with `eprintln!`, which panics on that same closed stream.
        .log_internal_errors(false)
        .with_target(false);
    // A second call in one process (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(colors(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
            ))
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}

/// Whether text logs are coloured: on a terminal, unless `NO_COLOR` is set and not empty
/// (<https://no-color.org>).
fn colors(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

/// True when logs are JSON: the summary is then a log event too.
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints the summary line on standard error, around the progress bar (as a JSON log event
/// with `--log-format json`).
pub(super) fn say(line: &str) {
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        tracing::info!(summary = true, "{line}");
    } else {
        let _ = StderrWriter.write_all(format!("{line}\n").as_bytes());
    }
}

/// A spinner with running counts, only when standard error is a terminal.
pub(super) struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub(super) fn start() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut slot) = PROGRESS.lock() {
            *slot = Some(bar.clone());
        }
        Self(Some(bar))
    }

    pub(super) fn update(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
            if let Ok(mut slot) = PROGRESS.lock() {
                *slot = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::colors;

    #[test]
    fn colors_only_on_a_terminal_without_a_non_empty_no_color() {
        assert!(colors(true, None));
        assert!(colors(true, Some("".into())), "an empty NO_COLOR is unset");
        assert!(!colors(true, Some("1".into())));
        assert!(!colors(false, None));
    }
}
