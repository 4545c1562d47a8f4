//! Sample publishers (StreamAlert's `publishers/sample/`), registered as
//! `publishers.sample.<module>.<name>`.

use crate::alert::Alert;
use crate::publisher::{Publication, PublishError};
use serde_json::Value;

/// The prefix of the Demisto output's publication keys.
const DEMISTO_KEY_PREFIX: &str = "@demisto.";

/// Classifies the alert for Demisto from the rule's context: every entry `k: v` of the context
/// object `demisto` becomes the publication key `@demisto.<k>` (e.g. `incident_type`,
/// `playbook`, `severity`).
///
/// Without a `demisto` context key the publication is returned unchanged (spec decision P9:
/// StreamAlert's fallback to global classifiers raises for every such alert). A `demisto`
/// value that is not an object is an error.
///
/// Registered as `publishers.sample.sample_demisto.demisto_classification`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::sample::demisto_classification};
/// use serde_json::json;
///
/// let mut alert = Alert::new("r", json!({}), ["demisto:soc"]);
/// alert.context.insert("demisto".into(), json!({"incident_type": "Malware", "playbook": "Triage"}));
/// let publication = demisto_classification(&alert, Publication::new()).unwrap();
/// assert_eq!(publication["@demisto.incident_type"], "Malware");
/// assert_eq!(publication["@demisto.playbook"], "Triage");
///
/// let unclassified = Alert::new("r", json!({}), ["demisto:soc"]);
/// assert!(demisto_classification(&unclassified, Publication::new()).unwrap().is_empty());
/// ```
#[crate::publisher(name = "publishers.sample.sample_demisto.demisto_classification")]
pub fn demisto_classification(
    alert: &Alert,
    mut publication: Publication,
) -> Result<Publication, PublishError> {
    match alert.context.get("demisto") {
        None => {}
        Some(Value::Object(classification)) => {
            for (key, value) in classification {
                publication.insert(format!("{DEMISTO_KEY_PREFIX}{key}"), value.clone());
            }
        }
        Some(other) => {
            return Err(PublishError::failed(format!(
                "context `demisto` must be an object, found {other}"
            )));
        }
    }
    Ok(publication)
}
