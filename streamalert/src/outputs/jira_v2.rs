//! `jira-v2`: Jira Cloud with an API token (spec `outputs.md` §2.13).

use super::jira_common::{self as common, Auth, Project, Ticket, basic_authorization};
use crate::output::{Delivery, DispatchError, Output, OutputProperty};

const SERVICE: &str = "jira-v2";

/// Opens a Jira Cloud issue for an alert, or comments on an open one, authenticated with an
/// API token.
///
/// Properties: `descriptor`; `api_key` (the token from id.atlassian.com; masked, secret);
/// `user_name` (the token's account, e.g. `username@company.com`); `url` (the base URL, e.g.
/// `https://company.atlassian.net`; no restrictions); `project_key`; `issue_type` (case
/// sensitive); `aggregate` (`yes`/`no`) — all secret, only `api_key` masked. The prompt texts
/// are StreamAlert's, run-together words included.
///
/// Publication keys: the **`@jira.*`** keys of `jira` (see [`Ticket`]); there are no
/// `@jira-v2.*` keys.
///
/// Every call carries `Accept: application/json` and
/// `Authorization: Basic base64("<user_name>:<api_key>")`; there is no login. The flow is
/// `jira`'s without its step 1: with `aggregate: yes` search, then comment on the issue found;
/// otherwise (or when the comment is refused) create an issue.
///
/// Decision Q1: StreamAlert joins its absolute endpoint paths so that the base URL is lost and
/// every dispatch fails; here every request goes to `<url without trailing slash>/rest/api/2/…`,
/// a path in `url` (`https://host/jira`) included.
///
/// ```
/// use streamalert::{Output, outputs::JiraV2};
/// let properties = JiraV2.properties();
/// let names: Vec<_> = properties.iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "api_key", "user_name", "url", "project_key", "issue_type", "aggregate"]);
/// assert!(properties[3].restrictions.is_empty());
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "jira-v2", builtin)]
pub struct JiraV2;

#[async_trait::async_trait]
impl Output for JiraV2 {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this Jira integration"),
            OutputProperty::new(
                "api_key",
                "the Jira api keygenerated at https://id.atlassian.com/manage/api-tokens",
            )
            .masked()
            .secret(),
            OutputProperty::new(
                "user_name",
                "The jira username for the api keyexample \"username@company.com\"",
            )
            .secret(),
            OutputProperty::new(
                "url",
                "Base URL of your Jira instanceexample https://company.atlassian.net",
            )
            .secret()
            .forbidding(&[]),
            OutputProperty::new(
                "project_key",
                "Jira project KEY where issues should be created",
            )
            .secret(),
            OutputProperty::new(
                "issue_type",
                "the Jira issue type please note this is case sensitiveexample (\"Task\" not \"task)\"",
            )
            .secret(),
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
        let authorization =
            basic_authorization(http.credential("user_name")?, http.credential("api_key")?);
        // The header value encodes the API key: errors and logs redact it too.
        let credentials = common::with_derived_secrets(
            delivery.credentials,
            &[("authorization", &authorization)],
        );
        let delivery = delivery.with_credentials(&credentials);
        let project = Project {
            aggregate: common::aggregate(&http),
            project_key: http.credential("project_key")?,
            issue_type: http.credential("issue_type")?,
            auth: Auth::Basic { authorization },
            http: common::http(SERVICE, &delivery),
            base,
        };
        project
            .deliver(&Ticket::new(delivery.alert, delivery.publication))
            .await
    }
}
