//! Every macro form in one crate, including a custom output from another crate.
use streamalert::prelude::*;

streamalert::services!(crate::outputs::Pager, ::ext_outputs::Ticketing);

mod outputs {
    use streamalert::prelude::*;

    /// A custom output in this crate.
    #[derive(Default)]
    #[output(service = "in-house-pager", fields = ["urgency"])]
    pub struct Pager;

    #[streamalert::async_trait]
    impl Output for Pager {
        fn properties(&self) -> Vec<OutputProperty> {
            vec![OutputProperty::descriptor("a pager name")]
        }
        async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
            Ok(())
        }
    }
}

/// Fills the custom fields.
#[publisher]
fn route(_: &Alert, mut p: Publication) -> Publication {
    p.insert("@ticketing.queue", "secops");
    p.insert("@in-house-pager.urgency", "high");
    p.insert("@slack.text", "routed");
    // Format strings are not checked: their keys exist only at run time.
    p.insert(format!("@ticketing.{}", "priority"), "high");
    p
}

#[derive(Default)]
struct Shout;

#[publisher(name = "custom.Shout")]
impl Publisher for Shout {
    fn publish(&self, alert: &Alert, mut p: Publication) -> Result<Publication, PublishError> {
        p.insert("@pagerduty-v2.summary", alert.rule_name.to_uppercase());
        Ok(p)
    }
}

/// The type form: `#[publisher]` on the type, `Publisher` implemented beside it.
#[derive(Default)]
#[publisher]
struct Whisper;

impl Publisher for Whisper {
    fn publish(&self, alert: &Alert, mut p: Publication) -> Result<Publication, PublishError> {
        p.insert("whisper", alert.rule_name.to_lowercase());
        Ok(p)
    }
}

fn is_admin(rec: &Record) -> bool {
    rec["role"] == "admin"
}

fn team_output(rec: &Record) -> Option<String> {
    rec["team"].as_str().map(|team| format!("slack:{team}"))
}

/// Root logins.
/// author: secops
#[rule(
    logs = ["osquery:differential"],
    outputs = ["slack:secops", "ticketing:soc", "in-house-pager:oncall", "pagerduty-v2:oncall"],
    publishers = { "slack" => [route, Whisper], "pagerduty-v2:oncall" => [route, Shout] },
    matchers = [is_admin],
    dynamic_outputs = [team_output],
    req_subkeys = { "columns": ["user"] },
    merge_by_keys = ["host"],
    merge_window_mins = 5,
)]
fn root_login(rec: &Record) -> bool {
    rec["columns"]["user"] == "root"
}

/// Uses a context.
#[rule(datatypes = ["username"], context = { "note": "hi", "fields": [1, 2] }, disabled)]
fn with_context(_: &Record, context: &mut Context) -> Result<bool, String> {
    context.insert("seen".into(), true.into());
    Ok(true)
}

fn main() {
    let registry = streamalert::registry();
    let rule = registry
        .rule("root_login")
        .expect("root_login is registered");
    assert_eq!(rule.description, "Root logins.\nauthor: secops");
    assert_eq!(rule.outputs.len(), 4);
    assert!(registry.rule("with_context").expect("registered").disabled);
    let route = registry
        .publishers()
        .iter()
        .find(|p| p.name.ends_with("::route"));
    assert!(
        route.is_some(),
        "fn publishers register under their module path"
    );
    assert!(registry.publisher("custom.Shout").is_some());
    assert!(
        registry
            .publishers()
            .iter()
            .any(|p| p.name.ends_with("::Whisper"))
    );
    assert!(registry.output("ticketing").is_some());
    assert!(registry.output("in-house-pager").is_some());
    assert!(registry.problems().is_empty());
}
