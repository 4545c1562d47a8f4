//! `validate`: every configuration, credential and registration problem, at once.

use super::{Common, with_runtime};
use crate::config::{OutputsConfig, ProcessorSettings};
use crate::ledger::{DeliveryFilter, DeliveryState, Ledger as _, SqliteLedger};
use crate::output::NoCredentials;
use crate::processor::required_outputs;
use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::ExitCode;

pub(super) fn validate(common: Common) -> ExitCode {
    use crate::registry::{Problem, ProblemKind};
    let mut problems = Vec::new();
    let config = match OutputsConfig::load(&common.config.join("outputs.json")) {
        Ok(config) => Some(config),
        Err(error) => {
            problems.push(Problem::new(ProblemKind::Config, error.to_string()));
            None
        }
    };
    let mut settings = match ProcessorSettings::load_from_dir(&common.config) {
        Ok(settings) => settings,
        Err(error) => {
            problems.push(Problem::new(ProblemKind::Config, error.to_string()));
            ProcessorSettings::default()
        }
    };
    if let Some(path) = &common.ledger {
        settings.ledger.path = path.clone();
    }
    with_runtime(async move {
        let open_alerts = if settings.ledger.path.exists() {
            match SqliteLedger::open(&settings.ledger) {
                Ok(ledger) => {
                    // The alerts still to deliver: open ones, and those with a dead delivery
                    // (`ledger replay` sends them again).
                    let dead = DeliveryFilter {
                        state: Some(DeliveryState::Dead),
                        output: None,
                    };
                    let waiting = match (ledger.open_alerts().await, ledger.list(dead).await) {
                        (Ok(mut open), Ok(dead)) => {
                            let known: BTreeSet<String> =
                                open.iter().map(|e| e.alert.alert_id.clone()).collect();
                            open.extend(
                                dead.into_iter()
                                    .filter(|e| !known.contains(&e.alert.alert_id)),
                            );
                            open
                        }
                        (Err(error), _) | (_, Err(error)) => {
                            problems.push(Problem::new(ProblemKind::Ledger, error.to_string()));
                            Vec::new()
                        }
                    };
                    match ledger.quarantined().await {
                        Ok(quarantined) => problems.extend(quarantined.iter().map(|q| {
                            Problem::new(
                                ProblemKind::Ledger,
                                format!(
                                    "alert {} of rule {} is quarantined in the ledger (not retried): {}",
                                    q.key.alert_id, q.key.rule_name, q.reason
                                ),
                            )
                        })),
                        Err(error) => {
                            problems.push(Problem::new(ProblemKind::Ledger, error.to_string()));
                        }
                    }
                    waiting
                }
                Err(error) => {
                    problems.push(Problem::new(ProblemKind::Ledger, error.to_string()));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let registry = crate::registry();
        match config {
            Some(mut config) => {
                let prefix = std::env::var("STREAMALERT_PREFIX").ok();
                required_outputs(&mut config, prefix.as_deref());
                if let Err(error) = settings.check_outputs(&config) {
                    problems.push(Problem::new(ProblemKind::Config, error.to_string()));
                }
                match crate::creds::provider(&settings.credentials).await {
                    Ok(credentials) => problems.extend(
                        crate::registry::validate(registry, &config, &*credentials, &open_alerts)
                            .await,
                    ),
                    Err(error) => {
                        problems.push(Problem::new(ProblemKind::Config, error.to_string()));
                        problems.extend(
                            crate::registry::validate(
                                registry,
                                &config,
                                &NoCredentials,
                                &open_alerts,
                            )
                            .await,
                        );
                    }
                }
            }
            None => {
                // Without outputs.json only the checks that do not need it.
                let mut found = crate::registry::validate(
                    registry,
                    &OutputsConfig::default(),
                    &NoCredentials,
                    &open_alerts,
                )
                .await;
                found.retain(|p| p.kind != ProblemKind::UnknownDescriptor);
                problems.extend(found);
            }
        }
        let mut out = std::io::stdout();
        for problem in &problems {
            let _ = writeln!(out, "problem: {problem}");
        }
        let registry = crate::registry();
        if problems.is_empty() {
            let _ = writeln!(
                out,
                "ok: {} rules, {} publishers, {} output services, configuration in {}",
                registry.rules().len(),
                registry.publishers().len(),
                registry.outputs().len(),
                common.config.display()
            );
            ExitCode::SUCCESS
        } else {
            let _ = writeln!(out, "{} problem(s) found", problems.len());
            ExitCode::FAILURE
        }
    })
}
