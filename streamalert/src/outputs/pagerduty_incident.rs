//! `pagerduty-incident`: an Events API v2 alert whose incident is then set up through the REST
//! API (spec `outputs.md` §2.17).

use super::pagerduty_common::{self as common, EVENTS_V2_ENQUEUE_URL, events_v2_event};
use crate::alert::is_falsy;
use crate::json::py_str;
use crate::output::full_jitter;
use crate::output::http::{Http, HttpRequest, Method, Url};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use serde_json::{Map, Value, json};
use std::time::Duration;

const SERVICE: &str = "pagerduty-incident";

/// The default property `api`: PagerDuty's REST API.
pub const REST_API_URL: &str = "https://api.pagerduty.com";

const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";
const DEFAULT_NOTE: &str = "Creating SOX Incident";
const DEFAULT_RESPONDER_MESSAGE: &str = "An incident was reported that requires your attention.";

/// The incident search is retried this often (PagerDuty indexes new incidents with a delay)...
const SEARCHES: u32 = 5;
/// ...waiting a random time up to this long between searches (StreamAlert's constant 5 s).
const SEARCH_WAIT_CAP: Duration = Duration::from_secs(5);

/// Creates a PagerDuty alert through the Events API v2, then finds the incident PagerDuty made
/// for it and sets it up through the REST API: title, service, priority, assignee or
/// escalation policy, urgency, responders and a note.
///
/// Properties: `descriptor`, `token` (REST API token; masked, secret), `service_name`,
/// `service_id`, `escalation_policy` (any characters), `escalation_policy_id`, `email_from`
/// (a PagerDuty user of the token's account), `integration_key` (the Events v2 routing key;
/// secret, not masked, as in StreamAlert). Default properties, each overridable by a stored
/// value (decision Q11): `api` = [`REST_API_URL`], `events_url` = [`EVENTS_V2_ENQUEUE_URL`].
///
/// The rule context `alert.context["pagerduty-incident"]` may set `assigned_user` (e-mail),
/// `assigned_policy_id`, `with_record` (default true), `note`, `responders` (an e-mail or a
/// list), `responder_message` and `incident_priority` (a priority *name*).
///
/// Publication keys: every `@pagerduty-v2.*` key (for the event), and
/// `@pagerduty-incident.incident_title` (default
/// `StreamAlert Incident - Rule triggered: <rule>`), `.incident_body` (default the rule
/// description), `.urgency` (`low` or `high`; anything else is logged and left out) and
/// `.note` (before the context's `note`; default `Creating SOX Incident`; empty: no note).
///
/// Flow: verify `email_from` (`GET /users?query=`), enqueue the event, search the incident by
/// its dedup key (up to 5 searches, random waits up to 5 s), `PUT /incidents/<id>`. All of
/// that is idempotent, so any failure there fails the delivery for a later retry. Then,
/// best effort: responder requests and the note; their failures are collected into one
/// closing note on the incident and never fail the delivery.
///
/// ```
/// use streamalert::{Output, outputs::PagerDutyIncident};
/// let properties = PagerDutyIncident.properties();
/// let masked: Vec<_> = properties.iter().filter(|p| p.mask).map(|p| p.name).collect();
/// assert_eq!(masked, ["token"]);
/// assert_eq!(properties.len(), 8);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "pagerduty-incident", builtin)]
pub struct PagerDutyIncident;

#[async_trait::async_trait]
impl Output for PagerDutyIncident {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this PagerDuty integration",
            ),
            OutputProperty::new("token", "the token for this PagerDuty integration")
                .masked()
                .secret(),
            OutputProperty::new(
                "service_name",
                "the service name for this PagerDuty integration",
            )
            .secret(),
            OutputProperty::new(
                "service_id",
                "the service ID for this PagerDuty integration",
            )
            .secret(),
            OutputProperty::new(
                "escalation_policy",
                "the name of the default escalation policy",
            )
            .secret()
            .forbidding(&[]),
            OutputProperty::new(
                "escalation_policy_id",
                "the ID of the default escalation policy",
            )
            .secret(),
            OutputProperty::new(
                "email_from",
                "valid user email from the PagerDuty account linked to the token",
            )
            .secret(),
            OutputProperty::new(
                "integration_key",
                "the integration key for this PagerDuty integration",
            )
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        Work::new(*delivery)?.run().await
    }
}

/// What StreamAlert's `JsonHttpProvider` returns, with the failure kept.
enum Json {
    /// A 2xx reply with non-empty JSON.
    Value(Value),
    /// A 2xx reply with empty or falsy JSON.
    Empty,
    /// A non-2xx reply (after retries).
    Failed(DispatchError),
}

/// One dispatch: the credentials, the rule context and the two endpoints.
struct Work<'a> {
    delivery: Delivery<'a>,
    http: Http<'a>,
    api: Url,
    events: Url,
    token: &'a str,
    email_from: &'a str,
    service_id: &'a str,
    escalation_policy_id: &'a str,
    integration_key: &'a str,
    context: Map<String, Value>,
}

impl<'a> Work<'a> {
    fn new(delivery: Delivery<'a>) -> Result<Self, DispatchError> {
        let http = common::http(SERVICE, &delivery);
        let context = match delivery.alert.context.get(SERVICE) {
            Some(Value::Object(context)) => context.clone(),
            Some(other) if !is_falsy(other) => {
                tracing::warn!(output = %http.output(), "the rule context `{SERVICE}` is not an object; ignored");
                Map::new()
            }
            _ => Map::new(),
        };
        Ok(Self {
            api: http.endpoint("api", REST_API_URL)?,
            events: http.endpoint("events_url", EVENTS_V2_ENQUEUE_URL)?,
            token: http.credential("token")?,
            email_from: http.credential("email_from")?,
            service_id: http.credential("service_id")?,
            escalation_policy_id: http.credential("escalation_policy_id")?,
            integration_key: http.credential("integration_key")?,
            delivery,
            http,
            context,
        })
    }

    async fn run(&self) -> Result<(), DispatchError> {
        let requester = match self.user(self.email_from).await? {
            Json::Value(user) => user,
            other => {
                tracing::error!(output = %self.http.output(), "Could not verify header From: {}, {SERVICE}", self.email_from);
                return Err(self.failure(
                    other,
                    format!("Could not verify header From: {}", self.email_from),
                    ErrorKind::Config,
                ));
            }
        };
        let dedup_key = self.create_event().await?;
        let incident_id = self.find_incident(&dedup_key).await?;
        let incident = self.update_incident(&incident_id).await?;
        // Everything above is idempotent (same dedup key, same incident); what follows is not,
        // so its failures are reported on the incident instead of failing the delivery.
        let mut errors = self.request_responders(&incident, &requester).await;
        if !self.add_note_if_any(&incident).await {
            let error = format!("[{SERVICE}] Failed to add note to incident ({incident})");
            tracing::error!(output = %self.http.output(), "{error}");
            errors.push(error);
        }
        if !errors.is_empty() {
            let lines: Vec<String> = errors.iter().map(|e| format!("- {e}")).collect();
            let note = format!(
                "StreamAlert failed to correctly setup this incident. Please contact your StreamAlert administrator.\n\nErrors:\n{}",
                lines.join("\n")
            );
            self.add_note(&incident, &note.into()).await;
        }
        Ok(())
    }

    /// Enqueues the Events v2 event; the dedup key PagerDuty answers with.
    async fn create_event(&self) -> Result<String, DispatchError> {
        let with_record = self.context.get("with_record").is_none_or(|v| !is_falsy(v));
        let d = &self.delivery;
        let event = events_v2_event(
            d.alert,
            d.descriptor,
            self.integration_key,
            d.publication,
            with_record,
        );
        let request = self
            .http
            .post(self.events.clone())
            .body(event.to_json(), "application/json");
        let reply = match self.call(request).await? {
            Json::Value(reply) => reply,
            other => {
                tracing::error!(output = %self.http.output(), "[{SERVICE}] Could not create incident event");
                return Err(self.failure(
                    other,
                    "Could not create incident event".to_owned(),
                    ErrorKind::InvalidResponse,
                ));
            }
        };
        match reply.get("dedup_key").filter(|k| !is_falsy(k)) {
            Some(key) => Ok(py_str(key)),
            None => Err(self.http.error(
                ErrorKind::InvalidResponse,
                "the Events API reply has no \"dedup_key\"",
            )),
        }
    }

    /// The id of the incident of `dedup_key`, searched up to [`SEARCHES`] times.
    async fn find_incident(&self, dedup_key: &str) -> Result<String, DispatchError> {
        let mut last_failure = None;
        for search in 1..=SEARCHES {
            let request = self
                .rest(Method::GET, &["incidents"], true)?
                .query("incident_key", dedup_key);
            match self.call(request).await? {
                Json::Value(reply) => {
                    if let Some(incident) = first(&reply, "incidents") {
                        return match incident.get("id").filter(|id| !is_falsy(id)) {
                            Some(id) => Ok(py_str(id)),
                            None => Err(self.http.error(
                                ErrorKind::InvalidResponse,
                                format!("Failed to retrieve Event Incident Id from dedup_key ({dedup_key})"),
                            )),
                        };
                    }
                }
                Json::Empty => {}
                Json::Failed(error) => last_failure = Some(error),
            }
            if search < SEARCHES {
                let wait = full_jitter(SEARCH_WAIT_CAP);
                tracing::debug!(output = %self.http.output(), search, wait_ms = wait.as_millis() as u64, "incident not found yet");
                tokio::time::sleep(wait).await;
            }
        }
        let cause = last_failure
            .map(|e| format!("; last failure: {}", e.message()))
            .unwrap_or_default();
        Err(self.http.error(
            ErrorKind::Unavailable,
            format!(
                "no incident found for dedup_key ({dedup_key}) after {SEARCHES} searches{cause}"
            ),
        ))
    }

    /// `PUT /incidents/<id>`; the updated incident's id.
    async fn update_incident(&self, incident_id: &str) -> Result<String, DispatchError> {
        let body = self.incident_body().await?;
        let request = self
            .rest(Method::PUT, &["incidents", incident_id], true)?
            .json(&body);
        let updated = match self.call(request).await? {
            Json::Value(reply) => reply.get("incident").filter(|i| !is_falsy(i)).cloned(),
            Json::Empty => None,
            Json::Failed(error) => {
                tracing::error!(output = %self.http.output(), "[{SERVICE}] Failed to update container incident for event");
                return Err(error);
            }
        };
        let Some(updated) = updated else {
            tracing::error!(output = %self.http.output(), "[{SERVICE}] Failed to update container incident for event");
            return Err(self.http.error(
                ErrorKind::InvalidResponse,
                "Failed to update container incident for event",
            ));
        };
        match updated.get("id").filter(|id| !is_falsy(id)) {
            Some(id) => Ok(py_str(id)),
            None => {
                tracing::error!(output = %self.http.output(), "[{SERVICE}] Incident is missing \"id\"??");
                Err(self.http.error(
                    ErrorKind::InvalidResponse,
                    "the updated incident is missing \"id\"",
                ))
            }
        }
    }

    /// The body of the incident update, in StreamAlert's key order.
    async fn incident_body(&self) -> Result<Value, DispatchError> {
        let d = &self.delivery;
        let field = |name: &str| d.publication.get(&format!("@{SERVICE}.{name}"));
        let title = field("incident_title").cloned().unwrap_or_else(|| {
            format!(
                "StreamAlert Incident - Rule triggered: {}",
                d.alert.rule_name
            )
            .into()
        });
        let details = field("incident_body")
            .cloned()
            .unwrap_or_else(|| json!(d.alert.rule_description));
        let mut incident = Map::new();
        incident.insert("type".into(), "incident".into());
        incident.insert("title".into(), title);
        incident.insert(
            "service".into(),
            json!({"id": self.service_id, "type": "service_reference"}),
        );
        incident.insert(
            "body".into(),
            json!({"type": "incident_body", "details": details}),
        );
        if let Some(priority) = self.priority().await? {
            incident.insert("priority".into(), priority);
        }
        match self.assignments().await? {
            Some(assignments) => {
                incident.insert("assignments".into(), assignments);
            }
            None => {
                let policy = self
                    .context
                    .get("assigned_policy_id")
                    .cloned()
                    .unwrap_or_else(|| self.escalation_policy_id.into());
                incident.insert(
                    "escalation_policy".into(),
                    json!({"id": policy, "type": "escalation_policy_reference"}),
                );
            }
        }
        if let Some(urgency) = field("urgency").filter(|u| !is_falsy(u)) {
            if matches!(urgency.as_str(), Some("low" | "high")) {
                incident.insert("urgency".into(), urgency.clone());
            } else {
                tracing::warn!(output = %self.http.output(), "[{SERVICE}] Invalid pagerduty incident urgency: \"{}\"", py_str(urgency));
            }
        }
        Ok(json!({"incident": incident}))
    }

    /// The priority reference named by the context's `incident_priority`, if PagerDuty has it.
    async fn priority(&self) -> Result<Option<Value>, DispatchError> {
        let Some(name) = self
            .context
            .get("incident_priority")
            .filter(|n| !is_falsy(n))
        else {
            return Ok(None);
        };
        let Json::Value(reply) = self
            .call(self.rest(Method::GET, &["priorities"], true)?)
            .await?
        else {
            tracing::warn!(output = %self.http.output(), "[{SERVICE}] priorities could not be listed; no priority set");
            return Ok(None);
        };
        let id = reply
            .get("priorities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|priority| priority.get("name") == Some(name))
            .and_then(|priority| priority.get("id"))
            .filter(|id| !is_falsy(id));
        Ok(id.map(|id| json!({"id": id, "type": "priority_reference"})))
    }

    /// The assignment to the context's `assigned_user`, if PagerDuty knows the user.
    async fn assignments(&self) -> Result<Option<Value>, DispatchError> {
        let Some(email) = self.context.get("assigned_user").filter(|e| !is_falsy(e)) else {
            return Ok(None);
        };
        let email = py_str(email);
        if let Json::Value(user) = self.user(&email).await?
            && let Some(id) = user.get("id").filter(|id| !is_falsy(id))
        {
            return Ok(Some(
                json!([{"assignee": {"id": id, "type": "user_reference"}}]),
            ));
        }
        tracing::warn!(output = %self.http.output(), "[{SERVICE}] Assignee ({email}) could not be found in PagerDuty");
        Ok(None)
    }

    /// Requests each responder of the context; the errors of those that failed.
    async fn request_responders(&self, incident: &str, requester: &Value) -> Vec<String> {
        let responders = match self.context.get("responders") {
            Some(Value::Array(list)) => list.clone(),
            Some(one) if !is_falsy(one) => vec![one.clone()],
            _ => Vec::new(),
        };
        let message = self
            .context
            .get("responder_message")
            .cloned()
            .unwrap_or_else(|| DEFAULT_RESPONDER_MESSAGE.into());
        let mut errors = Vec::new();
        for responder in responders {
            let email = py_str(&responder);
            if !self
                .request_responder(incident, requester, &message, &email)
                .await
            {
                let error = format!(
                    "[{SERVICE}] Failed to request a responder ({email}) on incident ({incident})"
                );
                tracing::error!(output = %self.http.output(), "{error}");
                errors.push(error);
            }
        }
        errors
    }

    async fn request_responder(
        &self,
        incident: &str,
        requester: &Value,
        message: &Value,
        email: &str,
    ) -> bool {
        let responder = match self.user(email).await {
            Ok(Json::Value(user)) => user,
            _ => {
                tracing::error!(output = %self.http.output(), "Could not verify if requested incident responder \"{email}\" exists");
                return false;
            }
        };
        let body = json!({
            "requester_id": requester.get("id"),
            "message": message,
            "responder_request_targets": [{
                "responder_request_target": {"id": responder.get("id"), "type": "user_reference"},
            }],
        });
        let request = self
            .rest(
                Method::POST,
                &["incidents", incident, "responder_requests"],
                true,
            )
            .map(|r| r.json(&body));
        self.best_effort(request, "responder_request").await
    }

    /// Adds the publication's, else the context's, else the legacy note; `true` when there
    /// is none to add.
    async fn add_note_if_any(&self, incident: &str) -> bool {
        let note = self
            .delivery
            .publication
            .get(&format!("@{SERVICE}.note"))
            .or_else(|| self.context.get("note"))
            .cloned()
            .unwrap_or_else(|| DEFAULT_NOTE.into());
        is_falsy(&note) || self.add_note(incident, &note).await
    }

    async fn add_note(&self, incident: &str, content: &Value) -> bool {
        let body = json!({"note": {"content": content}});
        let request = self
            .rest(Method::POST, &["incidents", incident, "notes"], true)
            .map(|r| r.json(&body));
        self.best_effort(request, "note").await
    }

    /// Sends a request whose failure must not fail the delivery; `true` when the reply holds
    /// a truthy `key`.
    async fn best_effort(
        &self,
        request: Result<HttpRequest<'_>, DispatchError>,
        key: &str,
    ) -> bool {
        let outcome = match request {
            Ok(request) => self.call(request).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(Json::Value(reply)) => reply.get(key).is_some_and(|v| !is_falsy(v)),
            Ok(_) => false,
            Err(error) => {
                tracing::error!(output = %self.http.output(), %error, "request failed");
                false
            }
        }
    }

    /// The first user PagerDuty finds for `email` (`GET /users?query=`, without `From`).
    async fn user(&self, email: &str) -> Result<Json, DispatchError> {
        let request = self
            .rest(Method::GET, &["users"], false)?
            .query("query", email);
        Ok(match self.call(request).await? {
            Json::Value(reply) => first(&reply, "users").map_or(Json::Empty, Json::Value),
            other => other,
        })
    }

    /// A REST API request to `<api>/<segments…>` with PagerDuty's headers (`From` unless
    /// `with_from` is false).
    fn rest(
        &self,
        method: Method,
        segments: &[&str],
        with_from: bool,
    ) -> Result<HttpRequest<'_>, DispatchError> {
        let mut url = Http::join(&self.api, "")?;
        url.path_segments_mut()
            .map_err(|()| {
                self.http
                    .error(ErrorKind::Config, "the `api` URL cannot take a path")
            })?
            .pop_if_empty()
            .extend(segments);
        let request = self
            .http
            .request(method, url)
            .header("Accept", ACCEPT)
            .header("Authorization", format!("Token token={}", self.token))
            .header("Content-Type", "application/json");
        Ok(if with_from {
            request.header("From", self.email_from)
        } else {
            request
        })
    }

    /// Sends `request`: HTTP failures become [`Json::Failed`] (StreamAlert's `False`), transport
    /// failures and replies that are not JSON are errors.
    async fn call(&self, request: HttpRequest<'_>) -> Result<Json, DispatchError> {
        match request.send().await {
            Ok(reply) => Ok(match common::truthy_json(&reply)? {
                Some(value) => Json::Value(value),
                None => Json::Empty,
            }),
            Err(error) if error.status().is_some_and(|s| !(200..300).contains(&s)) => {
                tracing::error!(output = %self.http.output(), %error, "Encountered HTTP error");
                Ok(Json::Failed(error))
            }
            Err(error) => Err(error),
        }
    }

    /// The error of a step that got no usable reply: the HTTP failure itself, else `what`.
    fn failure(&self, outcome: Json, what: String, kind: ErrorKind) -> DispatchError {
        match outcome {
            Json::Failed(error) => error,
            _ => self.http.error(kind, what),
        }
    }
}

/// `reply[key][0]` when it is truthy.
fn first(reply: &Value, key: &str) -> Option<Value> {
    reply
        .get(key)?
        .as_array()?
        .first()
        .filter(|v| !is_falsy(v))
        .cloned()
}
