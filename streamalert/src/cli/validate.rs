//! `validate`: every configuration, credential and registration problem, at once.

use super::{Common, with_runtime};
use crate::config::{OutputsConfig, ProcessorSettings};
use crate::ledger::{Ledger as _, SqliteLedger};
use crate::processor::{NoCredentials, required_outputs};
use std::io::Write as _;
use std::process::ExitCode;

pub(super) fn validate(common: &Common) -> ExitCode {
    use crate::processor::{Problem, ProblemKind};
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
    with_runtime(|| async {
        let open_alerts = if settings.ledger.path.exists() {
            match SqliteLedger::open(&settings.ledger) {
                Ok(ledger) => match ledger.open_alerts().await {
                    Ok(open) => open,
                    Err(error) => {
                        problems.push(Problem::new(ProblemKind::Ledger, error.to_string()));
                        Vec::new()
                    }
                },
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
                match settings.credentials.provider().await {
                    Ok(credentials) => problems.extend(
                        crate::processor::validate(registry, &config, &*credentials, &open_alerts)
                            .await,
                    ),
                    Err(error) => {
                        problems.push(Problem::new(ProblemKind::Config, error.to_string()));
                        problems.extend(
                            crate::processor::validate(
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
                let mut found = crate::processor::validate(
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
