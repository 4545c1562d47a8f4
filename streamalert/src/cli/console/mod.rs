//! `console`: the ledger in a browser (feature `console`). An axum server renders the pages on
//! the server (no JavaScript framework; its stylesheet is embedded in the binary) and replays
//! deliveries through the same [`Ledger`](crate::ledger::Ledger) as the `ledger` command.

mod app;
mod auth;
mod chart;
mod page;
#[cfg(test)]
mod tests;

use super::ledger::{self, LedgerLocation};
use super::shutdown::Signals;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) const CONSOLE_HELP: &str = "\
Serves the ledger as a small web application, from this binary (no JavaScript framework, no
CDN: the stylesheet is embedded):

  /                      per output, deliveries by state (sent, pending, failed, dead), the
                         quarantined alerts, the age of the oldest pending alert, and a chart
                         of deliveries per hour by state over the last 24 hours (or 7 days)
  /deliveries            the deliveries, filtered by state, output and rule, 50 a page
  /alerts/ALERT_ID       an alert: its record, its publication per output, its deliveries with
                         their attempts and last errors (as the logs show them: secrets redacted)

Actions (buttons, each a POST form carrying a token drawn at random when the console starts;
a request without it is refused with 403): replay a failed or dead delivery (or a quarantined
alert), replay every dead delivery of an output. Each is logged with the peer address, the
identity (`token` or `loopback`) and the time. `retry` then sends what was replayed.

Safe by default: the console listens on 127.0.0.1:8080. A --listen address that is not a
loopback address is refused unless --token-file is given: every request must then present
that token (`Authorization: Bearer TOKEN`, or HTTP Basic with the token as password, which
browsers prompt for), compared in constant time; a missing or wrong token gets 401. With
--read-only there are no buttons and every action is refused with 403. The ledger is
processor.json's (or --ledger FILE, or a DynamoDB table with --alerts-table).";

/// The `console` command's arguments.
#[derive(Debug, Args)]
pub(super) struct ConsoleArgs {
    /// The address and port to listen on; an address that is not loopback requires --token-file.
    #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A file holding the token every request must present (Bearer, or Basic's password).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Show the ledger only: no replay buttons, and every action is refused with 403.
    #[arg(long)]
    read_only: bool,
    #[command(flatten)]
    location: LedgerLocation,
}

/// Runs the console until SIGINT or SIGTERM.
pub(super) async fn console(args: &ConsoleArgs) -> ExitCode {
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: &ConsoleArgs) -> Result<(), String> {
    let token = args
        .token_file
        .as_deref()
        .map(auth::Token::read)
        .transpose()?;
    auth::check_listen(args.listen, token.is_some())?;
    let (ledger, location) = ledger::open(&args.location).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("console: cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| format!("console: {e}"))?;
    let access = if token.is_some() {
        "every request must present the token of --token-file"
    } else {
        "loopback only, no token"
    };
    let mode = if args.read_only {
        "read-only"
    } else {
        "replay enabled"
    };
    tracing::info!("console: http://{local}/ ({access}; {mode}) on the ledger {location}");
    let app = app::router(app::Console::new(ledger, token, args.read_only));
    let mut signals = Signals::listen();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let stop = signals.recv().await;
        tracing::info!("console: {} received, stopping", stop.name());
    })
    .await
    .map_err(|e| format!("console: {e}"))
}
