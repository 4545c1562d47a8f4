//! The sample rules (`rules/sample/`).

use streamalert::prelude::*;
use streamalert::publishers::sample::demisto_classification;

/// author:           Derek Wang
/// description:      An example of how to write a Demisto alert using publishers to classify
#[rule(
    logs = ["osquery:differential"],
    outputs = ["demisto:sample-integration"],
    publishers = [demisto_classification],
    context = {
        "demisto": {
            "incident_type": "My sample type",
            "playbook": "A Playbook",
            "severity": "informational"
        }
    },
)]
fn sample_demisto(rec: &Record, _: &mut Context) -> bool {
    rec["hostIdentifier"] == "sample_demisto"
}
