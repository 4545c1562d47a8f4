//! `carbonblack`: bans a binary on a Carbon Black Response server, speaking the REST calls
//! StreamAlert makes through `cbapi` 1.7.1 (spec `outputs.md` §2.9).

use crate::alert::Context;
use crate::alert::is_falsy;
use crate::json::{PythonJson, py_str};
use crate::output::http::{Http, HttpRequest, Method, RetryPolicy, TLS_VERIFY_KEY, Url};
use crate::output::{Credentials, Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use serde_json::{Map, Value};
use std::time::Duration;

const SERVICE: &str = "carbonblack";

/// How long one request may take, retries included (cbapi's request timeout).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The `text` of a ban this output creates.
pub const BAN_TEXT: &str = "Banned from StreamAlert";

const BLACKLIST_PATH: &str = "api/v1/banning/blacklist";

/// Bans the binary named by the rule context on a Carbon Black Response server.
///
/// Properties: `descriptor`; `url` (`https://hostname`; secret, only spaces forbidden);
/// `token` (the API token; masked, secret). A stored `ssl_verify` of `N`/`no`/`false`/`0`
/// (cbapi's setting) turns TLS verification off like the common `tls_verify` opt-out
/// (decision Q8); it is logged at WARN.
///
/// Publication keys: none. The action comes from the rule context:
/// `context["carbonblack"] = {"action": "ban", "value": "<md5>"}` ([`BanRequest`]). An alert
/// without context, another action or a value that is not an MD5 fails at once, before any
/// request (StreamAlert would first connect to the server); so does an empty `token`, which
/// cbapi refuses.
///
/// Requests (each with `X-Auth-Token: <token>`), as cbapi sends them:
/// 1. `GET /api/info`: the server must run version 5.0 or later; from 6.0 on, cbapi also
///    lists the storage partitions (`GET /api/v1/storage/events/partition`);
/// 2. `GET /api/v1/binary/<MD5>/summary`: the binary's `md5`;
/// 3. `GET /api/v1/banning/blacklist/<md5>` (lower case; 404 or 409: not banned), twice when
///    banned, as StreamAlert reads the property twice:
///    * banned and enabled: nothing to do, success;
///    * banned but disabled: `GET /api/v1/banning/blacklist/<value as given>`, then
///      `POST /api/v1/banning/blacklist` with that object, `enabled` set to `true`;
///    * not banned: `POST /api/v1/banning/blacklist` with
///      `{"enabled": true, "md5hash": <md5>, "text": "Banned from StreamAlert"}`.
///
///    POST bodies are `json.dumps(…, sort_keys=True)`. Success: the saved ban reports
///    `enabled` exactly `true` (the POST reply's `enabled` when it has one).
///
/// ```
/// use streamalert::{Output, outputs::CarbonBlack};
/// let properties = CarbonBlack.properties();
/// let names: Vec<_> = properties.iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "url", "token"]);
/// assert!(properties[2].mask && properties[2].secret);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "carbonblack", builtin)]
pub struct CarbonBlack;

#[async_trait::async_trait]
impl Output for CarbonBlack {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this carbonblack output"),
            OutputProperty::new("url", "URL to the CB Response server [https://hostname]")
                .secret()
                .forbidding(&[' ']),
            OutputProperty::new("token", "API token (if unknown, leave blank)")
                .masked()
                .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let output = format!("{SERVICE}:{}", delivery.descriptor);
        let ban = BanRequest::from_context(&delivery.alert.context).map_err(|message| {
            tracing::error!(output = %output, "{message}");
            DispatchError::new(ErrorKind::Config, format!("{output}: {message}"))
        })?;
        let credentials = with_ssl_verify(delivery.credentials);
        let delivery = delivery.with_credentials(&credentials);
        let http = Http::new(SERVICE, &delivery)
            .public(&["url", "ssl_verify"])
            .timeout(TIMEOUT)
            .retry(RetryPolicy::DEFAULT.with_deadline(TIMEOUT));
        let token = http.credential("token")?;
        if token.is_empty() {
            // cbapi refuses to build a client without a token.
            return Err(http.error(ErrorKind::Config, "the stored `token` is empty"));
        }
        let client = Client {
            token,
            base: http.url_credential("url")?,
            http,
        };
        client.connect().await?;
        client.ban(&ban).await
    }
}

/// What the rule context asks for: `{"carbonblack": {"action": "ban", "value": "<md5>"}}`.
///
/// ```
/// use serde_json::json;
/// use streamalert::outputs::carbonblack::BanRequest;
/// let context = |v: serde_json::Value| v.as_object().unwrap().clone();
/// let md5 = "0f9aa55da3bde84b35656ad8911a22e1";
/// let ban = BanRequest::from_context(&context(json!({"carbonblack": {"action": "ban", "value": md5}}))).unwrap();
/// assert_eq!(ban.md5, md5);
/// assert_eq!(
///     BanRequest::from_context(&context(json!({}))).unwrap_err(),
///     "[carbonblack] Alert must contain context to run actions"
/// );
/// assert_eq!(
///     BanRequest::from_context(&context(json!({"carbonblack": {"action": "isolate"}}))).unwrap_err(),
///     "[carbonblack] Action not supported: isolate"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BanRequest {
    /// The MD5 as the rule gave it (32 hexadecimal digits, any case).
    pub md5: String,
}

impl BanRequest {
    /// The ban a rule context asks for; `Err` is the line StreamAlert logs (no context, an
    /// action other than `ban`, a value that is not an MD5).
    pub fn from_context(context: &Context) -> Result<Self, String> {
        if context.is_empty() {
            return Err(format!(
                "[{SERVICE}] Alert must contain context to run actions"
            ));
        }
        let ours = context.get(SERVICE);
        let field = |name: &str| ours.and_then(|c| c.get(name)).unwrap_or(&Value::Null);
        let action = field("action");
        if action != "ban" {
            return Err(format!(
                "[{SERVICE}] Action not supported: {}",
                py_str(action)
            ));
        }
        match field("value").as_str() {
            Some(md5) if md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Self {
                    md5: md5.to_owned(),
                })
            }
            _ => Err(format!(
                "[{SERVICE}] The value to ban is not an MD5 hash (32 hexadecimal digits): {}",
                py_str(field("value"))
            )),
        }
    }
}

/// The credentials with cbapi's `ssl_verify: N` (or `no`, `false`, `0`, `off`) turned into
/// the common TLS opt-out, unless `tls_verify` is stored too.
fn with_ssl_verify(credentials: &Credentials) -> Credentials {
    use secrecy::ExposeSecret;
    let mut credentials = credentials.clone();
    let opted_out = credentials.get("ssl_verify").is_some_and(|value| {
        matches!(
            value.expose_secret().trim().to_ascii_lowercase().as_str(),
            "n" | "no" | "false" | "0" | "off"
        )
    });
    if opted_out && credentials.get(TLS_VERIFY_KEY).is_none() {
        credentials.insert(TLS_VERIFY_KEY, "false");
    }
    credentials
}

/// One connection to a CB Response server.
struct Client<'a> {
    http: Http<'a>,
    base: Url,
    token: &'a str,
}

impl Client<'_> {
    fn request(&self, method: Method, path: &str) -> Result<HttpRequest<'_>, DispatchError> {
        let url = Http::join(&self.base, path)?;
        Ok(self
            .http
            .request(method, url)
            .header("X-Auth-Token", self.token))
    }

    /// `GET path`, answered with JSON.
    async fn get(&self, path: &str) -> Result<Value, DispatchError> {
        self.request(Method::GET, path)?.send().await?.json()
    }

    /// What cbapi does on construction: read the server version, require 5.0 or later, and
    /// from 6.0 on list the storage partitions.
    async fn connect(&self) -> Result<(), DispatchError> {
        let info = self.get("api/info").await?;
        let Some(version) = info.get("version").and_then(Value::as_str) else {
            return Err(self.http.error(
                ErrorKind::InvalidResponse,
                "the server's /api/info has no \"version\"",
            ));
        };
        let version = loose_version(version);
        if version < vec![5, 0] {
            return Err(self.http.error(
                ErrorKind::Config,
                "CbEnterpriseResponseAPI only supports Cb servers version >= 5.0.0",
            ));
        }
        if version >= vec![6, 0] {
            self.request(Method::GET, "api/v1/storage/events/partition")?
                .send()
                .await?;
        }
        Ok(())
    }

    async fn ban(&self, ban: &BanRequest) -> Result<(), DispatchError> {
        let summary = self
            .get(&format!("api/v1/binary/{}/summary", ban.md5.to_uppercase()))
            .await?;
        let Some(md5) = summary.get("md5").and_then(Value::as_str) else {
            return Err(self.http.error(
                ErrorKind::InvalidResponse,
                "the binary summary has no \"md5\"",
            ));
        };
        let saved = if self.banned(md5).await?.is_some() {
            // StreamAlert reads `binary.banned` a second time for `.enabled`.
            let Some(banned) = self.banned(md5).await? else {
                return Err(self.http.error(
                    ErrorKind::InvalidResponse,
                    "the ban of the binary vanished between two reads",
                ));
            };
            if banned.get("enabled").is_some_and(|e| !is_falsy(e)) {
                tracing::debug!(output = %self.http.output(), "the binary is already banned");
                return Ok(());
            }
            let mut existing = match self.get(&format!("{BLACKLIST_PATH}/{}", ban.md5)).await? {
                Value::Object(existing) => existing,
                _ => {
                    return Err(self.http.error(
                        ErrorKind::InvalidResponse,
                        "the banned hash is not a JSON object",
                    ));
                }
            };
            existing.insert("enabled".into(), true.into());
            self.save(existing).await?
        } else {
            let mut new = Map::new();
            new.insert("md5hash".into(), md5.into());
            new.insert("text".into(), BAN_TEXT.into());
            new.insert("enabled".into(), true.into());
            self.save(new).await?
        };
        if saved.get("enabled") == Some(&Value::Bool(true)) {
            Ok(())
        } else {
            Err(self.http.error(
                ErrorKind::InvalidResponse,
                format!(
                    "the saved ban does not report \"enabled\": true but {}",
                    saved
                        .get("enabled")
                        .map_or_else(|| "nothing".to_owned(), py_str)
                ),
            ))
        }
    }

    /// The ban of `md5` (lower-cased), if there is one: 404 and 409 mean "not banned".
    async fn banned(&self, md5: &str) -> Result<Option<Value>, DispatchError> {
        let path = format!("{BLACKLIST_PATH}/{}", md5.to_lowercase());
        match self.get(&path).await {
            Ok(ban) => Ok(Some(ban)),
            Err(error) if matches!(error.status(), Some(404 | 409)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Saves a ban (`POST`, keys sorted); the ban as the server reports it (the reply when it
    /// carries `enabled`, else the object sent).
    async fn save(&self, ban: Map<String, Value>) -> Result<Map<String, Value>, DispatchError> {
        let body = PythonJson::DEFAULT
            .sort_keys()
            .dump(&Value::Object(ban.clone()));
        let reply = self
            .request(Method::POST, BLACKLIST_PATH)?
            .body(body.into_bytes(), "application/json")
            .send()
            .await?;
        match reply.json() {
            Ok(Value::Object(saved)) if saved.contains_key("enabled") => Ok(saved),
            _ => Ok(ban),
        }
    }
}

/// The numeric components of a version as Python's `LooseVersion` orders them (`6.1.2` →
/// `[6, 1, 2]`), up to the first part that is not a number.
fn loose_version(version: &str) -> Vec<u64> {
    version
        .trim()
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_loose_versions() {
        assert!(loose_version("4.2.9") < vec![5, 0]);
        assert!(loose_version("5") < vec![5, 0]);
        assert!(loose_version("5.0") >= vec![5, 0]);
        assert!(loose_version("6.1.2.180904") >= vec![6, 0]);
        assert!(loose_version("5.3.0") < vec![6, 0]);
    }

    #[test]
    fn ssl_verify_n_opts_out_of_tls_verification() {
        let stored = Credentials::from_iter([("ssl_verify", "N")]);
        assert!(with_ssl_verify(&stored).get(TLS_VERIFY_KEY).is_some());
        let stored = Credentials::from_iter([("ssl_verify", "Y")]);
        assert!(with_ssl_verify(&stored).get(TLS_VERIFY_KEY).is_none());
    }
}
