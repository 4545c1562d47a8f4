//! StreamAlert's community publishers, registered under StreamAlert's names.
//!
//! Alerts stored by StreamAlert and rules written for it name publishers by their Python
//! fully qualified names, so every publisher here is registered under exactly that name
//! (spec §1.2). One Rust module stands for each StreamAlert module:
//!
//! | Rust module | StreamAlert module | registered names |
//! |---|---|---|
//! | [`generic`] | `publishers/community/generic.py` | `publishers.community.generic.<name>` |
//! | [`pagerduty`] | `publishers/community/pagerduty/pagerduty_layout.py` | `publishers.community.pagerduty.pagerduty_layout.<name>` |
//! | [`slack`] | `publishers/community/slack/slack_layout.py` | `publishers.community.slack.slack_layout.<name>` |
//! | [`sample`] | `publishers/sample/sample_demisto.py` | `publishers.sample.sample_demisto.<name>` |
//! | [`description`] | `streamalert/shared/description.py` | (no publisher: the rule-description parser) |
//!
//! The `<name>` is the Rust item's name, which keeps StreamAlert's spelling: functions stay
//! snake_case (`streamalert::publishers::generic::add_record` is
//! `publishers.community.generic.add_record`) and classes are types
//! (`streamalert::publishers::slack::Summary` is `publishers.community.slack.slack_layout.Summary`).
//! [`NAMES`] lists them all. StreamAlert's customisation by subclassing becomes setting a
//! type's public fields (colours, URLs, delimiters) in a publisher of your own.
//!
//! ```
//! use streamalert::publisher::Chain;
//! use streamalert::{Alert, publishers::NAMES};
//! use serde_json::json;
//!
//! for name in NAMES {
//!     assert!(streamalert::publisher::get(name).is_some(), "{name}");
//! }
//! let mut alert = Alert::new("root_login", json!({"user": "root"}), ["pagerduty-v2:oncall"]);
//! alert.publishers = json!({"pagerduty-v2": [
//!     "publishers.community.generic.add_record",
//!     "publishers.community.pagerduty.pagerduty_layout.v2_high_urgency",
//! ]});
//! let publication = Chain::for_output(&alert.publishers, "pagerduty-v2", "oncall").publish(&alert).unwrap();
//! assert_eq!(publication["record"], json!({"user": "root"}));
//! assert_eq!(publication["@pagerduty-v2.severity"], "critical");
//! ```

pub mod description;
pub mod generic;
pub mod pagerduty;
pub mod sample;
pub mod slack;

use crate::publisher::{Publication, PublishError};
use serde_json::Value;

/// StreamAlert's registered names of the publishers in this module, sorted (the 21st
/// registered name of StreamAlert is the
/// [`DefaultPublisher`](crate::publisher::DefaultPublisher)'s).
///
/// ```
/// use streamalert::publishers::NAMES;
/// assert_eq!(NAMES.len(), 20);
/// assert!(NAMES.contains(&"publishers.community.slack.slack_layout.Summary"));
/// ```
pub const NAMES: [&str; 20] = [
    "publishers.community.generic.StringifyArrays",
    "publishers.community.generic.add_record",
    "publishers.community.generic.blank",
    "publishers.community.generic.enumerate_fields",
    "publishers.community.generic.populate_fields",
    "publishers.community.generic.remove_fields",
    "publishers.community.generic.remove_internal_fields",
    "publishers.community.generic.remove_streamalert_normalization",
    "publishers.community.pagerduty.pagerduty_layout.AttachImage",
    "publishers.community.pagerduty.pagerduty_layout.PrettyPrintArrays",
    "publishers.community.pagerduty.pagerduty_layout.ShortenTitle",
    "publishers.community.pagerduty.pagerduty_layout.as_custom_details",
    "publishers.community.pagerduty.pagerduty_layout.v2_high_urgency",
    "publishers.community.pagerduty.pagerduty_layout.v2_low_urgency",
    "publishers.community.slack.slack_layout.AttachFullRecord",
    "publishers.community.slack.slack_layout.AttachPublication",
    "publishers.community.slack.slack_layout.AttachRuleInfo",
    "publishers.community.slack.slack_layout.AttachStringTemplate",
    "publishers.community.slack.slack_layout.Summary",
    "publishers.sample.sample_demisto.demisto_classification",
];

/// The list under `key`, created empty when missing (Python's
/// `publication[key] = publication.get(key, [])`). A value that is not a list is an error, as
/// appending to it raises in StreamAlert.
pub(crate) fn list_entry<'a>(
    publication: &'a mut Publication,
    key: &str,
) -> Result<&'a mut Vec<Value>, PublishError> {
    match publication
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(items) => Ok(items),
        other => Err(PublishError::failed(format!(
            "cannot append to `{key}`: it holds {other}, not a list"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publisher::{DEFAULT_PUBLISHER, names};

    #[test]
    fn every_streamalert_name_is_registered() {
        let registered = names();
        for name in NAMES.iter().chain([&DEFAULT_PUBLISHER]) {
            assert!(registered.contains(name), "{name} is not registered");
        }
        let mut sorted = NAMES;
        sorted.sort_unstable();
        assert_eq!(sorted, NAMES);
    }

    #[test]
    fn list_entry_creates_and_checks() {
        let mut publication = Publication::new();
        list_entry(&mut publication, "@x.y")
            .map(|items| items.push(Value::from(1)))
            .unwrap();
        assert_eq!(publication["@x.y"], serde_json::json!([1]));
        publication.insert("@x.z", Value::Null);
        assert!(list_entry(&mut publication, "@x.z").is_err());
    }
}
