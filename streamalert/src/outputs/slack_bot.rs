//! `slack-bot`: a Slack message posted with a bot token (`chat.postMessage`), laid out and
//! split as `slack` lays out its webhook messages, the split parts threaded under the first.

use super::slack::{self, Attachments};
use crate::output::http::{Http, Url};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use serde_json::{Value, json};

const SERVICE: &str = "slack-bot";

/// Slack's Web API (`chat.postMessage` is below it).
pub const SLACK_API: &str = "https://slack.com/api";

/// Stored values that are configuration, shown in errors and logs (the token is redacted).
const PUBLIC: &[&str] = &["channel", "url"];

/// Slack errors (`"ok": false`) worth trying again later; every other one is final.
const RETRYABLE_ERRORS: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "service_unavailable",
    "internal_error",
    "fatal_error",
    "request_timeout",
];

/// Posts an alert to a Slack channel with a bot token (Slack's `chat.postMessage`).
///
/// Properties: `descriptor`; `token` (the bot token, `xoxb-…`, with the `chat:write` scope;
/// masked, secret, sent as `Authorization: Bearer <token>` and redacted from every error and
/// log); `channel` (the channel ID, e.g. `C0123456789`, or name, which the bot must have joined).
/// A stored `url` replaces [`SLACK_API`] (decision Q11).
///
/// The message is `slack`'s: `{"channel", "text", "mrkdwn": true, "attachments"}`, with the
/// same header, the same attachments and the same splitting of the record into parts of at
/// most 4,000 code points (at most 20). Publication keys: `@slack-bot.text` and
/// `@slack-bot.attachments`, else `@slack.text` and `@slack.attachments` (so the Slack
/// publishers lay out `slack-bot` messages too). When the record is split, the first message
/// carries the header and part 1 and each further part is a reply in its thread (`thread_ts`
/// of the first message); custom attachments all go in the first message.
///
/// Slack answers HTTP 200 with `"ok": false` for most failures: the delivery then fails with
/// Slack's error name (`channel_not_found`, `not_in_channel`, `invalid_auth`, …), final unless
/// it is one of `ratelimited`, `service_unavailable`, `internal_error`, `fatal_error`,
/// `request_timeout`. HTTP 429 and 5xx are retried by the shared retry policy. A failure after
/// the first message was posted fails the delivery, and a later attempt posts the whole
/// message again (at least once).
///
/// ```
/// use streamalert::{Output, outputs::SlackBot};
/// let names: Vec<_> = SlackBot.properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "token", "channel"]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "slack-bot", builtin)]
pub struct SlackBot;

#[async_trait::async_trait]
impl Output for SlackBot {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Slack channel (ie: channel name)",
            ),
            OutputProperty::new("token", "the Slack bot token (xoxb-...) with chat:write")
                .masked()
                .secret(),
            OutputProperty::new(
                "channel",
                "the ID (ie: C0123456789) or name of the channel to post to",
            )
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).public(PUBLIC);
        let token = http.credential("token")?;
        let url = Http::join(&http.endpoint("url", SLACK_API)?, "chat.postMessage")?;
        let mut messages = messages(&http, delivery)?.into_iter();
        let Some(first) = messages.next() else {
            return Ok(());
        };
        let reply = post(&http, &url, token, &first).await?;
        let Some(ts) = reply.get("ts").and_then(Value::as_str) else {
            return Err(http.error(
                ErrorKind::InvalidResponse,
                "Slack's reply to chat.postMessage has no `ts` to thread the other parts under",
            ));
        };
        for mut message in messages {
            message["thread_ts"] = ts.into();
            post(&http, &url, token, &message).await?;
        }
        Ok(())
    }
}

/// The `chat.postMessage` bodies of `delivery`, in order, without `thread_ts`: the first
/// carries the header; each further one is a split part of the record (see [`SlackBot`]).
///
/// `Err` when no `channel` is stored or a publication key is malformed.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::slack_bot};
/// use streamalert::output::{Credentials, Delivery, http::Http};
/// let record = serde_json::json!({"a": "x".repeat(3000), "b": "y".repeat(3000)});
/// let alert = Alert::new("r", record, ["slack-bot:soc"]);
/// let publication = Publication::new();
/// let credentials = Credentials::from_iter([("token", "xoxb-1"), ("channel", "C1")]);
/// let delivery = Delivery::new(&alert, "soc", &publication).with_credentials(&credentials);
/// let messages = slack_bot::messages(&Http::new("slack-bot", &delivery), &delivery).unwrap();
/// assert_eq!(messages.len(), 2);
/// assert_eq!(messages[0]["text"], "*StreamAlert Rule Triggered: r*");
/// assert_eq!(messages[1]["attachments"][0]["title"], "Record (Part 2 of 2):");
/// ```
pub fn messages(http: &Http<'_>, delivery: &Delivery<'_>) -> Result<Vec<Value>, DispatchError> {
    let channel = http.credential("channel")?.trim();
    let message = slack::format_message_for(
        &[SERVICE, "slack"],
        delivery.alert,
        delivery.publication,
        http.output(),
    )
    .map_err(|message| http.error(ErrorKind::Publish, message))?;
    let json = |value: Result<Value, serde_json::Error>| {
        value.map_err(|e| {
            http.error(
                ErrorKind::Publish,
                format!("cannot lay out the message: {e}"),
            )
        })
    };
    let text = json(serde_json::to_value(&message.text))?;
    let first = |attachments: Value| json!({"channel": channel, "text": text, "mrkdwn": true, "attachments": attachments});
    match &message.attachments {
        Attachments::Default(parts) if parts.len() > 1 => {
            let mut messages = vec![first(json(serde_json::to_value(&parts[..1]))?)];
            for part in &parts[1..] {
                let part = json(serde_json::to_value(part))?;
                messages.push(json!({"channel": channel, "mrkdwn": true, "attachments": [part]}));
            }
            Ok(messages)
        }
        attachments => Ok(vec![first(json(serde_json::to_value(attachments))?)]),
    }
}

/// Posts one message; `Ok` with Slack's reply when it says `"ok": true`.
async fn post(
    http: &Http<'_>,
    url: &Url,
    token: &str,
    message: &Value,
) -> Result<Value, DispatchError> {
    let reply = http
        .post(url.clone())
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json; charset=utf-8")
        .json(message)
        .send()
        .await?;
    let value = reply.json()?;
    check_reply(http, value)
}

/// Slack's reply: `Ok` for `"ok": true`, else an error naming Slack's `error` (and the scope
/// it `needed`, for `missing_scope`).
fn check_reply(http: &Http<'_>, reply: Value) -> Result<Value, DispatchError> {
    if reply.get("ok") == Some(&Value::Bool(true)) {
        return Ok(reply);
    }
    let name = reply
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error");
    let needed = reply
        .get("needed")
        .and_then(Value::as_str)
        .map(|scope| format!(" (needed: {scope})"))
        .unwrap_or_default();
    let (kind, retryable) = if RETRYABLE_ERRORS.contains(&name) {
        (ErrorKind::Unavailable, "retryable")
    } else {
        (ErrorKind::Rejected, "not retryable")
    };
    Err(http.error(
        kind,
        format!("Slack refused chat.postMessage: {name}{needed}; {retryable}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Alert;
    use crate::output::Credentials;
    use crate::publisher::Publication;

    fn check(reply: Value) -> Result<Value, DispatchError> {
        let alert = Alert::new("r", json!({}), ["slack-bot:c"]);
        let publication = Publication::new();
        let credentials = Credentials::from_iter([("token", "xoxb-secret-token")]);
        let delivery = Delivery::new(&alert, "c", &publication).with_credentials(&credentials);
        check_reply(&Http::new(SERVICE, &delivery), reply)
    }

    #[test]
    fn slack_errors_are_named_and_classified() {
        let error = check(json!({"ok": false, "error": "channel_not_found"})).unwrap_err();
        assert_eq!(
            error.message(),
            "slack-bot:c: Slack refused chat.postMessage: channel_not_found; not retryable"
        );
        assert!(error.is_permanent());
        let error = check(json!({"ok": false, "error": "ratelimited"})).unwrap_err();
        assert!(error.is_retryable() && !error.is_permanent());
        let error = check(json!({"ok": false, "error": "missing_scope", "needed": "chat:write"}))
            .unwrap_err();
        assert!(
            error
                .message()
                .contains("missing_scope (needed: chat:write)"),
            "{error}"
        );
        let error = check(json!({"ok": "yes"})).unwrap_err();
        assert!(error.message().contains("unknown_error"), "{error}");
        assert!(check(json!({"ok": true, "ts": "1.2"})).is_ok());
    }

    #[test]
    fn custom_attachments_stay_in_one_message_and_slack_keys_are_read() {
        let alert = Alert::new("r", json!({"a": "x".repeat(9000)}), ["slack-bot:c"]);
        let mut publication = Publication::new();
        publication.insert("@slack.text", "from the slack publisher");
        publication.insert(
            "@slack-bot.attachments",
            json!([{"text": "1"}, {"text": "2"}]),
        );
        let credentials = Credentials::from_iter([("token", "t0ken"), ("channel", "C1")]);
        let delivery = Delivery::new(&alert, "c", &publication).with_credentials(&credentials);
        let messages = messages(&Http::new(SERVICE, &delivery), &delivery).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["text"], "from the slack publisher");
        assert_eq!(messages[0]["attachments"].as_array().unwrap().len(), 2);
        publication.insert("@slack-bot.attachments", "not a list");
        let delivery = Delivery::new(&alert, "c", &publication).with_credentials(&credentials);
        let error = super::messages(&Http::new(SERVICE, &delivery), &delivery).unwrap_err();
        assert!(
            error
                .message()
                .contains("`@slack-bot.attachments` must be a list"),
            "{error}"
        );
    }
}
