//! MITRE ATT&CK techniques (`rules/community/mitre_attack/`).

use streamalert::prelude::*;
use streamalert::rule::helpers::normalized_values;

/// The right-to-left override character (RLO, U+202E).
const RLO: char = '\u{202e}';

/// author:           @javutin
/// description:      Malicious files can be disguised by using a encoding trick that uses the
///                   unicode character U+202E, also known as right-to-left-override (RLO).
///                   The trick hides a potentially malicious extension and makes them appear
///                   harmless.
///
/// reference:        https://krebsonsecurity.com/2011/09/right-to-left-override-aids-email-attacks
/// playbook:         (a) verify the file has an RTLO character and that the file is malicious
/// ATT&CK Tactic:    Defense Evasion
/// ATT&CK Technique: Obfuscated Files or Information
/// ATT&CK URL:       https://attack.mitre.org/wiki/Technique/T1027
#[rule(datatypes = ["command", "path", "file_name"], outputs = ["file:alerts", "stdout:console"])]
fn right_to_left_character(rec: &Record) -> bool {
    ["command", "path", "file_name"].iter().any(|datatype| {
        normalized_values(rec, datatype)
            .into_iter()
            .any(|value| value.as_str().is_some_and(|text| text.contains(RLO)))
    })
}
