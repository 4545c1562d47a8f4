//! `jira`: Jira Server with a session cookie (spec `outputs.md` §2.12).

use super::jira_common::{self as common, Auth, LOGIN_PATH, Project, Ticket};
use crate::json::py_str;
use crate::output::http::{Http, Url};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use serde_json::json;

const SERVICE: &str = "jira";

/// Opens a Jira Server issue for an alert, or comments on an open one.
///
/// Properties: `descriptor`; `username`, `password` (masked, secret); `url` (the Jira base URL;
/// masked, secret, only spaces forbidden — decision Q6); `project_key`, `issue_type`,
/// `aggregate` (`yes`/`no`; secret, not masked).
///
/// Publication keys: `@jira.issue_summary` and `@jira.description` (see [`Ticket`]).
///
/// Flow:
/// 1. log in: `POST <url>/rest/auth/1/session` with `{"username", "password"}`; the session
///    cookie `<name>=<value>` of the reply authenticates every later call (with
///    `Content-Type: application/json`); a refused login fails the delivery
///    (`Failed to authenticate to Jira`);
/// 2. with `aggregate: yes`: search `GET <url>/rest/api/2/search` for the summary in the
///    project ([`search_jql`](common::search_jql), decision Q9); if an issue is found, comment
///    `POST <url>/rest/api/2/issue/<id>/comment` with `{"body": <description>}`: a comment id in
///    the reply is success; a refused comment falls through to creation;
/// 3. create `POST <url>/rest/api/2/issue` with
///    `{"fields": {"project": {"key"}, "summary", "description", "issuetype": {"name"}}}`;
///    success needs an issue id in the reply.
///
/// TLS certificates are verified unless the descriptor opts out (decision Q8); requests retry
/// under the shared policy (decision Q7).
///
/// ```
/// use streamalert::{Output, outputs::Jira};
/// let properties = Jira.properties();
/// let names: Vec<_> = properties.iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "username", "password", "url", "project_key", "issue_type", "aggregate"]);
/// assert_eq!(properties[3].restrictions, [' ']); // decision Q6
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "jira", builtin)]
pub struct Jira;

#[async_trait::async_trait]
impl Output for Jira {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this Jira integration"),
            OutputProperty::new("username", "the Jira username")
                .masked()
                .secret(),
            OutputProperty::new("password", "the Jira password")
                .masked()
                .secret(),
            OutputProperty::new("url", "the Jira url")
                .masked()
                .secret()
                .forbidding(&[' ']),
            OutputProperty::new("project_key", "the Jira project key").secret(),
            OutputProperty::new("issue_type", "the Jira issue type").secret(),
            OutputProperty::new(
                "aggregate",
                "the Jira aggregation behavior to aggregate alerts by rule name (yes/no)",
            )
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = common::http(SERVICE, delivery);
        let base = http.url_credential("url")?;
        let username = http.credential("username")?;
        let password = http.credential("password")?;
        let project_key = http.credential("project_key")?;
        let issue_type = http.credential("issue_type")?;
        let ticket = Ticket::new(delivery.alert, delivery.publication);
        let (cookie, session) = login(&http, &base, username, password).await?;
        // The session is a secret too: from here on errors and logs redact it.
        let credentials = common::with_derived_secrets(
            delivery.credentials,
            &[("session_cookie", &cookie), ("session", &session)],
        );
        let delivery = delivery.with_credentials(&credentials);
        let project = Project {
            aggregate: common::aggregate(&http),
            auth: Auth::Session { cookie },
            http: common::http(SERVICE, &delivery),
            base,
            project_key,
            issue_type,
        };
        project.deliver(&ticket).await
    }
}

/// Logs in; the session cookie `<name>=<value>` and the session value alone.
async fn login(
    http: &Http<'_>,
    base: &Url,
    username: &str,
    password: &str,
) -> Result<(String, String), DispatchError> {
    let body = json!({"username": username, "password": password});
    let reply = match http
        .post(common::url(base, LOGIN_PATH)?)
        .header("Content-Type", "application/json")
        .json(&body)
        .send()
        .await
    {
        Ok(reply) => reply.json()?,
        Err(error) => {
            tracing::error!(output = %http.output(), "Failed to authenticate to Jira");
            return Err(error);
        }
    };
    let session = |key: &str| reply.get("session").and_then(|s| s.get(key));
    match (session("name"), session("value")) {
        (Some(name), Some(value)) => {
            let value = py_str(value);
            Ok((format!("{}={value}", py_str(name)), value))
        }
        _ => {
            tracing::error!(output = %http.output(), "Failed to authenticate to Jira");
            let what = if crate::alert::is_falsy(&reply) {
                "the Jira login answered an empty reply"
            } else {
                "the Jira login reply has no \"session\" with \"name\" and \"value\""
            };
            Err(http.error(ErrorKind::InvalidResponse, what))
        }
    }
}
