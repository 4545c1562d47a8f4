//! The run summary's line per output, and `--metrics-file`.

use super::logging::say;
use crate::processor::{OutputMetrics, metrics::prometheus};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a run's metrics go besides the summary.
#[derive(Debug, Args)]
pub(super) struct MetricsArgs {
    /// Also write the run's metrics per output (deliveries sent, failed, given up, retried;
    /// attempt time) to FILE in Prometheus' text format, replaced at once (for a scraper, or a
    /// node exporter's textfile collector).
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
}

impl MetricsArgs {
    /// Says one summary line per output and writes the metrics file when asked; false (and
    /// logged) when the file cannot be written.
    pub(super) fn report(&self, outputs: &BTreeMap<String, OutputMetrics>) -> bool {
        for (output, m) in outputs {
            say(&format!(
                "output {output}: sent {}, failed {}, given up (dead) {}, retried {}, attempt time mean {} ms, max {} ms",
                m.sent,
                m.failed,
                m.dead,
                m.retried,
                m.mean_latency().as_millis(),
                m.latency_max.as_millis()
            ));
        }
        let Some(path) = &self.metrics_file else {
            return true;
        };
        match crate::atomic_write::write_atomically(path, prometheus(outputs).as_bytes(), 0o644) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!("cannot write the metrics file {}: {error}", path.display());
                false
            }
        }
    }
}
