//! `ledger`: see and act on the delivery backlog (status, list, show, replay, prune).

use crate::alert::Timestamp;
use crate::config::ProcessorSettings;
use crate::ledger::{
    AlertKey, DeliveryFilter, DeliveryState, Ledger, LedgerEntry, QuarantinedAlert, SqliteLedger,
};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub(super) const LEDGER_HELP: &str = "\
Shows and changes the ledger: which alerts wait for which outputs, and why.

  status                     counts by state and by output, age of the oldest pending alert
  list [--state S] [--output SERVICE:DESCRIPTOR] [--json]
                             one line per delivery in that state (default: every delivery
                             not sent: pending, failed, dead; and every quarantined alert)
  show ALERT_ID              the alert's item, its deliveries, attempts and last errors
  replay ALERT_ID...         failed and dead deliveries of these alerts back to pending, and
                             quarantined alerts back to open; `retry` then sends them
  replay --dead [--output S] every dead delivery (of one output) back to pending
  prune --older-than 7d      deletes complete alerts whose last delivery is older than that
                             (s, m, h, d, w); alerts with anything pending are never deleted

Delivery states: pending (not attempted yet), sent, failed (`retry` sends it again), dead
(given up after a permanent error, e.g. HTTP 400, or max_attempts failures; `retry` skips it).
An alert whose stored item cannot be read back is quarantined with the reason: `retry` skips
it and exits with status 1 while any is left.";

/// Which ledger a command reads: processor.json's, another file, or a DynamoDB table.
#[derive(Debug, Args)]
pub(super) struct LedgerLocation {
    /// The configuration directory (its processor.json names the ledger).
    #[arg(long, value_name = "DIR", env = crate::config::CONFIG_DIR_ENV, default_value = crate::config::DEFAULT_CONFIG_DIR, global = true)]
    config: PathBuf,
    /// The ledger file to use instead of processor.json's ledger.path.
    #[arg(long, value_name = "FILE", global = true)]
    ledger: Option<PathBuf>,
    /// The DynamoDB alerts table to use instead of the SQLite ledger.
    #[cfg(feature = "aws")]
    #[arg(long, value_name = "TABLE", global = true, conflicts_with = "ledger")]
    alerts_table: Option<String>,
}

/// The `ledger` command's arguments.
#[derive(Debug, Args)]
pub(super) struct LedgerArgs {
    #[command(flatten)]
    location: LedgerLocation,
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Counts by state and by output, and the age of the oldest pending alert.
    Status,
    /// One line per delivery in a state (default: every delivery not sent, and quarantined alerts).
    List {
        /// Only deliveries in this state (`quarantined`: alerts whose item cannot be read).
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Only deliveries to this output.
        #[arg(long, value_name = "SERVICE:DESCRIPTOR")]
        output: Option<String>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The alert's item, deliveries, attempts and last errors.
    Show {
        /// The alert's id.
        alert_id: String,
    },
    /// Failed and dead deliveries back to pending (and quarantined alerts back to open).
    Replay {
        /// The alerts to replay.
        #[arg(value_name = "ALERT_ID", required_unless_present = "dead")]
        alert_ids: Vec<String>,
        /// Every alert with a dead delivery (only the --output's, when given).
        #[arg(long, conflicts_with = "alert_ids")]
        dead: bool,
        /// Only the deliveries to this output.
        #[arg(long, value_name = "SERVICE:DESCRIPTOR")]
        output: Option<String>,
    },
    /// Delete complete alerts whose last delivery is older than DURATION (never a pending one).
    Prune {
        /// How old: a number and a unit, s, m, h, d or w (e.g. 7d, 12h).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        older_than: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StateArg {
    Pending,
    Sent,
    Failed,
    Dead,
    Quarantined,
}

impl StateArg {
    fn delivery_state(self) -> Option<DeliveryState> {
        match self {
            Self::Pending => Some(DeliveryState::Pending),
            Self::Sent => Some(DeliveryState::Sent),
            Self::Failed => Some(DeliveryState::Failed),
            Self::Dead => Some(DeliveryState::Dead),
            Self::Quarantined => None,
        }
    }
}

/// Parses `7d`, `12h`, `30m`, `90s`, `2w`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration (a number and s, m, h, d or w, e.g. 7d)");
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(invalid)?;
    let (number, unit) = text.split_at(unit_at);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(invalid)
}

/// An age in words: the two largest units, e.g. `2d 3h`, `5m 7s`.
pub(super) fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let parts = [
        (seconds / 86_400, "d"),
        (seconds % 86_400 / 3600, "h"),
        (seconds % 3600 / 60, "m"),
        (seconds % 60, "s"),
    ];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    parts[first..]
        .iter()
        .take(2)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) async fn ledger(args: &LedgerArgs) -> ExitCode {
    let (ledger, location) = match open(&args.location).await {
        Ok(opened) => opened,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let result = match &args.command {
        LedgerCommand::Status => status(&*ledger).await,
        LedgerCommand::List {
            state,
            output,
            json,
        } => list(&*ledger, *state, output.clone(), *json).await,
        LedgerCommand::Show { alert_id } => show(&*ledger, &location, alert_id).await,
        LedgerCommand::Replay {
            alert_ids,
            dead,
            output,
        } => replay(&*ledger, &location, alert_ids, *dead, output.clone()).await,
        LedgerCommand::Prune { older_than } => prune(&*ledger, *older_than).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the ledger the arguments name, which must exist; also says where it is.
pub(super) async fn open(args: &LedgerLocation) -> Result<(Arc<dyn Ledger>, String), String> {
    #[cfg(feature = "aws")]
    if let Some(table) = &args.alerts_table {
        let ledger = crate::ledger::DynamoDbLedger::new(crate::aws::Aws::shared().await, table);
        return Ok((Arc::new(ledger), format!("table {table}")));
    }
    let mut settings = ProcessorSettings::load_from_dir(&args.config).map_err(|e| e.to_string())?;
    if let Some(path) = &args.ledger {
        settings.ledger.path = path.clone();
    }
    let path = &settings.ledger.path;
    if !path.is_file() {
        return Err(format!(
            "no ledger at {} (check --ledger or processor.json's ledger.path)",
            path.display()
        ));
    }
    let ledger = SqliteLedger::open(&settings.ledger).map_err(|e| e.to_string())?;
    Ok((Arc::new(ledger), path.display().to_string()))
}

fn print(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

async fn status(ledger: &dyn Ledger) -> Result<(), String> {
    let status = ledger.status().await.map_err(|e| e.to_string())?;
    let c = status.counts;
    print(&format!(
        "alerts: open {}, complete {}, merged {}, quarantined {}",
        c.open_alerts, c.complete_alerts, c.merged_alerts, c.quarantined_alerts
    ));
    print(&format!(
        "deliveries: pending {}, failed {}, dead {}, sent {}",
        c.pending, c.failed, c.dead, c.sent
    ));
    match status.oldest_unsent {
        Some(created) => print(&format!(
            "oldest pending alert: created {created} ({} ago)",
            age(Timestamp::now().unix_seconds() - created.unix_seconds())
        )),
        None => print("oldest pending alert: none"),
    }
    for (output, states) in &status.by_output {
        let counts: Vec<String> = states
            .iter()
            .map(|(state, n)| format!("{state} {n}"))
            .collect();
        print(&format!("  {output}: {}", counts.join(", ")));
    }
    Ok(())
}

async fn list(
    ledger: &dyn Ledger,
    state: Option<StateArg>,
    output: Option<String>,
    as_json: bool,
) -> Result<(), String> {
    let states: Vec<DeliveryState> = match state {
        Some(state) => state.delivery_state().into_iter().collect(),
        None => vec![
            DeliveryState::Pending,
            DeliveryState::Failed,
            DeliveryState::Dead,
        ],
    };
    for state in states {
        let filter = DeliveryFilter {
            state: Some(state),
            output: output.clone(),
        };
        for entry in ledger
            .list(filter.clone())
            .await
            .map_err(|e| e.to_string())?
        {
            for delivery in entry
                .deliveries
                .iter()
                .filter(|d| filter.selects(&d.output, d.state))
            {
                let alert = &entry.alert;
                if as_json {
                    print(
                        &json!({
                            "alert_id": alert.alert_id,
                            "rule": alert.rule_name,
                            "output": delivery.output,
                            "state": delivery.state.as_str(),
                            "attempts": delivery.attempts,
                            "created": alert.created.to_string(),
                            "updated": delivery.updated.map(|t| t.to_string()),
                            "last_error": delivery.last_error,
                        })
                        .to_string(),
                    );
                } else {
                    print(&format!(
                        "{}\t{}\t{}\t{}\tattempts {}\tcreated {}{}",
                        alert.alert_id,
                        alert.rule_name,
                        delivery.output,
                        delivery.state,
                        delivery.attempts,
                        alert.created,
                        delivery
                            .last_error
                            .as_deref()
                            .map(|e| format!("\tlast error: {e}"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    if matches!(state, None | Some(StateArg::Quarantined)) && output.is_none() {
        for QuarantinedAlert { key, reason } in
            ledger.quarantined().await.map_err(|e| e.to_string())?
        {
            if as_json {
                print(
                    &json!({
                        "alert_id": key.alert_id,
                        "rule": key.rule_name,
                        "state": "quarantined",
                        "reason": reason,
                    })
                    .to_string(),
                );
            } else {
                print(&format!(
                    "{}\t{}\tquarantined\t{reason}",
                    key.alert_id, key.rule_name
                ));
            }
        }
    }
    Ok(())
}

/// The key of `alert_id`, or an error naming it and the ledger.
async fn key_of(ledger: &dyn Ledger, location: &str, alert_id: &str) -> Result<AlertKey, String> {
    ledger
        .find(alert_id.to_owned())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("alert {alert_id} is not in the ledger ({location})"))
}

async fn show(ledger: &dyn Ledger, location: &str, alert_id: &str) -> Result<(), String> {
    let key = key_of(ledger, location, alert_id).await?;
    let quarantined = ledger
        .quarantined()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|q| q.key == key);
    if let Some(QuarantinedAlert { key, reason }) = quarantined {
        print(&format!("alert: {}", key.alert_id));
        print(&format!("rule: {}", key.rule_name));
        print(&format!("status: quarantined: {reason}"));
        return Ok(());
    }
    let entry = ledger
        .get(key.clone())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("alert {alert_id} is not in the ledger ({location})"))?;
    show_entry(&entry);
    Ok(())
}

fn show_entry(entry: &LedgerEntry) {
    let alert = &entry.alert;
    print(&format!("alert: {}", alert.alert_id));
    print(&format!("rule: {}", alert.rule_name));
    let status = match &entry.status {
        crate::ledger::AlertStatus::Open => "open".to_owned(),
        crate::ledger::AlertStatus::Complete => "complete".to_owned(),
        crate::ledger::AlertStatus::Merged { into } => format!("merged into {into}"),
    };
    print(&format!("status: {status}"));
    print(&format!(
        "created: {}, dispatched: {}, delivery passes: {}",
        alert.created, alert.dispatched, alert.attempts
    ));
    print("deliveries:");
    for d in &entry.deliveries {
        print(&format!(
            "  {}: {}, attempts {}{}{}",
            d.output,
            d.state,
            d.attempts,
            d.updated
                .map(|t| format!(", updated {t}"))
                .unwrap_or_default(),
            d.last_error
                .as_deref()
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default()
        ));
    }
    // The item as stored, with its record decoded for reading.
    let mut item = alert.to_ledger_item();
    item.insert("Record".into(), Value::clone(&alert.record));
    print("item:");
    print(&serde_json::to_string_pretty(&Value::Object(item)).unwrap_or_default());
}

async fn replay(
    ledger: &dyn Ledger,
    location: &str,
    alert_ids: &[String],
    dead: bool,
    output: Option<String>,
) -> Result<(), String> {
    let keys = if dead {
        let filter = DeliveryFilter {
            state: Some(DeliveryState::Dead),
            output: output.clone(),
        };
        ledger
            .list(filter)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .map(|entry| AlertKey::of(&entry.alert))
            .collect()
    } else {
        let mut keys = Vec::with_capacity(alert_ids.len());
        for id in alert_ids {
            keys.push(key_of(ledger, location, id).await?);
        }
        keys
    };
    let alerts = keys.len();
    let changed = ledger
        .replay(keys, output)
        .await
        .map_err(|e| e.to_string())?;
    print(&format!(
        "replayed {changed} deliveries or quarantined alerts of {alerts} alerts; `retry` sends them"
    ));
    Ok(())
}

async fn prune(ledger: &dyn Ledger, older_than: Duration) -> Result<(), String> {
    let cutoff = chrono::TimeDelta::from_std(older_than)
        .ok()
        .and_then(|delta| chrono::Utc::now().naive_utc().checked_sub_signed(delta))
        .map_or(Timestamp::EPOCH, Timestamp::from);
    let pruned = ledger.prune(cutoff).await.map_err(|e| e.to_string())?;
    print(&format!(
        "pruned {pruned} complete alerts last delivered before {cutoff}"
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        for bad in ["7", "d", "7 d", "7y", "-1d", "99999999999999999999w"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn ages_show_the_two_largest_units() {
        assert_eq!(age(0), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(3 * 60 + 7), "3m 7s");
        assert_eq!(age(2 * 86_400 + 3 * 3600 + 5), "2d 3h");
        assert_eq!(age(-5), "0s");
    }
}
