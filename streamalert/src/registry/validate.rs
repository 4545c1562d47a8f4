//! What no compiler can see: the binary's registrations against its configuration, its
//! credential store and the alerts waiting in its ledger.

use super::Registry;
use crate::config::OutputsConfig;
use crate::ledger::LedgerEntry;
use crate::output::{CredentialProvider, OutputRef};
use crate::rule::StaticPublishers;
use serde_json::Value;
use std::fmt;

/// The kinds of problem [`validate`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A configuration file is missing or malformed.
    Config,
    /// A name is registered more than once across the linked crates.
    Registry,
    /// A rule names an output whose descriptor is not in `outputs.json`.
    UnknownDescriptor,
    /// An output declares secret properties and nothing is stored for its descriptor.
    MissingCredentials,
    /// A rule or a pending alert names a publisher this binary does not register.
    UnknownPublisher,
    /// A rule or `outputs.json` names a service whose output is not compiled in.
    NotCompiled,
    /// The ledger cannot be read.
    Ledger,
}

/// One problem, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What is wrong and where.
    pub message: String,
}

impl Problem {
    /// A problem of `kind`.
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks the registrations of this binary against the configuration, the credential store
/// and the alerts still open in the ledger; every problem at once, in a stable order.
///
/// - a rule output whose descriptor is not in `outputs.json`;
/// - a descriptor in `outputs.json` that no output reference can name (a space, a `:`);
/// - a configured descriptor of an output with secret properties and no stored credentials;
/// - a publisher name (of a rule, or stored on an open alert) that is not registered;
/// - a service (of a rule or of `outputs.json`) whose output is not compiled in;
/// - names registered twice.
///
/// ```
/// use streamalert::{config::OutputsConfig, output::NoCredentials, registry::validate};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let config = OutputsConfig::from_json(r#"{"stdout": ["console"], "slack": ["secops"]}"#).unwrap();
/// let problems = validate(streamalert::registry(), &config, &NoCredentials, &[]).await;
/// # let _ = problems; // which problems depends on the cargo features
/// # });
/// ```
pub async fn validate(
    registry: &Registry,
    config: &OutputsConfig,
    credentials: &dyn CredentialProvider,
    open_alerts: &[LedgerEntry],
) -> Vec<Problem> {
    let mut problems: Vec<Problem> = registry
        .problems()
        .into_iter()
        .map(|p| Problem::new(ProblemKind::Registry, p.to_string()))
        .collect();

    for rule in registry.rules() {
        for output in rule.outputs {
            // `#[rule]` checked the grammar at compile time.
            let Ok(OutputRef {
                service,
                descriptor,
            }) = OutputRef::parse(output)
            else {
                continue;
            };
            if registry.output(service).is_none() {
                problems.push(Problem::new(
                    ProblemKind::NotCompiled,
                    format!(
                        "rule `{}` ({}): output `{output}`: the `{service}` output is not compiled into this binary (enable its cargo feature)",
                        rule.name, rule.location
                    ),
                ));
            }
            if config.setting(service, descriptor).is_err() {
                problems.push(Problem::new(
                    ProblemKind::UnknownDescriptor,
                    format!(
                        "rule `{}` ({}): output `{output}`: descriptor `{descriptor}` of `{service}` is not in outputs.json",
                        rule.name, rule.location
                    ),
                ));
            }
        }
        for name in static_publisher_names(rule.publishers) {
            if registry.publisher(name).is_none() {
                problems.push(Problem::new(
                    ProblemKind::UnknownPublisher,
                    format!(
                        "rule `{}` ({}): publisher `{name}` is not registered",
                        rule.name, rule.location
                    ),
                ));
            }
        }
    }

    for output in config.outputs() {
        let OutputRef {
            service,
            descriptor,
        } = match OutputRef::parse(&output) {
            Ok(parsed) => parsed,
            Err(error) => {
                problems.push(Problem::new(
                    ProblemKind::Config,
                    format!("outputs.json: {error}; no rule can name it"),
                ));
                continue;
            }
        };
        let Some(entry) = registry.output(service) else {
            problems.push(Problem::new(
                ProblemKind::NotCompiled,
                format!(
                    "outputs.json: `{output}`: the `{service}` output is not compiled into this binary (enable its cargo feature)"
                ),
            ));
            continue;
        };
        let secrets: Vec<&str> = (entry.make)()
            .properties()
            .iter()
            .filter(|p| p.secret)
            .map(|p| p.name)
            .collect();
        if secrets.is_empty() {
            continue;
        }
        match credentials.credentials(service, descriptor).await {
            Ok(Some(_)) => {}
            Ok(None) => problems.push(Problem::new(
                ProblemKind::MissingCredentials,
                format!(
                    "outputs.json: `{output}`: no credentials are stored for this descriptor (it needs {})",
                    secrets.join(", ")
                ),
            )),
            Err(error) => problems.push(Problem::new(
                ProblemKind::MissingCredentials,
                format!("outputs.json: `{output}`: cannot read its credentials: {error}"),
            )),
        }
    }

    for entry in open_alerts {
        for name in stored_publisher_names(&entry.alert.publishers) {
            if registry.publisher(&name).is_none() {
                problems.push(Problem::new(
                    ProblemKind::UnknownPublisher,
                    format!(
                        "ledger: open alert {} of rule `{}` names publisher `{name}`, which this binary does not register (it would be skipped)",
                        entry.alert.alert_id, entry.alert.rule_name
                    ),
                ));
            }
        }
    }
    problems
}

fn static_publisher_names(publishers: StaticPublishers) -> Vec<&'static str> {
    match publishers {
        StaticPublishers::None => Vec::new(),
        StaticPublishers::List(names) => names.to_vec(),
        StaticPublishers::Map(entries) => entries
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect(),
    }
}

/// Every publisher name in a stored `publishers` value (a name, a list, or a map of either).
fn stored_publisher_names(value: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut push = |value: &Value| match value {
        Value::String(name) => names.push(name.clone()),
        Value::Array(list) => {
            names.extend(list.iter().filter_map(Value::as_str).map(str::to_owned))
        }
        _ => {}
    };
    match value {
        Value::Object(map) => map.values().for_each(&mut push),
        other => push(other),
    }
    names.sort();
    names.dedup();
    names
}
