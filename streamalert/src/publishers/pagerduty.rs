//! PagerDuty layout publishers (StreamAlert's
//! `publishers/community/pagerduty/pagerduty_layout.py`), each registered as
//! `publishers.community.pagerduty.pagerduty_layout.<name>`. They set the `@pagerduty.*`,
//! `@pagerduty-v2.*` and `@pagerduty-incident.*` keys the three PagerDuty outputs read.

use super::list_entry;
use crate::alert::Alert;
use crate::publisher::{Publication, PublishError, Publisher};
use serde_json::{Map, Value, json};

/// Keys with this prefix are PagerDuty's own and stay out of the custom details.
const PAGERDUTY_KEY_PREFIX: &str = "@pagerduty";

/// Uses the bare rule name as the incident title of all three PagerDuty outputs, instead of
/// `StreamAlert Rule Triggered - <rule>`.
///
/// Registered as `publishers.community.pagerduty.pagerduty_layout.ShortenTitle`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::pagerduty::ShortenTitle};
///
/// let alert = Alert::new("root_login", serde_json::json!({}), ["pagerduty-v2:oncall"]);
/// let publication = ShortenTitle.publish(&alert, Publication::new()).unwrap();
/// assert_eq!(publication["@pagerduty-v2.summary"], "root_login");
/// assert_eq!(publication["@pagerduty-incident.incident_title"], "root_login");
/// assert_eq!(publication["@pagerduty.description"], "root_login");
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct ShortenTitle;

#[crate::publisher(name = "publishers.community.pagerduty.pagerduty_layout.ShortenTitle")]
impl Publisher for ShortenTitle {
    fn publish(
        &self,
        alert: &Alert,
        mut publication: Publication,
    ) -> Result<Publication, PublishError> {
        publication.insert("@pagerduty-v2.summary", alert.rule_name.clone());
        publication.insert(
            "@pagerduty-incident.incident_title",
            alert.rule_name.clone(),
        );
        publication.insert("@pagerduty.description", alert.rule_name.clone());
        Ok(publication)
    }
}

/// Sends the whole publication as the incident's custom details: every top-level key that
/// does not start with `@pagerduty` (other services' `@…` keys included, spec decision P13)
/// becomes `@pagerduty.details` and `@pagerduty-v2.custom_details`.
///
/// Registered as `publishers.community.pagerduty.pagerduty_layout.as_custom_details`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::pagerduty::as_custom_details};
/// use serde_json::json;
///
/// let alert = Alert::new("r", json!({}), ["pagerduty:oncall"]);
/// let publication: Publication = json!({"@pagerduty.x": 1, "@slack.text": "t", "k": "v"})
///     .as_object().unwrap().clone().into();
/// let publication = as_custom_details(&alert, publication);
/// assert_eq!(publication["@pagerduty.details"], json!({"@slack.text": "t", "k": "v"}));
/// assert_eq!(publication["@pagerduty-v2.custom_details"], publication["@pagerduty.details"]);
/// ```
#[crate::publisher(name = "publishers.community.pagerduty.pagerduty_layout.as_custom_details")]
pub fn as_custom_details(_alert: &Alert, mut publication: Publication) -> Publication {
    let details = custom_details(&publication);
    publication.insert("@pagerduty.details", details.clone());
    publication.insert("@pagerduty-v2.custom_details", details);
    publication
}

/// The top-level entries whose keys do not start with `@pagerduty`, in order.
fn custom_details(publication: &Publication) -> Value {
    let details: Map<String, Value> = publication
        .iter()
        .filter(|(key, _)| !key.starts_with(PAGERDUTY_KEY_PREFIX))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Value::Object(details)
}

/// Marks the alert critical / high urgency: `@pagerduty-v2.severity` = `critical`,
/// `@pagerduty-incident.urgency` = `high` (Events v1 has no urgency).
///
/// Registered as `publishers.community.pagerduty.pagerduty_layout.v2_high_urgency`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::pagerduty::v2_high_urgency};
///
/// let alert = Alert::new("r", serde_json::json!({}), ["pagerduty-v2:oncall"]);
/// let publication = v2_high_urgency(&alert, Publication::new());
/// assert_eq!(publication["@pagerduty-v2.severity"], "critical");
/// assert_eq!(publication["@pagerduty-incident.urgency"], "high");
/// ```
#[crate::publisher(name = "publishers.community.pagerduty.pagerduty_layout.v2_high_urgency")]
pub fn v2_high_urgency(_alert: &Alert, mut publication: Publication) -> Publication {
    publication.insert("@pagerduty-v2.severity", "critical");
    publication.insert("@pagerduty-incident.urgency", "high");
    publication
}

/// Marks the alert as a warning / low urgency: `@pagerduty-v2.severity` = `warning`,
/// `@pagerduty-incident.urgency` = `low`.
///
/// Registered as `publishers.community.pagerduty.pagerduty_layout.v2_low_urgency`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::pagerduty::v2_low_urgency};
///
/// let alert = Alert::new("r", serde_json::json!({}), ["pagerduty-v2:oncall"]);
/// let publication = v2_low_urgency(&alert, Publication::new());
/// assert_eq!(publication["@pagerduty-v2.severity"], "warning");
/// assert_eq!(publication["@pagerduty-incident.urgency"], "low");
/// ```
#[crate::publisher(name = "publishers.community.pagerduty.pagerduty_layout.v2_low_urgency")]
pub fn v2_low_urgency(_alert: &Alert, mut publication: Publication) -> Publication {
    publication.insert("@pagerduty-v2.severity", "warning");
    publication.insert("@pagerduty-incident.urgency", "low");
    publication
}

/// [`StringifyArrays`](super::generic::StringifyArrays) with a delimiter that reads well in
/// PagerDuty's UI: a blank line, ten dashes and a blank line (`"\n\n----------\n\n"`).
///
/// Registered as `publishers.community.pagerduty.pagerduty_layout.PrettyPrintArrays`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::pagerduty::PrettyPrintArrays};
/// use serde_json::json;
///
/// let alert = Alert::new("r", json!({}), ["pagerduty:oncall"]);
/// let publication: Publication = json!({"users": ["a", "b"]}).as_object().unwrap().clone().into();
/// let publication = PrettyPrintArrays::default().publish(&alert, publication).unwrap();
/// assert_eq!(publication["users"], "a\n\n----------\n\nb");
/// ```
#[derive(Debug, Clone)]
pub struct PrettyPrintArrays {
    /// What goes between the elements: `"\n\n----------\n\n"`.
    pub delimiter: String,
}

impl Default for PrettyPrintArrays {
    fn default() -> Self {
        Self {
            delimiter: "\n\n----------\n\n".to_owned(),
        }
    }
}

#[crate::publisher(name = "publishers.community.pagerduty.pagerduty_layout.PrettyPrintArrays")]
impl Publisher for PrettyPrintArrays {
    fn publish(
        &self,
        _alert: &Alert,
        publication: Publication,
    ) -> Result<Publication, PublishError> {
        Ok(super::generic::stringify_arrays(
            publication,
            &self.delimiter,
        ))
    }
}

/// Attaches an image to the PagerDuty incident: appends `{"src", "href", "alt"}` to
/// `@pagerduty-v2.images` and `{"type": "image", "src"}` to `@pagerduty.contexts`, creating
/// the lists when missing. An existing value that is not a list is an error.
///
/// The defaults are StreamAlert's banner; set the fields to show your own image. (StreamAlert's
/// class derives from `StringifyArrays` without using it, spec decision P13; nothing is
/// stringified here either.)
///
/// Registered as `publishers.community.pagerduty.pagerduty_layout.AttachImage`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::pagerduty::AttachImage};
///
/// let alert = Alert::new("r", serde_json::json!({}), ["pagerduty-v2:oncall"]);
/// let image = AttachImage { image_url: "https://example.com/i.png".into(), ..AttachImage::default() };
/// let publication = image.publish(&alert, Publication::new()).unwrap();
/// assert_eq!(publication["@pagerduty-v2.images"][0]["src"], "https://example.com/i.png");
/// assert_eq!(publication["@pagerduty.contexts"][0]["type"], "image");
/// ```
#[derive(Debug, Clone)]
pub struct AttachImage {
    /// The image: `https://streamalert.io/en/stable/_images/sa-banner.png`.
    pub image_url: String,
    /// Where a click on the image leads: `https://streamalert.io/en/stable/`.
    pub click_url: String,
    /// The image's alternative text: `StreamAlert Docs`.
    pub alt_text: String,
}

impl Default for AttachImage {
    fn default() -> Self {
        Self {
            image_url: "https://streamalert.io/en/stable/_images/sa-banner.png".to_owned(),
            click_url: "https://streamalert.io/en/stable/".to_owned(),
            alt_text: "StreamAlert Docs".to_owned(),
        }
    }
}

#[crate::publisher(name = "publishers.community.pagerduty.pagerduty_layout.AttachImage")]
impl Publisher for AttachImage {
    fn publish(
        &self,
        _alert: &Alert,
        mut publication: Publication,
    ) -> Result<Publication, PublishError> {
        list_entry(&mut publication, "@pagerduty-v2.images")?.push(json!({
            "src": self.image_url,
            "href": self.click_url,
            "alt": self.alt_text,
        }));
        list_entry(&mut publication, "@pagerduty.contexts")?.push(json!({
            "type": "image",
            "src": self.image_url,
        }));
        Ok(publication)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_image_appends_to_existing_lists_and_rejects_other_values() {
        let alert = Alert::new("r", json!({}), ["pagerduty:c"]);
        let mut publication = Publication::new();
        publication.insert("@pagerduty.contexts", json!([{"type": "link"}]));
        let publication = AttachImage::default().publish(&alert, publication).unwrap();
        assert_eq!(
            publication["@pagerduty.contexts"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(
            publication.keys().collect::<Vec<_>>(),
            ["@pagerduty.contexts", "@pagerduty-v2.images"]
        );

        let mut publication = Publication::new();
        publication.insert("@pagerduty-v2.images", "not a list");
        assert!(AttachImage::default().publish(&alert, publication).is_err());
    }

    #[test]
    fn custom_details_exclude_existing_details() {
        let alert = Alert::new("r", json!({}), ["pagerduty:c"]);
        let mut publication = Publication::new();
        publication.insert("@pagerduty.details", json!({"old": 1}));
        publication.insert("k", 1);
        let publication = as_custom_details(&alert, publication);
        assert_eq!(publication["@pagerduty.details"], json!({"k": 1}));
        assert_eq!(
            publication.keys().next().map(String::as_str),
            Some("@pagerduty.details")
        );
    }
}
