//! The console's routes: the overview, the lists, an alert's page and the replay actions.

use super::auth::{self, Operator, Token};
use super::chart;
use super::page::{STYLESHEET, action, escape, layout, url_encode};
use crate::alert::Timestamp;
use crate::cli::ledger::age;
use crate::ledger::{
    AlertKey, AlertStatus, DeliveryFilter, DeliveryRecord, DeliveryState, HourlyDeliveries, Ledger,
    LedgerEntry, LedgerError,
};
use crate::publisher::Chain;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router, middleware};
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// Rows on a page of a list.
const PAGE_SIZE: usize = 50;

/// The delivery states, in the order the pages show them.
const STATES: [DeliveryState; 4] = [
    DeliveryState::Sent,
    DeliveryState::Pending,
    DeliveryState::Failed,
    DeliveryState::Dead,
];

/// The console's shared state: the ledger, who may come in, and the CSRF token of this process.
#[derive(Clone)]
pub(super) struct Console(Arc<Inner>);

struct Inner {
    ledger: Arc<dyn Ledger>,
    token: Option<Token>,
    read_only: bool,
    /// Drawn at random (the OS's generator, through UUID v4) when the console starts.
    csrf: String,
}

impl Console {
    /// The console of `ledger`; `token` is required from every request when given.
    pub(super) fn new(ledger: Arc<dyn Ledger>, token: Option<Token>, read_only: bool) -> Self {
        let csrf = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Self(Arc::new(Inner {
            ledger,
            token,
            read_only,
            csrf,
        }))
    }

    /// The token requests must present, if any.
    pub(super) fn token(&self) -> Option<&Token> {
        self.0.token.as_ref()
    }

    fn ledger(&self) -> &dyn Ledger {
        &*self.0.ledger
    }

    /// Refuses an action in read-only mode, or without this process's CSRF token.
    fn check_action(&self, csrf: Option<&str>) -> Result<(), ConsoleError> {
        if self.0.read_only {
            return Err(ConsoleError::Forbidden(
                "this console is read-only (--read-only): replaying is disabled",
            ));
        }
        match csrf {
            Some(csrf) if auth::secret_eq(&self.0.csrf, csrf) => Ok(()),
            _ => Err(ConsoleError::Forbidden(
                "missing or wrong CSRF token: reload the page and try again",
            )),
        }
    }

    /// A replay button (none in read-only mode).
    fn button(&self, path: &str, fields: &[(&str, &str)], label: &str) -> String {
        if self.0.read_only {
            String::new()
        } else {
            action(path, &self.0.csrf, fields, label)
        }
    }
}

/// The console's routes, behind [`auth::admit`].
pub(super) fn router(console: Console) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/deliveries", get(deliveries))
        .route("/alerts/{alert_id}", get(alert))
        .route("/replay", post(replay))
        .route("/replay-dead", post(replay_dead))
        .route("/console.css", get(stylesheet))
        .layer(middleware::from_fn_with_state(console.clone(), auth::admit))
        .with_state(console)
}

/// Why a page or an action failed; shown as a page with the status.
#[derive(Debug, thiserror::Error)]
enum ConsoleError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(&'static str),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Ledger(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
        };
        let body = format!("<p class=\"error\">{}</p>", escape(&self.to_string()));
        (
            status,
            layout(status.canonical_reason().unwrap_or("error"), &body),
        )
            .into_response()
    }
}

/// An optional query or form value: an empty one (a form's blank field) is none.
fn given(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|v| !v.is_empty())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
}

fn state_badge(state: &str) -> String {
    format!("<span class=\"state {state}\">{state}</span>")
}

fn list_link(state: &str, output: Option<&str>) -> String {
    let mut link = format!("/deliveries?state={state}");
    if let Some(output) = output {
        let _ = write!(link, "&amp;output={}", url_encode(output));
    }
    link
}

#[derive(Debug, Deserialize)]
struct OverviewQuery {
    window: Option<String>,
    replayed: Option<u64>,
}

async fn overview(
    State(console): State<Console>,
    Query(query): Query<OverviewQuery>,
) -> Result<Html<String>, ConsoleError> {
    let (hours, window) = match given(query.window.as_ref()) {
        None | Some("24h") => (24, "the last 24 hours"),
        Some("7d") => (168, "the last 7 days"),
        Some(other) => {
            return Err(ConsoleError::BadRequest(format!(
                "unknown window `{other}` (24h or 7d)"
            )));
        }
    };
    let status = console.ledger().status().await?;
    let first_hour = HourlyDeliveries::hour_of(Timestamp::now()) - (hours - 1) * 3600;
    let since = chrono::DateTime::from_timestamp(first_hour, 0)
        .map_or(Timestamp::EPOCH, |t| Timestamp::from(t.naive_utc()));
    let activity = console.ledger().activity(since).await?;

    let mut body = String::new();
    if let Some(n) = query.replayed {
        let _ = write!(
            body,
            "<p class=\"notice\">replayed {n} deliveries: `retry` sends them</p>"
        );
    }
    let c = status.counts;
    body.push_str("<div class=\"summary\">");
    for (state, n) in [
        ("sent", c.sent),
        ("pending", c.pending),
        ("failed", c.failed),
        ("dead", c.dead),
        ("quarantined", c.quarantined_alerts),
    ] {
        let _ = write!(
            body,
            "<div data-total=\"{state}\"><b>{n}</b><a href=\"{}\">{state}</a></div>",
            list_link(state, None)
        );
    }
    let oldest = status.oldest_unsent.map_or_else(
        || "<b>none</b>oldest pending alert".to_owned(),
        |created| {
            format!(
                "<b>{}</b>oldest pending alert <span class=\"muted\">(created {created})</span>",
                age(Timestamp::now().unix_seconds() - created.unix_seconds())
            )
        },
    );
    let _ = write!(
        body,
        "<div data-total=\"oldest-pending\">{oldest}</div></div>"
    );

    body.push_str("<h2>Deliveries by output</h2><table><tr><th>output</th>");
    for state in STATES {
        let _ = write!(body, "<th class=\"n\">{}</th>", state_badge(state.as_str()));
    }
    body.push_str("<th></th></tr>");
    for (output, counts) in &status.by_output {
        let _ = write!(
            body,
            "<tr><td><a href=\"/deliveries?output={}\">{}</a></td>",
            url_encode(output),
            escape(output)
        );
        for state in STATES {
            let n = counts.get(&state).copied().unwrap_or(0);
            let _ = write!(
                body,
                "<td class=\"n\" data-cell=\"{} {state}\"><a href=\"{}\">{n}</a></td>",
                escape(output),
                list_link(state.as_str(), Some(output))
            );
        }
        let dead = counts.get(&DeliveryState::Dead).copied().unwrap_or(0);
        let button = if dead > 0 {
            console.button(
                "/replay-dead",
                &[("output", output)],
                &format!("replay {dead} dead"),
            )
        } else {
            String::new()
        };
        let _ = write!(body, "<td>{button}</td></tr>");
    }
    if status.by_output.is_empty() {
        body.push_str("<tr><td colspan=\"6\" class=\"muted\">no deliveries recorded</td></tr>");
    }
    body.push_str("</table>");

    let _ = write!(
        body,
        "<h2>Deliveries per hour by state, {window} (UTC)</h2>\
         <p><a href=\"/?window=24h\">24 hours</a> · <a href=\"/?window=7d\">7 days</a> \
         <span class=\"legend\">{}</span></p>{}\
         <p class=\"muted\">Each delivery counts once, in the hour it was last updated, in its state now.</p>",
        chart::legend(),
        chart::svg(&activity, first_hour, usize::try_from(hours).unwrap_or(24))
    );
    Ok(layout("Overview", &body))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
    output: Option<String>,
    rule: Option<String>,
    page: Option<usize>,
}

/// One row of a list: an alert and one of its deliveries (none for a quarantined alert).
struct Row {
    alert_id: String,
    rule: String,
    delivery: Option<DeliveryRecord>,
    /// Why a quarantined alert is set aside.
    reason: Option<String>,
}

async fn deliveries(
    State(console): State<Console>,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    let state = given(query.state.as_ref());
    let output = given(query.output.as_ref());
    let rule = given(query.rule.as_ref());
    let rows: Vec<Row> = if state == Some("quarantined") {
        console
            .ledger()
            .quarantined()
            .await?
            .into_iter()
            .filter(|q| rule.is_none_or(|r| r == q.key.rule_name) && output.is_none())
            .map(|q| Row {
                alert_id: q.key.alert_id,
                rule: q.key.rule_name,
                delivery: None,
                reason: Some(q.reason),
            })
            .collect()
    } else {
        let filter = DeliveryFilter {
            state: state
                .map(|s| {
                    s.parse().map_err(|e| {
                        ConsoleError::BadRequest(format!(
                            "{e} (pending, sent, failed, dead or quarantined)"
                        ))
                    })
                })
                .transpose()?,
            output: output.map(str::to_owned),
        };
        let mut rows = Vec::new();
        for entry in console.ledger().list(filter.clone()).await? {
            let LedgerEntry {
                alert, deliveries, ..
            } = entry;
            if rule.is_some_and(|r| r != alert.rule_name) {
                continue;
            }
            for delivery in deliveries {
                if filter.selects(&delivery.output, delivery.state) {
                    rows.push(Row {
                        alert_id: alert.alert_id.clone(),
                        rule: alert.rule_name.clone(),
                        delivery: Some(delivery),
                        reason: None,
                    });
                }
            }
        }
        rows
    };
    let outputs = console.ledger().status().await?.by_output;

    let mut body = String::from("<form class=\"filter\" method=\"get\" action=\"/deliveries\">");
    body.push_str("<label>state<select name=\"state\"><option value=\"\">any</option>");
    for option in ["pending", "sent", "failed", "dead", "quarantined"] {
        let selected = if state == Some(option) {
            " selected"
        } else {
            ""
        };
        let _ = write!(body, "<option{selected}>{option}</option>");
    }
    body.push_str(
        "</select></label><label>output<select name=\"output\"><option value=\"\">any</option>",
    );
    for name in outputs.keys() {
        let selected = if output == Some(name.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(body, "<option{selected}>{}</option>", escape(name));
    }
    let _ = write!(
        body,
        "</select></label><label>rule<input name=\"rule\" value=\"{}\"></label>\
         <button type=\"submit\">filter</button></form>",
        escape(rule.unwrap_or_default())
    );

    let pages = rows.len().div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let _ = write!(
        body,
        "<p class=\"muted\" data-rows=\"{}\">{} deliveries; page {page} of {pages}</p>",
        rows.len(),
        rows.len()
    );
    body.push_str("<table><tr><th>alert</th><th>rule</th><th>output</th><th>state</th><th>attempts</th><th>updated</th><th>last error</th><th></th></tr>");
    for row in rows.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        let link = format!(
            "<a href=\"/alerts/{}\">{}</a>",
            url_encode(&row.alert_id),
            escape(&row.alert_id)
        );
        match &row.delivery {
            Some(d) => {
                let button = if matches!(d.state, DeliveryState::Failed | DeliveryState::Dead) {
                    console.button(
                        "/replay",
                        &[("alert_id", &row.alert_id), ("output", &d.output)],
                        "replay",
                    )
                } else {
                    String::new()
                };
                let _ = write!(
                    body,
                    "<tr data-row=\"{} {} {}\"><td>{link}</td><td>{}</td><td>{}</td><td>{}</td>\
                     <td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{button}</td></tr>",
                    escape(&row.alert_id),
                    escape(&d.output),
                    d.state,
                    escape(&row.rule),
                    escape(&d.output),
                    state_badge(d.state.as_str()),
                    d.attempts,
                    d.updated.map(|t| t.to_string()).unwrap_or_default(),
                    escape(d.last_error.as_deref().unwrap_or_default()),
                );
            }
            None => {
                let button = console.button("/replay", &[("alert_id", &row.alert_id)], "replay");
                let _ = write!(
                    body,
                    "<tr data-row=\"{} quarantined\"><td>{link}</td><td>{}</td><td></td><td>{}</td>\
                     <td></td><td></td><td>{}</td><td>{button}</td></tr>",
                    escape(&row.alert_id),
                    escape(&row.rule),
                    state_badge("quarantined"),
                    escape(row.reason.as_deref().unwrap_or_default()),
                );
            }
        }
    }
    body.push_str("</table><div class=\"paging\">");
    let page_link = |n: usize| {
        let mut link = format!("/deliveries?page={n}");
        for (name, value) in [("state", state), ("output", output), ("rule", rule)] {
            if let Some(value) = value {
                let _ = write!(link, "&amp;{name}={}", url_encode(value));
            }
        }
        link
    };
    if page > 1 {
        let _ = write!(body, "<a href=\"{}\">previous</a>", page_link(page - 1));
    }
    if page < pages {
        let _ = write!(body, "<a href=\"{}\">next</a>", page_link(page + 1));
    }
    body.push_str("</div>");
    Ok(layout("Deliveries", &body))
}

#[derive(Debug, Deserialize)]
struct AlertQuery {
    replayed: Option<u64>,
}

/// The key of `alert_id`, or 404.
async fn key_of(console: &Console, alert_id: &str) -> Result<AlertKey, ConsoleError> {
    console
        .ledger()
        .find(alert_id.to_owned())
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("alert {alert_id} is not in the ledger")))
}

/// JSON, pretty-printed and escaped.
fn json_block(value: &serde_json::Value) -> String {
    format!(
        "<pre>{}</pre>",
        escape(&serde_json::to_string_pretty(value).unwrap_or_default())
    )
}

async fn alert(
    State(console): State<Console>,
    Path(alert_id): Path<String>,
    Query(query): Query<AlertQuery>,
) -> Result<Html<String>, ConsoleError> {
    let key = key_of(&console, &alert_id).await?;
    let mut body = String::new();
    if let Some(n) = query.replayed {
        let _ = write!(
            body,
            "<p class=\"notice\">replayed {n} deliveries: `retry` sends them</p>"
        );
    }
    let quarantined = console
        .ledger()
        .quarantined()
        .await?
        .into_iter()
        .find(|q| q.key == key);
    if let Some(q) = quarantined {
        let _ = write!(
            body,
            "<p>rule: {}</p><p>{} {}</p>{}",
            escape(&key.rule_name),
            state_badge("quarantined"),
            escape(&q.reason),
            console.button("/replay", &[("alert_id", &key.alert_id)], "replay")
        );
        return Ok(layout(&format!("Alert {alert_id}"), &body));
    }
    let entry =
        console.ledger().get(key).await?.ok_or_else(|| {
            ConsoleError::NotFound(format!("alert {alert_id} is not in the ledger"))
        })?;
    let alert = &entry.alert;
    let status = match &entry.status {
        AlertStatus::Open => "open".to_owned(),
        AlertStatus::Complete => "complete".to_owned(),
        AlertStatus::Merged { into } => format!("merged into {into}"),
    };
    let _ = write!(
        body,
        "<table><tr><th>rule</th><td>{}</td></tr><tr><th>status</th><td>{}</td></tr>\
         <tr><th>created</th><td>{}</td></tr><tr><th>dispatched</th><td>{}</td></tr>\
         <tr><th>delivery passes</th><td>{}</td></tr></table>",
        escape(&alert.rule_name),
        escape(&status),
        alert.created,
        alert.dispatched,
        alert.attempts
    );
    body.push_str("<h2>Deliveries</h2><table><tr><th>output</th><th>state</th><th>attempts</th><th>updated</th><th>last error</th><th></th></tr>");
    for d in &entry.deliveries {
        let button = if matches!(d.state, DeliveryState::Failed | DeliveryState::Dead) {
            console.button(
                "/replay",
                &[("alert_id", &alert.alert_id), ("output", &d.output)],
                "replay",
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr data-row=\"{} {}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{button}</td></tr>",
            escape(&d.output),
            d.state,
            escape(&d.output),
            state_badge(d.state.as_str()),
            d.attempts,
            d.updated.map(|t| t.to_string()).unwrap_or_default(),
            escape(d.last_error.as_deref().unwrap_or_default())
        );
    }
    body.push_str("</table><h2>Publication per output</h2>");
    for output in &alert.outputs {
        let (service, descriptor) = output.split_once(':').unwrap_or((output, ""));
        let chain = Chain::for_output(&alert.publishers, service, descriptor);
        let _ = write!(
            body,
            "<h3>{} <span class=\"muted\">({})</span></h3>",
            escape(output),
            escape(&chain.names().join(", "))
        );
        match chain.publish(alert) {
            Ok(publication) => {
                body.push_str(&json_block(&serde_json::Value::Object(
                    publication.into_map(),
                )));
            }
            Err(error) => {
                let _ = write!(
                    body,
                    "<p class=\"error\">{}</p>",
                    escape(&error.to_string())
                );
            }
        }
    }
    body.push_str("<h2>Record</h2>");
    body.push_str(&json_block(&alert.record));
    Ok(layout(&format!("Alert {alert_id}"), &body))
}

#[derive(Debug, Deserialize)]
struct ReplayForm {
    csrf: Option<String>,
    alert_id: String,
    output: Option<String>,
}

async fn replay(
    State(console): State<Console>,
    Extension(operator): Extension<Operator>,
    Form(form): Form<ReplayForm>,
) -> Result<Redirect, ConsoleError> {
    console.check_action(form.csrf.as_deref())?;
    let key = key_of(&console, &form.alert_id).await?;
    let output = given(form.output.as_ref()).map(str::to_owned);
    let changed = console.ledger().replay(vec![key], output.clone()).await?;
    tracing::info!(
        operator = %operator,
        at = %Timestamp::now(),
        alert_id = form.alert_id,
        output = output.as_deref().unwrap_or("every output"),
        changed,
        "console: replay"
    );
    Ok(Redirect::to(&format!(
        "/alerts/{}?replayed={changed}",
        url_encode(&form.alert_id)
    )))
}

#[derive(Debug, Deserialize)]
struct ReplayDeadForm {
    csrf: Option<String>,
    output: String,
}

async fn replay_dead(
    State(console): State<Console>,
    Extension(operator): Extension<Operator>,
    Form(form): Form<ReplayDeadForm>,
) -> Result<Redirect, ConsoleError> {
    console.check_action(form.csrf.as_deref())?;
    let filter = DeliveryFilter {
        state: Some(DeliveryState::Dead),
        output: Some(form.output.clone()),
    };
    let keys: Vec<AlertKey> = console
        .ledger()
        .list(filter)
        .await?
        .iter()
        .map(|entry| AlertKey::of(&entry.alert))
        .collect();
    let alerts = keys.len();
    let changed = console
        .ledger()
        .replay(keys, Some(form.output.clone()))
        .await?;
    tracing::info!(
        operator = %operator,
        at = %Timestamp::now(),
        output = form.output,
        alerts,
        changed,
        "console: replay every dead delivery of an output"
    );
    Ok(Redirect::to(&format!("/?replayed={changed}")))
}
