//! The built-in outputs. `file` and `stdout` need no account, so everything runs locally.
//!
//! With the `saas` feature (on by default): StreamAlert's `slack`, `pagerduty`,
//! `pagerduty-v2`, `pagerduty-incident`, `jira`, `jira-v2`, `github`, `teams`, `victorops`,
//! `komand`, `phantom`, `carbonblack` and `demisto`, and this crate's own `teams-workflows`,
//! `webhook`, `opsgenie`, `slack-bot`, `google-chat`, `discord` and `splunk-hec`, all sending
//! through the shared HTTP layer [`output::http`](crate::output::http), and `smtp` (email
//! through an SMTP relay). With the `aws` feature:
//! `aws-cloudwatch-log`, `aws-firehose`, `aws-lambda`, `aws-lambda-v2`, `aws-s3`, `aws-ses`,
//! `aws-sns` and `aws-sqs`, through the shared SDK configuration of `streamalert::aws`.

#[cfg(feature = "saas")]
pub mod carbonblack;
#[cfg(feature = "saas")]
pub mod demisto;
#[cfg(feature = "saas")]
pub mod discord;
mod file;
#[cfg(feature = "saas")]
pub mod github;
#[cfg(feature = "saas")]
pub mod google_chat;
#[cfg(feature = "saas")]
pub mod jira;
#[cfg(feature = "saas")]
pub mod jira_common;
#[cfg(feature = "saas")]
pub mod jira_v2;
#[cfg(feature = "saas")]
pub mod komand;
#[cfg(feature = "saas")]
pub mod opsgenie;
#[cfg(feature = "saas")]
pub mod pagerduty;
#[cfg(feature = "saas")]
pub mod pagerduty_common;
#[cfg(feature = "saas")]
pub mod pagerduty_incident;
#[cfg(feature = "saas")]
pub mod pagerduty_v2;
#[cfg(feature = "saas")]
pub mod phantom;
#[cfg(feature = "saas")]
pub mod slack;
#[cfg(feature = "saas")]
pub mod slack_bot;
#[cfg(feature = "saas")]
pub mod smtp;
#[cfg(feature = "saas")]
pub mod splunk_hec;
mod stdout;
#[cfg(feature = "saas")]
pub mod teams;
#[cfg(feature = "saas")]
pub mod teams_workflows;
#[cfg(feature = "saas")]
pub mod victorops;
#[cfg(feature = "saas")]
pub mod webhook;

#[cfg(feature = "saas")]
pub use carbonblack::CarbonBlack;
#[cfg(feature = "saas")]
pub use demisto::Demisto;
#[cfg(feature = "saas")]
pub use discord::Discord;
pub use file::File;
#[cfg(feature = "saas")]
pub use github::Github;
#[cfg(feature = "saas")]
pub use google_chat::GoogleChat;
#[cfg(feature = "saas")]
pub use jira::Jira;
#[cfg(feature = "saas")]
pub use jira_v2::JiraV2;
#[cfg(feature = "saas")]
pub use komand::Komand;
#[cfg(feature = "saas")]
pub use opsgenie::Opsgenie;
#[cfg(feature = "saas")]
pub use pagerduty::PagerDuty;
#[cfg(feature = "saas")]
pub use pagerduty_incident::PagerDutyIncident;
#[cfg(feature = "saas")]
pub use pagerduty_v2::PagerDutyV2;
#[cfg(feature = "saas")]
pub use phantom::Phantom;
#[cfg(feature = "saas")]
pub use slack::Slack;
#[cfg(feature = "saas")]
pub use slack_bot::SlackBot;
#[cfg(feature = "saas")]
pub use smtp::Smtp;
#[cfg(feature = "saas")]
pub use splunk_hec::SplunkHec;
pub use stdout::Stdout;
#[cfg(feature = "saas")]
pub use teams::Teams;
#[cfg(feature = "saas")]
pub use teams_workflows::TeamsWorkflows;
#[cfg(feature = "saas")]
pub use victorops::VictorOps;
#[cfg(feature = "saas")]
pub use webhook::Webhook;

use crate::publisher::Publication;

// The email of `aws-ses` and `smtp`.
#[cfg(any(feature = "aws", feature = "saas"))]
mod mime;

/// One JSON line of a publication: compact, UTF-8, newline-terminated.
fn json_line(publication: &Publication) -> String {
    let mut line = serde_json::to_string(publication).unwrap_or_else(|_| "{}".to_owned());
    line.push('\n');
    line
}

// The AWS outputs (cargo feature `aws`), sending through the shared configuration of
// [`aws`](crate::aws).
#[cfg(feature = "aws")]
pub mod aws_cloudwatch_log;
#[cfg(feature = "aws")]
pub mod aws_firehose;
#[cfg(feature = "aws")]
pub mod aws_lambda;
#[cfg(feature = "aws")]
pub mod aws_lambda_v2;
#[cfg(feature = "aws")]
pub mod aws_s3;
#[cfg(feature = "aws")]
pub mod aws_ses;
#[cfg(feature = "aws")]
pub mod aws_sns;
#[cfg(feature = "aws")]
pub mod aws_sqs;

#[cfg(feature = "aws")]
pub use aws_cloudwatch_log::AwsCloudwatchLog;
#[cfg(feature = "aws")]
pub use aws_firehose::AwsFirehose;
#[cfg(feature = "aws")]
pub use aws_lambda::AwsLambda;
#[cfg(feature = "aws")]
pub use aws_lambda_v2::AwsLambdaV2;
#[cfg(feature = "aws")]
pub use aws_s3::AwsS3;
#[cfg(feature = "aws")]
pub use aws_ses::AwsSes;
#[cfg(feature = "aws")]
pub use aws_sns::AwsSns;
#[cfg(feature = "aws")]
pub use aws_sqs::AwsSqs;

/// Every ASCII character, DEL, C1 controls, Latin-1, the line separator, a BMP character
/// beyond and an astral one (a surrogate pair): what the tests of the request bodies written by
/// hand put in keys, values and descriptions, for all that `json.dumps` escapes one way or
/// another.
#[cfg(test)]
pub(crate) fn text_to_escape() -> String {
    (0u32..0x180)
        .chain([0x2028, 0xfffd, 0x1f600])
        .filter_map(char::from_u32)
        .collect()
}

/// An alert to `output` whose rule name, description and record (keys, values, nested, and
/// numbers of every JSON kind) hold [`text_to_escape`].
#[cfg(test)]
pub(crate) fn alert_to_escape(output: &str) -> crate::Alert {
    let tricky = text_to_escape();
    let record = serde_json::json!({
        &tricky: tricky.clone(), "n": [1, 1.5, -0, 1e300, null, true, {}, []],
        "nested": {"a\tb": {"c": format!("{tricky}\n{tricky}")}},
    });
    let mut alert = crate::Alert::new("r\"é", record, [output]);
    alert.rule_description = Some(tricky);
    alert
}
