//! What each output's deliveries did in a run, and the forms operators read it in: the run
//! summary, the Prometheus text format (`--metrics-file`) and CloudWatch's embedded metric
//! format (the `lambda` command's log).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// What the deliveries to one output (`service:descriptor`) did in a run.
///
/// ```
/// use std::time::Duration;
/// use streamalert::processor::OutputMetrics;
///
/// let mut slack = OutputMetrics::default();
/// slack.attempted(Duration::from_millis(30), true, false);
/// slack.attempted(Duration::from_millis(10), false, true);
/// assert_eq!((slack.sent, slack.failed, slack.retried), (1, 1, 1));
/// assert_eq!(slack.latency_max, Duration::from_millis(30));
/// assert_eq!(slack.mean_latency(), Duration::from_millis(20));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputMetrics {
    /// Deliveries sent.
    pub sent: u64,
    /// Deliveries that failed (pending for `retry`, or given up).
    pub failed: u64,
    /// Of the failed ones, those given up (`dead`).
    pub dead: u64,
    /// Attempts at a delivery that had been attempted before (by `retry`, or an event again).
    pub retried: u64,
    /// The time the attempts took, all together.
    pub latency_total: Duration,
    /// The longest attempt.
    pub latency_max: Duration,
}

impl OutputMetrics {
    /// Counts one attempt that took `latency`: sent or failed, and whether the delivery had
    /// been attempted before.
    pub fn attempted(&mut self, latency: Duration, sent: bool, retried: bool) {
        if sent {
            self.sent += 1;
        } else {
            self.failed += 1;
        }
        self.retried += u64::from(retried);
        self.latency_total += latency;
        self.latency_max = self.latency_max.max(latency);
    }

    /// Adds the counts and times of `other` (the same output, in another run or event).
    ///
    /// ```
    /// use std::time::Duration;
    /// use streamalert::processor::OutputMetrics;
    ///
    /// let (mut a, mut b) = (OutputMetrics::default(), OutputMetrics::default());
    /// a.attempted(Duration::from_millis(10), true, false);
    /// b.attempted(Duration::from_millis(30), false, true);
    /// a.add(&b);
    /// assert_eq!((a.sent, a.failed, a.retried), (1, 1, 1));
    /// assert_eq!((a.latency_total, a.latency_max), (Duration::from_millis(40), Duration::from_millis(30)));
    /// ```
    pub fn add(&mut self, other: &Self) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.dead += other.dead;
        self.retried += other.retried;
        self.latency_total += other.latency_total;
        self.latency_max = self.latency_max.max(other.latency_max);
    }

    /// The mean time of an attempt (zero when there was none).
    pub fn mean_latency(&self) -> Duration {
        let attempts = u32::try_from(self.sent + self.failed).unwrap_or(u32::MAX);
        self.latency_total.checked_div(attempts).unwrap_or_default()
    }
}

/// The metrics of `outputs` in Prometheus' text exposition format, for a scraper or a node
/// exporter's textfile collector.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use streamalert::processor::{OutputMetrics, metrics::prometheus};
///
/// let mut file = OutputMetrics::default();
/// file.attempted(Duration::from_millis(2), true, false);
/// let text = prometheus(&BTreeMap::from([("file:alerts".to_owned(), file)]));
/// assert!(text.contains("streamalert_deliveries_total{output=\"file:alerts\",result=\"sent\"} 1\n"));
/// assert!(text.contains("streamalert_delivery_seconds_sum{output=\"file:alerts\"} 0.002\n"));
/// ```
pub fn prometheus(outputs: &BTreeMap<String, OutputMetrics>) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# HELP streamalert_deliveries_total Delivery attempts by output and result (sent, failed; dead: failed and given up; retried: attempted before).\n# TYPE streamalert_deliveries_total counter"
    );
    for (output, m) in outputs {
        let output = label(output);
        for (result, count) in [
            ("sent", m.sent),
            ("failed", m.failed),
            ("dead", m.dead),
            ("retried", m.retried),
        ] {
            let _ = writeln!(
                text,
                "streamalert_deliveries_total{{output=\"{output}\",result=\"{result}\"}} {count}"
            );
        }
    }
    let _ = writeln!(
        text,
        "# HELP streamalert_delivery_seconds Time of the delivery attempts by output.\n# TYPE streamalert_delivery_seconds summary"
    );
    for (output, m) in outputs {
        let output = label(output);
        let _ = writeln!(
            text,
            "streamalert_delivery_seconds_sum{{output=\"{output}\"}} {}\nstreamalert_delivery_seconds_count{{output=\"{output}\"}} {}",
            m.latency_total.as_secs_f64(),
            m.sent + m.failed
        );
    }
    let _ = writeln!(
        text,
        "# HELP streamalert_delivery_seconds_max The longest delivery attempt by output.\n# TYPE streamalert_delivery_seconds_max gauge"
    );
    for (output, m) in outputs {
        let _ = writeln!(
            text,
            "streamalert_delivery_seconds_max{{output=\"{}\"}} {}",
            label(output),
            m.latency_max.as_secs_f64()
        );
    }
    text
}

/// A Prometheus label value: `\`, `"` and line breaks escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics of `outputs` in CloudWatch's embedded metric format: one JSON object per output,
/// which CloudWatch Logs turns into the metrics `Sent`, `Failed`, `Dead`, `Retried` (counts)
/// and `Latency` (milliseconds) of the namespace `StreamAlert`, with the dimension `Output`.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use streamalert::processor::{OutputMetrics, metrics::embedded_metrics};
///
/// let mut slack = OutputMetrics::default();
/// slack.attempted(Duration::from_millis(40), true, false);
/// let lines = embedded_metrics(&BTreeMap::from([("slack:secops".to_owned(), slack)]), 1_700_000_000_000);
/// assert_eq!(lines[0]["Output"], "slack:secops");
/// assert_eq!(lines[0]["Sent"], 1);
/// assert_eq!(lines[0]["Latency"], 40.0);
/// assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "StreamAlert");
/// ```
pub fn embedded_metrics(
    outputs: &BTreeMap<String, OutputMetrics>,
    timestamp_ms: u64,
) -> Vec<serde_json::Value> {
    outputs
        .iter()
        .map(|(output, m)| {
            serde_json::json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": "StreamAlert",
                        "Dimensions": [["Output"]],
                        "Metrics": [
                            {"Name": "Sent", "Unit": "Count"},
                            {"Name": "Failed", "Unit": "Count"},
                            {"Name": "Dead", "Unit": "Count"},
                            {"Name": "Retried", "Unit": "Count"},
                            {"Name": "Latency", "Unit": "Milliseconds"},
                        ],
                    }],
                },
                "Output": output,
                "Sent": m.sent,
                "Failed": m.failed,
                "Dead": m.dead,
                "Retried": m.retried,
                "Latency": m.mean_latency().as_secs_f64() * 1000.0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_output_result_and_escapes_labels() {
        let mut a = OutputMetrics::default();
        a.attempted(Duration::from_millis(500), false, true);
        a.dead += 1;
        let text = prometheus(&BTreeMap::from([("x:\"q\"".to_owned(), a)]));
        for line in [
            r#"streamalert_deliveries_total{output="x:\"q\"",result="failed"} 1"#,
            r#"streamalert_deliveries_total{output="x:\"q\"",result="dead"} 1"#,
            r#"streamalert_deliveries_total{output="x:\"q\"",result="retried"} 1"#,
            r#"streamalert_deliveries_total{output="x:\"q\"",result="sent"} 0"#,
            r#"streamalert_delivery_seconds_count{output="x:\"q\""} 1"#,
            r#"streamalert_delivery_seconds_max{output="x:\"q\""} 0.5"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
    }

    #[test]
    fn mean_latency_of_no_attempt_is_zero() {
        assert_eq!(OutputMetrics::default().mean_latency(), Duration::ZERO);
    }
}
