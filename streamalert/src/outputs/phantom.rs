//! `phantom`: a Phantom (Splunk SOAR) artifact in the container of the alert's rule (spec
//! `outputs.md` §2.18).

use crate::alert::{Alert, is_falsy};
use crate::output::http::{Http, HttpRequest, Url};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use crate::publisher::Publication;
use serde_json::{Value, json};

const SERVICE: &str = "phantom";

/// The container endpoint below the Phantom URL.
pub const CONTAINER_PATH: &str = "rest/container";
/// The artifact endpoint below the Phantom URL.
pub const ARTIFACT_PATH: &str = "rest/artifact";

/// Adds an artifact for each alert to a Phantom container named after the alert's rule,
/// creating the container when there is none.
///
/// Properties: `descriptor`; `ph_auth_token` (masked, secret); `url` (the Phantom base URL;
/// masked, secret, only spaces forbidden).
///
/// Publication keys: none; the whole publication is the artifact's `data`, the alert's
/// record its `cef`.
///
/// Flow (every call with `ph-auth-token: <token>`):
/// 1. find the container: `GET <url>/rest/container?_filter_name="<rule>"&page_size=1`; a
///    truthy `count` means `data[0].id` is the container. A search the service refused (an
///    HTTP error status, after retries) counts as "not found", as in StreamAlert;
/// 2. otherwise create it: `POST <url>/rest/container` with `{"name": <rule>, "description":
///    <rule description>}`; the reply's `id` is the container (no id: the delivery fails);
/// 3. `POST <url>/rest/artifact` with [`artifact`]; any 2xx is success.
///
/// Unlike StreamAlert, TLS certificates are verified unless the descriptor opts out
/// (decision Q8).
///
/// ```
/// use streamalert::{Output, outputs::Phantom};
/// let names: Vec<_> = Phantom.properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "ph_auth_token", "url"]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "phantom", builtin)]
pub struct Phantom;

#[async_trait::async_trait]
impl Output for Phantom {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Phantom integration",
            ),
            OutputProperty::new(
                "ph_auth_token",
                "the auth token for this Phantom integration",
            )
            .masked()
            .secret(),
            OutputProperty::new("url", "the endpoint url for this Phantom integration")
                .masked()
                .secret()
                .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).public(&["url"]);
        let phantom = Session {
            token: http.credential("ph_auth_token")?,
            base: http.url_credential("url")?,
            http,
        };
        let alert = delivery.alert;
        let container = match phantom.existing_container(&alert.rule_name).await? {
            Some(id) => id,
            None => phantom.create_container(alert).await?,
        };
        tracing::debug!(output = %phantom.http.output(), "sending alert to Phantom container with id {container}");
        let body = artifact(alert, delivery.publication, &container);
        phantom
            .request(ARTIFACT_PATH, false)?
            .json(&body)
            .send()
            .await
            .map(|_| ())
    }
}

/// The artifact: `{"cef": <alert record>, "container_id", "data": <publication>, "name":
/// "Phantom Artifact", "label": "Alert"}`.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::phantom::artifact};
/// let alert = Alert::new("r", serde_json::json!({"user": "root"}), ["phantom:soc"]);
/// let body = artifact(&alert, &Publication::new(), &1948.into());
/// assert_eq!(body["cef"]["user"], "root");
/// assert_eq!(body["container_id"], 1948);
/// assert_eq!(body["label"], "Alert");
/// ```
pub fn artifact(alert: &Alert, publication: &Publication, container: &Value) -> Value {
    json!({
        "cef": alert.record,
        "container_id": container,
        "data": Value::from(publication.clone()),
        "name": "Phantom Artifact",
        "label": "Alert",
    })
}

/// One Phantom delivery: where and with which token.
struct Session<'a> {
    http: Http<'a>,
    base: Url,
    token: &'a str,
}

impl Session<'_> {
    /// A `GET` (or `POST`) of `path` below the base URL, with the token.
    fn request(&self, path: &str, get: bool) -> Result<HttpRequest<'_>, DispatchError> {
        let url = Http::join(&self.base, path)?;
        let request = if get {
            self.http.get(url)
        } else {
            self.http.post(url)
        };
        Ok(request.header("ph-auth-token", self.token))
    }

    /// The id of the container named `rule_name`, if Phantom has one.
    async fn existing_container(&self, rule_name: &str) -> Result<Option<Value>, DispatchError> {
        let request = self
            .request(CONTAINER_PATH, true)?
            .query("_filter_name", &format!("\"{rule_name}\""))
            .query("page_size", "1");
        let reply = match request.send().await {
            Ok(reply) => reply.json()?,
            Err(error) if error.status().is_some() => {
                tracing::warn!(output = %self.http.output(), error = %error, "the container search failed; a container is created");
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        if reply.get("count").is_none_or(is_falsy) {
            return Ok(None);
        }
        match reply.pointer("/data/0/id") {
            Some(id) if !is_falsy(id) => Ok(Some(id.clone())),
            _ => Err(self.http.error(
                ErrorKind::InvalidResponse,
                "the container search counted containers but answered no \"data\" with an \"id\"",
            )),
        }
    }

    /// Creates the container of `alert`'s rule; its id.
    async fn create_container(&self, alert: &Alert) -> Result<Value, DispatchError> {
        let body = json!({"name": alert.rule_name, "description": alert.rule_description});
        let reply = self
            .request(CONTAINER_PATH, false)?
            .json(&body)
            .send()
            .await?
            .json()?;
        match reply.get("id") {
            Some(id) if !is_falsy(id) => Ok(id.clone()),
            _ => Err(self.http.error(
                ErrorKind::InvalidResponse,
                "Phantom answered the container creation without an \"id\"",
            )),
        }
    }
}
