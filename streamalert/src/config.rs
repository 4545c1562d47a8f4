//! `conf/outputs.json`: which descriptors of which services exist, in StreamAlert's format.
//!
//! A service maps either to a list of descriptors (`{"slack": ["secops"]}`) or, for services
//! with a per-descriptor setting such as an S3 bucket or a file path, to an object
//! (`{"file": {"alerts": "out/alerts.jsonl"}}`).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The parsed `outputs.json`.
///
/// ```
/// use streamalert::config::OutputsConfig;
/// let config = OutputsConfig::from_json(r#"{"stdout": ["console"], "file": {"alerts": "out/a.jsonl"}}"#).unwrap();
/// assert_eq!(config.setting("file", "alerts").unwrap(), Some("out/a.jsonl"));
/// assert_eq!(config.setting("stdout", "console").unwrap(), None);
/// assert!(config.setting("slack", "secops").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputsConfig {
    services: BTreeMap<String, Descriptors>,
}

/// The configured descriptors of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descriptors {
    /// `["a", "b"]`: descriptors without settings.
    List(Vec<String>),
    /// `{"a": "setting"}`: each descriptor with its setting.
    Settings(BTreeMap<String, String>),
}

/// `outputs.json` could not be read or does not have the expected shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON, or not of the expected shape.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file (`<inline>` for text).
        path: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column of the problem (0 when unknown).
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A rule or alert names an output that `outputs.json` does not configure.
    #[error("the output `{0}` does not exist in outputs.json")]
    UnknownOutput(String),
    /// `processor.json`'s `rate_limits` names a destination that `outputs.json` does not
    /// configure.
    #[error("processor.json: `rate_limits` names `{0}`, which does not exist in outputs.json")]
    UnknownRateLimit(String),
}

impl OutputsConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&read(path)?, path)
    }

    /// Parses the text of an `outputs.json`.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, Path::new("<inline>"))
    }

    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |line, column, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            column,
            message,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid(e.line(), e.column(), e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(invalid(
                1,
                1,
                "expected an object mapping each service to its descriptors".into(),
            ));
        };
        let mut services = BTreeMap::new();
        for (service, descriptors) in map {
            let parsed = match descriptors {
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s),
                        other => Err(format!("service `{service}`: expected descriptor strings, found {other}")),
                    })
                    .collect::<Result<_, _>>()
                    .map(Descriptors::List),
                Value::Object(settings) => settings
                    .into_iter()
                    .map(|(descriptor, setting)| match setting {
                        Value::String(s) => Ok((descriptor, s)),
                        other => Err(format!("service `{service}`, descriptor `{descriptor}`: expected a string, found {other}")),
                    })
                    .collect::<Result<_, _>>()
                    .map(Descriptors::Settings),
                other => Err(format!(
                    "service `{service}`: expected a list of descriptors or an object of descriptor settings, found {other}"
                )),
            };
            let descriptors =
                parsed.map_err(|message| invalid(locate(text, &service), 0, message))?;
            services.insert(service, descriptors);
        }
        Ok(Self { services })
    }

    /// The setting of `service:descriptor` (`None` for list-style services), or an error when
    /// the output is not configured.
    pub fn setting(&self, service: &str, descriptor: &str) -> Result<Option<&str>, ConfigError> {
        let unknown = || ConfigError::UnknownOutput(format!("{service}:{descriptor}"));
        match self.services.get(service).ok_or_else(unknown)? {
            Descriptors::List(list) => list
                .iter()
                .any(|d| d == descriptor)
                .then_some(None)
                .ok_or_else(unknown),
            Descriptors::Settings(map) => map
                .get(descriptor)
                .map(|s| Some(s.as_str()))
                .ok_or_else(unknown),
        }
    }

    /// Every configured `service:descriptor`, sorted.
    pub fn outputs(&self) -> Vec<String> {
        self.services
            .iter()
            .flat_map(|(service, descriptors)| {
                let names: Vec<&String> = match descriptors {
                    Descriptors::List(list) => list.iter().collect(),
                    Descriptors::Settings(map) => map.keys().collect(),
                };
                names.into_iter().map(move |d| format!("{service}:{d}"))
            })
            .collect()
    }
}

/// The 1-based line where `"service"` first appears, for error messages.
/// The text of a configuration file; a read error names the file.
fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn locate(text: &str, service: &str) -> usize {
    let needle = format!("\"{service}\"");
    text.lines()
        .position(|line| line.contains(&needle))
        .map_or(0, |i| i + 1)
}

impl OutputsConfig {
    /// Adds (or replaces) one configured output; `setting` is its value for map-style services.
    ///
    /// The processor uses it to merge in StreamAlert's required output
    /// (`aws-firehose:alerts`), exactly as StreamAlert overwrites an existing `alerts` entry.
    ///
    /// ```
    /// use streamalert::config::OutputsConfig;
    /// let mut config = OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap();
    /// config.insert("aws-firehose", "alerts", Some("prefix_streamalert_alert_delivery".into()));
    /// config.insert("stdout", "other", None);
    /// assert_eq!(config.setting("aws-firehose", "alerts").unwrap(), Some("prefix_streamalert_alert_delivery"));
    /// assert_eq!(config.outputs(), ["aws-firehose:alerts", "stdout:console", "stdout:other"]);
    /// ```
    pub fn insert(&mut self, service: &str, descriptor: &str, setting: Option<String>) {
        let descriptors = self
            .services
            .remove(service)
            .unwrap_or_else(|| Descriptors::List(Vec::new()));
        let updated = match (descriptors, setting) {
            (Descriptors::List(mut list), None) => {
                if !list.iter().any(|d| d == descriptor) {
                    list.push(descriptor.to_owned());
                }
                Descriptors::List(list)
            }
            (Descriptors::Settings(mut map), setting) => {
                map.insert(descriptor.to_owned(), setting.unwrap_or_default());
                Descriptors::Settings(map)
            }
            // A list-style service that now needs a setting becomes map-style; its other
            // descriptors keep an empty setting.
            (Descriptors::List(list), Some(setting)) => {
                let mut map: BTreeMap<String, String> =
                    list.into_iter().map(|d| (d, String::new())).collect();
                map.insert(descriptor.to_owned(), setting);
                Descriptors::Settings(map)
            }
        };
        self.services.insert(service.to_owned(), updated);
    }

    /// True when `service:descriptor` is configured.
    ///
    /// ```
    /// use streamalert::config::OutputsConfig;
    /// let config = OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap();
    /// assert!(config.contains("stdout:console"));
    /// assert!(!config.contains("stdout:other") && !config.contains("malformed"));
    /// ```
    pub fn contains(&self, output: &str) -> bool {
        crate::output_ref::OutputRef::parse(output)
            .is_ok_and(|output| self.setting(output.service, output.descriptor).is_ok())
    }
}

/// The environment variable naming the configuration directory: the default of `--config`,
/// and where the Lambda function finds its configuration.
pub const CONFIG_DIR_ENV: &str = "STREAMALERT_CONFIG";

/// The configuration directory when neither `--config` nor [`CONFIG_DIR_ENV`] names one.
pub const DEFAULT_CONFIG_DIR: &str = "conf";

/// The name of the processor settings file in the configuration directory.
pub const PROCESSOR_SETTINGS_FILE: &str = "processor.json";

/// The lowest `per_second`: one send a day.
pub const MIN_PER_SECOND: f64 = 1.0 / 86_400.0;

/// How fast one destination may be sent to: `burst` sends at once, then `per_second` a second
/// (a token bucket of `burst` tokens refilled at `per_second`).
///
/// ```
/// use streamalert::config::RateLimit;
/// let limit = RateLimit::new(2.0, 5).unwrap();
/// assert_eq!((limit.per_second(), limit.burst()), (2.0, 5));
/// assert_eq!(limit.interval(), std::time::Duration::from_millis(500));
/// assert!(RateLimit::new(0.0, 5).is_err());
/// assert!(RateLimit::new(f64::INFINITY, 5).is_err());
/// assert!(RateLimit::new(1.0, 0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

/// `per_second` is never NaN: [`RateLimit::new`] refuses it.
impl Eq for RateLimit {}

/// Why a [`RateLimit`] cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// `per_second` is not a finite number of at least [`MIN_PER_SECOND`].
    #[error("`per_second` is {0}; it must be a finite number of at least 1/86400 (one send a day)")]
    PerSecond(f64),
    /// `burst` is 0.
    #[error("`burst` is 0; it must be at least 1")]
    Burst,
}

impl RateLimit {
    /// `burst` sends at once, then `per_second` a second; `per_second` must be finite and at
    /// least [`MIN_PER_SECOND`], `burst` at least 1.
    pub fn new(per_second: f64, burst: u32) -> Result<Self, RateLimitError> {
        if !(per_second.is_finite() && per_second >= MIN_PER_SECOND) {
            return Err(RateLimitError::PerSecond(per_second));
        }
        if burst == 0 {
            return Err(RateLimitError::Burst);
        }
        Ok(Self { per_second, burst })
    }

    /// Sends a second, once the burst is spent.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Sends at once from a full bucket.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The time between two tokens.
    pub fn interval(&self) -> std::time::Duration {
        // `new` bounds `per_second`, so the interval is at most a day.
        std::time::Duration::try_from_secs_f64(1.0 / self.per_second)
            .unwrap_or(std::time::Duration::from_secs(86_400))
    }

    /// The default limit of a built-in service, from its vendor's documented limits; `None`
    /// (unlimited) for the others.
    ///
    /// * `slack`: 1 a second, bursts of 3. Slack allows "no more than one message per second"
    ///   per incoming webhook, "bursts over that limit for short periods"
    ///   (<https://api.slack.com/docs/rate-limits>).
    /// * `pagerduty`, `pagerduty-v2`: 1.8 a second, bursts of 12, so never more than 120 in
    ///   any minute (12 + 1.8 × 60): the Events API allows "approximately 120 calls/minute per
    ///   integration key", counted over the last 60 s
    ///   (<https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/05-Rate-Limits.md>).
    /// * `pagerduty-incident`: 14 a second, bursts of 60, so never more than 900 requests in any
    ///   minute (60 + 14 × 60): the REST API allows 960 requests a minute per API key or user
    ///   (<https://github.com/PagerDuty/developer-docs/blob/main/docs/REST-API/04-Rate-Limits.md>).
    /// * `github`: one every 8 seconds, no burst: GitHub's secondary limits allow "no more
    ///   than 80 content-generating requests per minute and no more than 500 per hour", and ask
    ///   for "at least one second between each" mutating request
    ///   (<https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>);
    ///   one every 8 s is 450 an hour.
    /// * `slack-bot`: as `slack`, per channel: `chat.postMessage` allows "1 message per
    ///   second per channel", with short bursts
    ///   (<https://api.slack.com/methods/chat.postMessage#rate_limiting>).
    /// * `google-chat`: 0.95 a second, bursts of 3, so never more than 60 in any minute: a
    ///   space takes 60 message writes a minute, incoming webhooks included
    ///   (<https://developers.google.com/workspace/chat/limits>).
    /// * `discord`: 0.4 a second, bursts of 5, so never more than 5 in 2 s nor 29 in a minute:
    ///   Discord answers a webhook's faster sends with 429 (5 requests per 2 s per webhook,
    ///   30 messages a minute per channel, as observed; its documentation gives no fixed figure,
    ///   <https://discord.com/developers/docs/topics/rate-limits>).
    ///
    /// ```
    /// use streamalert::config::RateLimit;
    /// let slack = RateLimit::default_for("slack").unwrap();
    /// assert_eq!((slack.per_second(), slack.burst()), (1.0, 3));
    /// assert!(RateLimit::default_for("file").is_none());
    /// ```
    pub fn default_for(service: &str) -> Option<Self> {
        let (per_second, burst) = match service {
            "slack" | "slack-bot" => (1.0, 3),
            "pagerduty" | "pagerduty-v2" => (1.8, 12),
            "pagerduty-incident" => (14.0, 60),
            "github" => (0.125, 1),
            "google-chat" => (0.95, 3),
            "discord" => (0.4, 5),
            _ => return None,
        };
        Self::new(per_second, burst).ok()
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s, burst {}", self.per_second, self.burst)
    }
}

/// The processor settings: `conf/processor.json`. Every key is optional; a missing file means
/// every default.
///
/// ```json
/// {
///   "concurrency": 32,
///   "dispatch_timeout_secs": 60,
///   "shutdown_grace_secs": 10,
///   "max_record_bytes": 1048576,
///   "ledger": {"path": "streamalert-ledger.sqlite3", "synchronous": "normal", "lock_timeout_secs": 30, "retention_days": 7},
///   "max_attempts": 10,
///   "max_attempts_by_service": {"slack": 3},
///   "rate_limits": {"slack:secops": {"per_second": 1, "burst": 5}, "github": {"per_second": 0.1, "burst": 1}}
/// }
/// ```
///
/// `rate_limits` paces deliveries per destination ([`crate::output::pacing`]): a
/// `service:descriptor` key sets that destination's limit, a `service` key the limit of each of
/// its destinations without one; the others keep their service's default
/// ([`RateLimit::default_for`]) or are unlimited. `per_second` must be a finite number of at
/// least 1/86400, `burst` an integer of at least 1; a key must be `service` or
/// `service:descriptor` and, checked with `outputs.json` by
/// [`ProcessorSettings::check_outputs`], configured there.
///
/// A delivery that fails `max_attempts` times (the service's entry in
/// `max_attempts_by_service` when there is one) is given up: it becomes `dead` with its last
/// error, and `retry` no longer sends it (`ledger replay` makes it pending again). A permanent
/// error makes it dead at its first attempt: the service refused it (HTTP 4xx other than 408
/// and 429), the output is not configured, its credentials are missing.
///
/// Relative paths are relative to the working directory, like the `file` output's paths in
/// `outputs.json`.
///
/// ```
/// use streamalert::config::ProcessorSettings;
/// let settings = ProcessorSettings::from_json(r#"{"concurrency": 4}"#).unwrap();
/// assert_eq!(settings.concurrency, 4);
/// assert_eq!(settings.dispatch_timeout_secs, 60);
///
/// let err = ProcessorSettings::from_json("{\n  \"concurency\": 4\n}").unwrap_err();
/// assert!(err.to_string().starts_with("<inline>:2:"), "{err}");
/// assert!(err.to_string().contains("unknown field `concurency`"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessorSettings {
    /// How many alerts are delivered at once (each alert's outputs go out concurrently).
    pub concurrency: usize,
    /// The longest one delivery (one output of one alert) may take before it counts as failed.
    pub dispatch_timeout_secs: u64,
    /// On SIGINT or SIGTERM, how long `process` waits for the deliveries under way before it
    /// exits; those still unfinished then stay pending in the ledger for `retry`.
    pub shutdown_grace_secs: u64,
    /// The longest input line `process` accepts, in bytes without the line break (default 1 MiB,
    /// a Kinesis record's limit); a longer line is reported with its line number and skipped,
    /// and is never held in memory whole.
    pub max_record_bytes: usize,
    /// Where and how delivery state is recorded.
    pub ledger: LedgerSettings,
    /// Where output secrets are stored (the `credentials` section; default: the `local` store).
    pub credentials: StoreSettings,
    /// How many failed attempts a delivery gets before it is given up (`dead`).
    pub max_attempts: u32,
    /// Per output service (e.g. `slack`), a `max_attempts` of its own.
    pub max_attempts_by_service: BTreeMap<String, u32>,
    /// Per destination (`service:descriptor`) or per service (`service`), how fast it is sent
    /// to.
    #[serde(deserialize_with = "rate_limits")]
    pub rate_limits: BTreeMap<String, RateLimit>,
}

/// Reads `rate_limits`, refusing a limit that [`RateLimit::new`] refuses with its key named.
fn rate_limits<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, RateLimit>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Written {
        per_second: f64,
        burst: u32,
    }
    <BTreeMap<String, Written> as serde::Deserialize>::deserialize(deserializer)?
        .into_iter()
        .map(
            |(key, written)| match RateLimit::new(written.per_second, written.burst) {
                Ok(limit) => Ok((key, limit)),
                Err(error) => Err(serde::de::Error::custom(format!(
                    "`rate_limits.{key}`: {error}"
                ))),
            },
        )
        .collect()
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self {
            concurrency: 32,
            dispatch_timeout_secs: 60,
            shutdown_grace_secs: 10,
            max_record_bytes: 1 << 20,
            ledger: LedgerSettings::default(),
            credentials: StoreSettings::default(),
            max_attempts: 10,
            max_attempts_by_service: BTreeMap::new(),
            rate_limits: BTreeMap::new(),
        }
    }
}

/// The `ledger` section of the processor settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerSettings {
    /// The SQLite file (created on first use).
    pub path: PathBuf,
    /// How hard SQLite pushes each commit to disk.
    pub synchronous: Synchronous,
    /// How long a command waits for another processor that holds the ledger.
    pub lock_timeout_secs: u64,
    /// How many days a complete alert's tombstone (its key, rule and sent outputs, without
    /// the record) is kept, so that an event delivered again is recognised and not sent again.
    pub retention_days: u64,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            path: PathBuf::from("streamalert-ledger.sqlite3"),
            synchronous: Synchronous::Normal,
            lock_timeout_secs: 30,
            retention_days: 7,
        }
    }
}

/// SQLite's `synchronous` setting for the ledger (WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// A commit survives the process being killed; a power loss may undo the last commits
    /// (see the README's "Delivery guarantees"). Recorded alerts and outcomes go through the
    /// ledger's intake log ([`SqliteLedger`](crate::ledger::SqliteLedger)). The fast default.
    #[default]
    Normal,
    /// Every commit is flushed to disk, and so is every line the `file` output appends: both
    /// survive a power loss too, at a cost per delivery.
    Full,
}

impl ProcessorSettings {
    /// Reads `dir/processor.json`; every default when the file does not exist.
    pub fn load_from_dir(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join(PROCESSOR_SETTINGS_FILE);
        match Self::load(&path) {
            Err(ConfigError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(Self::default())
            }
            loaded => loaded,
        }
    }

    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&read(path)?, path)
    }

    /// Parses the text of a `processor.json`.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, Path::new("<inline>"))
    }

    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |line, column, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            column,
            message,
        };
        let settings: Self = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            // serde_json appends " at line L column C"; the location is in the prefix already.
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(head, _)| head)
                .to_owned();
            invalid(
                e.line(),
                e.column(),
                format!("{message} (expected {EXPECTED_SETTINGS})"),
            )
        })?;
        // (the field's name in messages, its key in the text, its value, lowest, highest)
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let bounded = [
            (
                "concurrency",
                count(settings.concurrency),
                1,
                Some(MAX_CONCURRENCY),
            ),
            (
                "dispatch_timeout_secs",
                settings.dispatch_timeout_secs,
                1,
                Some(MAX_WAIT_SECS),
            ),
            (
                "shutdown_grace_secs",
                settings.shutdown_grace_secs,
                0,
                Some(MAX_WAIT_SECS),
            ),
            (
                "max_record_bytes",
                count(settings.max_record_bytes),
                1,
                Some(MAX_RECORD_BYTES),
            ),
            (
                "ledger.lock_timeout_secs",
                settings.ledger.lock_timeout_secs,
                0,
                Some(MAX_LOCK_TIMEOUT_SECS),
            ),
            ("max_attempts", u64::from(settings.max_attempts), 1, None),
        ]
        .map(|(name, value, low, high)| {
            let key = name.rsplit('.').next().unwrap_or(name);
            (name.to_owned(), key, value, low, high)
        });
        let by_service = settings.max_attempts_by_service.iter().map(|(service, n)| {
            let name = format!("max_attempts_by_service.{service}");
            (name, service.as_str(), u64::from(*n), 1, None)
        });
        for (name, key, value, low, high) in bounded.into_iter().chain(by_service) {
            if value < low || high.is_some_and(|high| value > high) {
                let allowed = match high {
                    Some(high) => format!("from {low} to {high}"),
                    None => format!("at least {low}"),
                };
                return Err(invalid(
                    locate(text, key),
                    0,
                    format!("`{name}` is {value}; it must be {allowed}"),
                ));
            }
        }
        for key in settings.rate_limits.keys() {
            if let Some(problem) = rate_limit_key_problem(key) {
                return Err(invalid(
                    locate(text, key),
                    0,
                    format!("`rate_limits` names `{key}`: {problem}"),
                ));
            }
        }
        Ok(settings)
    }

    /// Checks that every key of `rate_limits` names a destination (`service:descriptor`) or a
    /// service configured in `outputs` (a typo would otherwise leave a destination at its
    /// default pace, silently).
    ///
    /// ```
    /// use streamalert::config::{OutputsConfig, ProcessorSettings};
    /// let outputs = OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap();
    /// let ok = ProcessorSettings::from_json(r#"{"rate_limits": {"stdout:console": {"per_second": 5, "burst": 1}}}"#).unwrap();
    /// assert!(ok.check_outputs(&outputs).is_ok());
    /// let typo = ProcessorSettings::from_json(r#"{"rate_limits": {"stdout:consle": {"per_second": 5, "burst": 1}}}"#).unwrap();
    /// assert_eq!(
    ///     typo.check_outputs(&outputs).unwrap_err().to_string(),
    ///     "processor.json: `rate_limits` names `stdout:consle`, which does not exist in outputs.json"
    /// );
    /// ```
    pub fn check_outputs(&self, outputs: &OutputsConfig) -> Result<(), ConfigError> {
        let configured = outputs.outputs();
        let known = |key: &str| {
            configured.iter().any(|output| {
                output == key
                    || output
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.starts_with(':'))
            })
        };
        match self.rate_limits.keys().find(|key| !known(key)) {
            Some(key) => Err(ConfigError::UnknownRateLimit(key.clone())),
            None => Ok(()),
        }
    }

    /// How many failed attempts a delivery to `service` gets before it is given up.
    ///
    /// ```
    /// use streamalert::config::ProcessorSettings;
    /// let settings = ProcessorSettings::from_json(r#"{"max_attempts": 5, "max_attempts_by_service": {"slack": 2}}"#).unwrap();
    /// assert_eq!(settings.max_attempts_for("slack"), 2);
    /// assert_eq!(settings.max_attempts_for("file"), 5);
    /// assert_eq!(ProcessorSettings::default().max_attempts_for("file"), 10);
    /// assert!(ProcessorSettings::from_json(r#"{"max_attempts": 0}"#).is_err());
    /// ```
    pub fn max_attempts_for(&self, service: &str) -> u32 {
        self.max_attempts_by_service
            .get(service)
            .copied()
            .unwrap_or(self.max_attempts)
    }

    /// The per-delivery time limit.
    pub fn dispatch_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.dispatch_timeout_secs)
    }

    /// How long `process` waits for deliveries under way once asked to stop.
    ///
    /// ```
    /// use streamalert::config::ProcessorSettings;
    /// assert_eq!(ProcessorSettings::default().shutdown_grace().as_secs(), 10);
    /// let settings = ProcessorSettings::from_json(r#"{"shutdown_grace_secs": 0}"#).unwrap();
    /// assert!(settings.shutdown_grace().is_zero());
    /// ```
    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// Which credential store the processor and the `output` command use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub enum StoreKind {
    /// An encrypted directory on this machine (the default).
    #[default]
    #[serde(rename = "local")]
    Local,
    /// KMS-encrypted objects in an S3 bucket (feature `aws`).
    #[serde(rename = "s3-kms")]
    S3Kms,
    /// SecureString parameters in SSM Parameter Store (feature `aws`).
    #[serde(rename = "ssm")]
    Ssm,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::S3Kms => "s3-kms",
            Self::Ssm => "ssm",
        })
    }
}

/// The `credentials` section of the processor settings (`conf/processor.json`); every key is
/// optional.
///
/// ```json
/// "credentials": {
///   "store": "local",
///   "cache_ttl_secs": 600,
///   "local": {"dir": "streamalert-credentials", "key_file": "streamalert-credentials/key",
///             "key_env": "STREAMALERT_CREDENTIALS_KEY"},
///   "s3-kms": {"bucket": "acme.streamalert.secrets", "prefix": "acme", "kms_key_alias": "acme_streamalert_secrets"},
///   "ssm": {"prefix": "acme", "kms_key_alias": "acme_streamalert_secrets"}
/// }
/// ```
///
/// Relative paths are relative to the working directory. For `s3-kms` and `ssm` the prefix
/// defaults to the environment variable `STREAMALERT_PREFIX` (as StreamAlert's Lambda has it),
/// the bucket to `<prefix>.streamalert.secrets` and the KMS alias to
/// `<prefix>_streamalert_secrets`.
///
/// ```
/// use streamalert::config::{StoreKind, StoreSettings};
/// let settings = StoreSettings::from_json(r#"{"store": "ssm", "ssm": {"prefix": "acme"}}"#).unwrap();
/// assert_eq!(settings.store, StoreKind::Ssm);
/// assert_eq!(settings.cache_ttl().as_secs(), 600);
/// assert_eq!(StoreSettings::default().local.key_file(), std::path::Path::new("streamalert-credentials/key"));
/// assert!(StoreSettings::from_json(r#"{"store": "vault"}"#).unwrap_err().to_string().contains("unknown variant"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// The store: `local`, `s3-kms` or `ssm`.
    pub store: StoreKind,
    /// How long the processor uses loaded credentials before loading them again.
    pub cache_ttl_secs: u64,
    /// Settings of the `local` store.
    pub local: LocalSettings,
    /// Settings of the `s3-kms` store.
    #[serde(rename = "s3-kms")]
    pub s3_kms: S3KmsSettings,
    /// Settings of the `ssm` store.
    pub ssm: SsmSettings,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            store: StoreKind::Local,
            cache_ttl_secs: 600,
            local: LocalSettings::default(),
            s3_kms: S3KmsSettings::default(),
            ssm: SsmSettings::default(),
        }
    }
}

/// The `local` section of [`StoreSettings`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSettings {
    /// The directory of the encrypted files (created with mode 0700).
    pub dir: PathBuf,
    /// The key file (created with mode 0600 on first save); default `<dir>/key`.
    pub key_file: Option<PathBuf>,
    /// The environment variable that, when set, holds the key (64 hexadecimal digits) instead of
    /// the key file.
    pub key_env: String,
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("streamalert-credentials"),
            key_file: None,
            key_env: Self::DEFAULT_KEY_ENV.to_owned(),
        }
    }
}

impl LocalSettings {
    /// The default of `key_env`.
    pub const DEFAULT_KEY_ENV: &'static str = "STREAMALERT_CREDENTIALS_KEY";

    /// The key file: `key_file`, else `<dir>/key`.
    pub fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.dir.join("key"))
    }
}

/// The `s3-kms` section of [`StoreSettings`].
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3KmsSettings {
    /// The bucket; default `<prefix>.streamalert.secrets`.
    pub bucket: Option<String>,
    /// The deployment prefix; default `$STREAMALERT_PREFIX`.
    pub prefix: Option<String>,
    /// The KMS key alias; default `<prefix>_streamalert_secrets`.
    pub kms_key_alias: Option<String>,
}

/// The `ssm` section of [`StoreSettings`].
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsmSettings {
    /// The deployment prefix; default `$STREAMALERT_PREFIX`.
    pub prefix: Option<String>,
    /// The KMS key alias; default `<prefix>_streamalert_secrets`.
    pub kms_key_alias: Option<String>,
}

impl StoreSettings {
    /// The key of this section in `processor.json`.
    pub const KEY: &'static str = "credentials";

    /// Parses the text of a `credentials` section.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads the `credentials` section of `dir/processor.json`; every default when the file or
    /// the section does not exist.
    ///
    /// ```
    /// use streamalert::config::{StoreKind, StoreSettings};
    /// let dir = tempfile::tempdir().unwrap();
    /// assert_eq!(StoreSettings::load_from_dir(dir.path()).unwrap(), StoreSettings::default());
    /// std::fs::write(dir.path().join("processor.json"),
    ///     r#"{"concurrency": 4, "credentials": {"store": "ssm", "cache_ttl_secs": 60}}"#).unwrap();
    /// let settings = StoreSettings::load_from_dir(dir.path()).unwrap();
    /// assert_eq!((settings.store, settings.cache_ttl_secs), (StoreKind::Ssm, 60));
    /// ```
    pub fn load_from_dir(dir: &Path) -> Result<Self, ConfigError> {
        ProcessorSettings::load_from_dir(dir).map(|settings| settings.credentials)
    }

    /// How long loaded credentials are used before they are loaded again.
    pub fn cache_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.cache_ttl_secs)
    }
}

/// What is wrong with the form of a `rate_limits` key: it must be `service` or
/// `service:descriptor`.
fn rate_limit_key_problem(key: &str) -> Option<String> {
    if key.contains(':') {
        return crate::output_ref::OutputRef::parse(key)
            .err()
            .map(|error| error.to_string());
    }
    (key.is_empty() || key.contains(char::is_whitespace))
        .then(|| "expected `service` or `service:descriptor`".to_owned())
}

/// The most alerts `concurrency` may put in flight at once.
pub const MAX_CONCURRENCY: u64 = 10_000;
/// The largest `max_record_bytes`: 256 MiB (each reader keeps one line of it in memory).
pub const MAX_RECORD_BYTES: u64 = 256 << 20;
/// The longest `dispatch_timeout_secs` and `shutdown_grace_secs`: one day.
pub const MAX_WAIT_SECS: u64 = 86_400;
/// The longest `ledger.lock_timeout_secs`: SQLite takes its busy timeout as an `i32` of
/// milliseconds (2,147,483 s, about 24 days).
pub const MAX_LOCK_TIMEOUT_SECS: u64 = i32::MAX as u64 / 1000;

const EXPECTED_SETTINGS: &str = "an object with optional \"concurrency\" (1 to 10000), \
\"dispatch_timeout_secs\" (1 to 86400), \"shutdown_grace_secs\" (0 to 86400), \"max_record_bytes\" (1 to 268435456), \"ledger\" ({\"path\": string, \
\"synchronous\": \"normal\" or \"full\", \"lock_timeout_secs\": 0 to 2147483, \"retention_days\": integer}), \"max_attempts\" \
(integer >= 1), \"max_attempts_by_service\" ({\"<service>\": integer >= 1}) and \"rate_limits\" \
({\"<service>:<descriptor>\" or \"<service>\": {\"per_second\": number > 0, \"burst\": integer >= 1}})";

#[cfg(test)]
mod tests {
    use super::*;

    /// The error for `processor.json` text `json`.
    fn refused(json: &str) -> String {
        ProcessorSettings::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn concurrency_is_from_1_to_10000() {
        assert_eq!(
            refused(r#"{"concurrency": 0}"#),
            "<inline>:1:0: `concurrency` is 0; it must be from 1 to 10000"
        );
        assert_eq!(
            refused("{\n\"concurrency\": 10001}"),
            "<inline>:2:0: `concurrency` is 10001; it must be from 1 to 10000"
        );
        assert!(
            refused("{\"concurrency\": 18446744073709551615}").contains("is 18446744073709551615;")
        );
        assert_eq!(
            ProcessorSettings::from_json(r#"{"concurrency": 10000}"#)
                .unwrap()
                .concurrency,
            10_000
        );
    }

    #[test]
    fn dispatch_timeout_is_from_1_second_to_a_day() {
        assert!(
            refused(r#"{"dispatch_timeout_secs": 0}"#)
                .ends_with("`dispatch_timeout_secs` is 0; it must be from 1 to 86400")
        );
        assert!(
            refused(r#"{"dispatch_timeout_secs": 86401}"#)
                .ends_with("`dispatch_timeout_secs` is 86401; it must be from 1 to 86400")
        );
        assert!(ProcessorSettings::from_json(r#"{"dispatch_timeout_secs": 86400}"#).is_ok());
    }

    #[test]
    fn shutdown_grace_of_0_means_no_wait_and_is_at_most_a_day() {
        let settings = ProcessorSettings::from_json(r#"{"shutdown_grace_secs": 0}"#).unwrap();
        assert!(settings.shutdown_grace().is_zero());
        assert!(
            refused(r#"{"shutdown_grace_secs": 86401}"#)
                .ends_with("`shutdown_grace_secs` is 86401; it must be from 0 to 86400")
        );
    }

    #[test]
    fn max_record_bytes_is_a_mib_by_default_and_from_1_to_256_mib() {
        assert_eq!(ProcessorSettings::default().max_record_bytes, 1_048_576);
        assert_eq!(
            refused(r#"{"max_record_bytes": 0}"#),
            "<inline>:1:0: `max_record_bytes` is 0; it must be from 1 to 268435456"
        );
        assert!(
            refused(r#"{"max_record_bytes": 268435457}"#)
                .ends_with("`max_record_bytes` is 268435457; it must be from 1 to 268435456")
        );
        let most = ProcessorSettings::from_json(r#"{"max_record_bytes": 268435456}"#).unwrap();
        assert_eq!(most.max_record_bytes, 256 << 20);
        assert!(refused(r#"{"max_record_bytes": -1}"#).contains("invalid value: integer `-1`"));
    }

    #[test]
    fn lock_timeout_fits_sqlites_busy_timeout() {
        assert!(
            refused(r#"{"ledger": {"lock_timeout_secs": 2147484}}"#)
                .ends_with("`ledger.lock_timeout_secs` is 2147484; it must be from 0 to 2147483")
        );
        let settings =
            ProcessorSettings::from_json(r#"{"ledger": {"lock_timeout_secs": 2147483}}"#).unwrap();
        // The longest accepted timeout is one SQLite accepts (rusqlite panics past i32::MAX ms).
        let dir = tempfile::tempdir().unwrap();
        let ledger = LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..settings.ledger
        };
        assert!(crate::ledger::SqliteLedger::open(&ledger).is_ok());
        assert!(ProcessorSettings::from_json(r#"{"ledger": {"lock_timeout_secs": 0}}"#).is_ok());
    }

    #[test]
    fn max_attempts_are_at_least_1() {
        assert!(
            refused(r#"{"max_attempts": 0}"#)
                .ends_with("`max_attempts` is 0; it must be at least 1")
        );
        assert_eq!(
            refused("{\"max_attempts_by_service\": {\n\"slack\": 0}}"),
            "<inline>:2:0: `max_attempts_by_service.slack` is 0; it must be at least 1"
        );
    }

    #[test]
    fn credential_settings_reject_unknown_keys_and_report_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PROCESSOR_SETTINGS_FILE),
            r#"{"credentials": {"stor": "local"}}"#,
        )
        .unwrap();
        let err = StoreSettings::load_from_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("processor.json") && err.contains("unknown field `stor`"),
            "{err}"
        );
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PROCESSOR_SETTINGS_FILE),
            r#"{"concurrency": 0}"#,
        )
        .unwrap();
        let err = ProcessorSettings::load_from_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&dir.path().join("processor.json").display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn rate_limits_by_destination_and_by_service() {
        let settings = ProcessorSettings::from_json(
            r#"{"rate_limits": {"file:alerts": {"per_second": 1, "burst": 5}, "stdout": {"per_second": 0.5, "burst": 1}}}"#,
        )
        .unwrap();
        assert_eq!(
            settings.rate_limits["file:alerts"],
            RateLimit::new(1.0, 5).unwrap()
        );
        assert_eq!(
            settings.rate_limits["stdout"],
            RateLimit::new(0.5, 1).unwrap()
        );
        assert!(ProcessorSettings::default().rate_limits.is_empty());
    }

    #[test]
    fn rate_limits_refuse_bad_values_and_unknown_names() {
        let limit = |key: &str, value: &str| {
            refused(&format!(
                "{{\n\"rate_limits\": {{\n  \"{key}\": {value}\n}}}}"
            ))
        };
        let zero = limit("file:alerts", r#"{"per_second": 0, "burst": 5}"#);
        assert!(
            zero.starts_with("<inline>:4:2: `rate_limits.file:alerts`: `per_second` is 0; it must be a finite number of at least 1/86400"),
            "{zero}"
        );
        let negative = limit("file:alerts", r#"{"per_second": -2, "burst": 5}"#);
        assert!(negative.contains("`per_second` is -2;"), "{negative}");
        let huge = limit("file:alerts", r#"{"per_second": 1e400, "burst": 5}"#);
        assert!(huge.starts_with("<inline>:"), "{huge}");
        let burst = limit("file:alerts", r#"{"per_second": 1, "burst": 0}"#);
        assert!(
            burst.contains("`rate_limits.file:alerts`: `burst` is 0; it must be at least 1"),
            "{burst}"
        );
        let fraction = limit("file:alerts", r#"{"per_second": 1, "burst": 1.5}"#);
        assert!(fraction.starts_with("<inline>:"), "{fraction}");
        let missing = limit("file:alerts", r#"{"per_second": 1}"#);
        assert!(missing.contains("missing field `burst`"), "{missing}");
        let extra = limit(
            "file:alerts",
            r#"{"per_second": 1, "burst": 1, "per_minute": 1}"#,
        );
        assert!(extra.contains("unknown field `per_minute`"), "{extra}");
        assert_eq!(
            limit("slack secops", r#"{"per_second": 1, "burst": 1}"#),
            "<inline>:3:0: `rate_limits` names `slack secops`: expected `service` or `service:descriptor`"
        );
        let malformed = limit("file:", r#"{"per_second": 1, "burst": 1}"#);
        assert!(
            malformed.starts_with("<inline>:3:0: `rate_limits` names `file:`: "),
            "{malformed}"
        );
    }

    #[test]
    fn rate_limits_must_name_configured_destinations() {
        let outputs = OutputsConfig::from_json(r#"{"file": {"alerts": "a.jsonl"}}"#).unwrap();
        let settings = |key: &str| {
            ProcessorSettings::from_json(&format!(
                r#"{{"rate_limits": {{"{key}": {{"per_second": 1, "burst": 1}}}}}}"#
            ))
            .unwrap()
        };
        assert!(settings("file:alerts").check_outputs(&outputs).is_ok());
        assert!(settings("file").check_outputs(&outputs).is_ok());
        let err = settings("file:other").check_outputs(&outputs).unwrap_err();
        assert!(matches!(&err, ConfigError::UnknownRateLimit(key) if key == "file:other"));
        assert_eq!(
            err.to_string(),
            "processor.json: `rate_limits` names `file:other`, which does not exist in outputs.json"
        );
        for unknown in ["slack", "fil", "file:alert", "fil:alerts"] {
            let err = settings(unknown).check_outputs(&outputs);
            assert!(
                matches!(&err, Err(ConfigError::UnknownRateLimit(key)) if key == unknown),
                "{unknown}: {err:?}"
            );
        }
    }

    #[test]
    fn the_defaults_are_the_documented_table() {
        let table: Vec<_> = [
            "slack",
            "pagerduty",
            "pagerduty-v2",
            "pagerduty-incident",
            "github",
            "slack-bot",
            "google-chat",
            "discord",
        ]
        .into_iter()
        .map(|service| {
            let limit = RateLimit::default_for(service).unwrap();
            (service, limit.per_second(), limit.burst())
        })
        .collect();
        assert_eq!(
            table,
            [
                ("slack", 1.0, 3),
                ("pagerduty", 1.8, 12),
                ("pagerduty-v2", 1.8, 12),
                ("pagerduty-incident", 14.0, 60),
                ("github", 0.125, 1),
                ("slack-bot", 1.0, 3),
                ("google-chat", 0.95, 3),
                ("discord", 0.4, 5),
            ]
        );
        for unlimited in ["webhook", "teams", "jira-v2", "aws-sns", "file", "stdout"] {
            assert_eq!(RateLimit::default_for(unlimited), None, "{unlimited}");
        }
    }

    #[test]
    fn the_defaults_stay_within_the_vendors_windows() {
        // At most burst + per_second × window sends in any window.
        let most = |service: &str, window: f64| {
            let limit = RateLimit::default_for(service).unwrap();
            f64::from(limit.burst()) + limit.per_second() * window
        };
        assert!(most("pagerduty-v2", 60.0) <= 120.0);
        assert!(most("pagerduty", 60.0) <= 120.0);
        assert!(most("pagerduty-incident", 60.0) <= 900.0);
        assert!(most("github", 60.0) <= 80.0);
        assert!(most("github", 3600.0) <= 500.0);
        assert_eq!(RateLimit::default_for("github").unwrap().burst(), 1);
        assert!(most("slack", 1.0) <= 4.0);
        assert!(most("google-chat", 60.0) <= 60.0);
        assert!(most("discord", 2.0) <= 6.0 && most("discord", 60.0) <= 30.0);
    }

    #[test]
    fn bad_limits_are_refused_naming_the_field() {
        assert_eq!(
            RateLimit::new(0.0, 1).unwrap_err().to_string(),
            "`per_second` is 0; it must be a finite number of at least 1/86400 (one send a day)"
        );
        assert!(RateLimit::new(-1.0, 1).is_err());
        assert!(RateLimit::new(f64::NAN, 1).is_err());
        assert!(RateLimit::new(MIN_PER_SECOND / 2.0, 1).is_err());
        assert!(RateLimit::new(MIN_PER_SECOND, 1).is_ok());
        assert_eq!(
            RateLimit::new(1.0, 0).unwrap_err().to_string(),
            "`burst` is 0; it must be at least 1"
        );
    }
}
