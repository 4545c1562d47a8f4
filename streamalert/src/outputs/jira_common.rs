//! What `jira` (Jira Server, session cookie) and `jira-v2` (Jira Cloud, API token) share: the
//! ticket's summary and description, the JQL search, and the search → comment → create flow
//! (spec `outputs.md` §2.12–§2.13). The two outputs differ only in how a request is
//! authenticated (`Auth`).

use crate::alert::{Alert, is_falsy};
use crate::json::{PythonJson, py_str};
use crate::output::http::{Http, HttpRequest, Method, Url};
use crate::output::{Credentials, Delivery, DispatchError, ErrorKind};
use crate::publisher::Publication;
use serde_json::{Value, json};

/// The session endpoint of Jira Server (`jira` logs in there).
pub const LOGIN_PATH: &str = "rest/auth/1/session";
/// The issue search endpoint.
pub const SEARCH_PATH: &str = "rest/api/2/search";
/// The issue creation endpoint.
pub const ISSUE_PATH: &str = "rest/api/2/issue";

/// Credentials of the Jira outputs that are configuration, not secrets: they may appear in
/// errors and logs. Passwords, API keys and the Server user name are redacted.
pub(crate) const PUBLIC_CREDENTIALS: &[&str] =
    &["url", "project_key", "issue_type", "aggregate", "user_name"];

/// The summary and description of the Jira issue (or comment) for one alert.
///
/// * `@jira.issue_summary` → [`summary`](Self::summary), default `StreamAlert <rule name>`;
/// * `@jira.description` → [`description`](Self::description), default
///   `{code:JSON}<publication as json.dumps(sort_keys=True)>{code}`.
///
/// `jira-v2` reads the same `@jira.*` keys (there are no `@jira-v2.*` keys).
///
/// ```
/// use streamalert::{Alert, Publication, outputs::jira_common::Ticket};
/// let alert = Alert::new("root_login", serde_json::json!({}), ["jira:soc"]);
/// let mut publication = Publication::new();
/// publication.insert("b", 1);
/// publication.insert("a", "é");
/// let ticket = Ticket::new(&alert, &publication);
/// assert_eq!(ticket.summary, "StreamAlert root_login");
/// assert_eq!(ticket.description, r#"{code:JSON}{"a": "\u00e9", "b": 1}{code}"#);
///
/// publication.insert("@jira.issue_summary", "Root login");
/// assert_eq!(Ticket::new(&alert, &publication).summary, "Root login");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Ticket {
    /// The issue summary (a publisher may set any JSON value; it is sent as given).
    pub summary: Value,
    /// The issue description, also the body of a comment on an existing issue.
    pub description: Value,
}

impl Ticket {
    /// The ticket of `alert` as `publication` lays it out.
    pub fn new(alert: &Alert, publication: &Publication) -> Self {
        let summary = publication
            .get("@jira.issue_summary")
            .cloned()
            .unwrap_or_else(|| format!("StreamAlert {}", alert.rule_name).into());
        let description = publication
            .get("@jira.description")
            .cloned()
            .unwrap_or_else(|| {
                let dumped = PythonJson::DEFAULT
                    .sort_keys()
                    .dump_object(publication.entries());
                format!("{{code:JSON}}{dumped}{{code}}").into()
            });
        Self {
            summary,
            description,
        }
    }
}

/// The JQL that finds an existing issue with this summary in this project:
/// `summary ~ "<summary>" and project="<project key>"`.
///
/// Decision Q9: inside each JQL string literal, `\` and `"` are escaped with a backslash, so a
/// summary cannot end the literal and change the query; a summary without those characters
/// gives exactly StreamAlert's query.
///
/// ```
/// use streamalert::outputs::jira_common::search_jql;
/// assert_eq!(
///     search_jql(&"StreamAlert r".into(), "SEC"),
///     r#"summary ~ "StreamAlert r" and project="SEC""#
/// );
/// assert_eq!(
///     search_jql(&r#"x" or summary ~ "\"#.into(), "SEC"),
///     r#"summary ~ "x\" or summary ~ \"\\" and project="SEC""#
/// );
/// ```
pub fn search_jql(summary: &Value, project_key: &str) -> String {
    format!(
        "summary ~ \"{}\" and project=\"{}\"",
        jql_escape(&py_str(summary)),
        jql_escape(project_key)
    )
}

/// `text` escaped for a double-quoted JQL string literal (decision Q9).
fn jql_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '"') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The value of an `Authorization: Basic` header: `Basic base64("<user>:<secret>")`
/// (standard alphabet, padded), as Python's `requests` and StreamAlert's GitHub output send it.
pub(crate) fn basic_authorization(user: &str, secret: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    format!("Basic {encoded}")
}

/// `credentials` plus secrets derived from them or from a login (a session cookie, an
/// `Authorization` header value), so that an [`Http`] built over them redacts those too.
pub(crate) fn with_derived_secrets(
    credentials: &Credentials,
    secrets: &[(&str, &str)],
) -> Credentials {
    let mut credentials = credentials.clone();
    for (name, value) in secrets {
        credentials.insert(*name, *value);
    }
    credentials
}

/// How the requests of a Jira delivery are authenticated.
#[derive(Clone)]
pub(crate) enum Auth {
    /// Jira Server: `Content-Type: application/json` and the session cookie on every call.
    Session {
        /// `<session name>=<session value>` from the login reply.
        cookie: String,
    },
    /// Jira Cloud: `Accept: application/json` and `Authorization: Basic …` on every call.
    Basic {
        /// The whole `Authorization` header value.
        authorization: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Session { .. } => "Session([REDACTED])",
            Self::Basic { .. } => "Basic([REDACTED])",
        })
    }
}

/// One Jira delivery after authentication: which server, as whom, into which project.
pub(crate) struct Project<'a> {
    pub(crate) http: Http<'a>,
    pub(crate) base: Url,
    pub(crate) auth: Auth,
    pub(crate) project_key: &'a str,
    pub(crate) issue_type: &'a str,
    /// `aggregate` is `yes` (any case): add alerts of the same summary to one issue.
    pub(crate) aggregate: bool,
}

/// The HTTP context of a Jira delivery: secrets redacted, configuration shown.
pub(crate) fn http<'a>(service: &str, delivery: &Delivery<'a>) -> Http<'a> {
    Http::new(service, delivery).public(PUBLIC_CREDENTIALS)
}

/// `<base>/<path>` (decision Q1 for `jira-v2`: the base URL, without its trailing slash, is
/// always kept).
pub(crate) fn url(base: &Url, path: &str) -> Result<Url, DispatchError> {
    Http::join(base, path)
}

/// Whether the stored `aggregate` asks for aggregation (`yes`, any case; absent: no).
pub(crate) fn aggregate(http: &Http<'_>) -> bool {
    http.credential("aggregate")
        .is_ok_and(|value| value.to_lowercase() == "yes")
}

impl<'a> Project<'a> {
    /// Sends `ticket`: with aggregation, as a comment on the existing issue of the same
    /// summary if there is one and the comment succeeds; otherwise as a new issue.
    pub(crate) async fn deliver(&self, ticket: &Ticket) -> Result<(), DispatchError> {
        if self.aggregate
            && let Some(issue) = self.existing_issue(&ticket.summary).await?
        {
            if self.comment(issue, &ticket.description).await? {
                tracing::debug!(output = %self.http.output(), "Sending alert to an existing Jira issue {issue}");
                return Ok(());
            }
            tracing::error!(
                output = %self.http.output(),
                "Encountered an error when adding alert to existing Jira issue {issue}. Attempting to create new Jira issue."
            );
        }
        self.create(ticket).await
    }

    /// A request with this delivery's authentication headers.
    fn request(&self, method: Method, path: &str) -> Result<HttpRequest<'_>, DispatchError> {
        let request = self.http.request(method, url(&self.base, path)?);
        Ok(match &self.auth {
            Auth::Session { cookie } => request
                .header("Content-Type", "application/json")
                .header("cookie", cookie.clone()),
            Auth::Basic { authorization } => request
                .header("Accept", "application/json")
                .header("Authorization", authorization.clone()),
        })
    }

    /// The id of the first issue whose summary matches, if any. A search the service refused
    /// (an HTTP error status, after retries) counts as "none found", as in StreamAlert; a
    /// search that never got an answer fails the delivery.
    async fn existing_issue(&self, summary: &Value) -> Result<Option<i64>, DispatchError> {
        let request = self
            .request(Method::GET, SEARCH_PATH)?
            .query("jql", &search_jql(summary, self.project_key))
            .query("maxResults", "1")
            .query("validateQuery", "True")
            .query("fields", "id")
            .query("fields", "summary");
        let reply = match request.send().await {
            Ok(reply) => reply.json()?,
            Err(error) if error.status().is_some() => {
                tracing::warn!(output = %self.http.output(), error = %error, "the Jira search failed; a new issue is created");
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let first = reply
            .get("issues")
            .and_then(Value::as_array)
            .and_then(|issues| issues.first());
        let Some(issue) = first else {
            tracing::debug!(output = %self.http.output(), "Existing Jira issue not found");
            return Ok(None);
        };
        match issue.get("id").and_then(python_int) {
            Some(0) => Ok(None), // a falsy id is "not found" in StreamAlert
            Some(id) => Ok(Some(id)),
            None => Err(self.http.error(
                ErrorKind::InvalidResponse,
                format!(
                    "the Jira search answered an issue without a numeric \"id\": {}",
                    elided(issue)
                ),
            )),
        }
    }

    /// Adds `description` as a comment to issue `issue`; `false` when Jira refused it or
    /// answered without a comment id (the caller then creates an issue).
    async fn comment(&self, issue: i64, description: &Value) -> Result<bool, DispatchError> {
        let request = self
            .request(Method::POST, &format!("{ISSUE_PATH}/{issue}/comment"))?
            .json(&json!({"body": description}));
        match request.send().await {
            Ok(reply) => Ok(reply.json()?.get("id").is_some_and(|id| !is_falsy(id))),
            Err(error) if error.status().is_some() => {
                tracing::warn!(output = %self.http.output(), error = %error, "the Jira comment failed");
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Creates a new issue; success needs an issue id in the reply.
    async fn create(&self, ticket: &Ticket) -> Result<(), DispatchError> {
        let body = json!({"fields": {
            "project": {"key": self.project_key},
            "summary": ticket.summary,
            "description": ticket.description,
            "issuetype": {"name": self.issue_type},
        }});
        let reply = self
            .request(Method::POST, ISSUE_PATH)?
            .json(&body)
            .send()
            .await?
            .json()?;
        match reply.get("id").filter(|id| !is_falsy(id)) {
            Some(id) => {
                tracing::debug!(output = %self.http.output(), "Sending alert to a new Jira issue {}", py_str(id));
                Ok(())
            }
            None => Err(self.http.error(
                ErrorKind::InvalidResponse,
                format!(
                    "Jira answered the issue creation without an issue \"id\": {}",
                    elided(&reply)
                ),
            )),
        }
    }
}

/// Python's `int()` of a JSON value: an integer, or a string holding one (surrounding
/// whitespace allowed). Floats are truncated, as `int(1.9)` is `1`.
fn python_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.0e18)
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A reply value as an error quotes it: compact JSON, elided to 200 code points.
fn elided(value: &Value) -> String {
    crate::text::elide_string_middle(&PythonJson::DEFAULT.dump(value), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization_matches_the_vectors() {
        assert_eq!(
            basic_authorization("user@company.com", "xxxxyyyyyyyzzzzzzz"),
            "Basic dXNlckBjb21wYW55LmNvbTp4eHh4eXl5eXl5eXp6enp6eno="
        );
        assert_eq!(
            basic_authorization("unit_test_user", "unit_test_access_token"),
            "Basic dW5pdF90ZXN0X3VzZXI6dW5pdF90ZXN0X2FjY2Vzc190b2tlbg=="
        );
        assert_eq!(basic_authorization("a", ""), "Basic YTo=");
        assert_eq!(basic_authorization("ab", "c"), "Basic YWI6Yw==");
        assert_eq!(basic_authorization("ab", "cd"), "Basic YWI6Y2Q=");
    }

    #[test]
    fn python_int_accepts_what_int_accepts() {
        assert_eq!(python_int(&json!("10001")), Some(10001));
        assert_eq!(python_int(&json!(" 7 ")), Some(7));
        assert_eq!(python_int(&json!(5000)), Some(5000));
        assert_eq!(python_int(&json!(1.9)), Some(1));
        assert_eq!(python_int(&json!("ABC-1")), None);
        assert_eq!(python_int(&json!(null)), None);
    }

    #[test]
    fn q9_jql_escapes_quotes_and_backslashes() {
        assert_eq!(
            search_jql(&json!(r#"a "b" \c"#), "P\"K"),
            r#"summary ~ "a \"b\" \\c" and project="P\"K""#
        );
        assert_eq!(
            search_jql(&json!(5), "K"),
            r#"summary ~ "5" and project="K""#
        );
    }
}
