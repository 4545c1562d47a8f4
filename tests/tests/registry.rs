//! The runtime registry: what every linked crate registered, with source locations, and the
//! problems no compiler can see (a name registered by two crates).

use streamalert::prelude::*;
use streamalert::registry::RegistryProblem;

// Links the fixture crate, whose output and publisher register themselves.
use ext_outputs as _;

streamalert::services!(::ext_outputs::Ticketing);

/// Registered a second time on purpose: the fixture crate registers this name too.
#[publisher(name = "fixture.shared_name")]
fn shared_name_again(_: &Alert, publication: Publication) -> Publication {
    publication
}

/// A rule of this crate, delivered to the fixture crate's output.
#[rule(logs = ["osquery:differential"], outputs = ["ticketing:soc"])]
fn ticket_everything(_: &Record) -> bool {
    true
}

#[test]
fn items_of_every_linked_crate_are_listed_with_their_source() {
    let registry = streamalert::registry();
    let output = registry
        .output("ticketing")
        .expect("the fixture crate's output is registered");
    assert!(
        output.location.file.ends_with("ext-outputs/src/lib.rs"),
        "{}",
        output.location
    );
    assert_eq!(output.fields, ["queue", "priority"]);

    let rule = registry
        .rule("ticket_everything")
        .expect("this crate's rule is registered");
    assert!(
        rule.location.file.ends_with("tests/registry.rs"),
        "{}",
        rule.location
    );
    assert!(rule.location.line > 0);

    let shared = registry
        .rule("shared_root_login")
        .expect("the fixture crate's rule is registered in this binary");
    assert!(
        shared.location.file.ends_with("ext-outputs/src/lib.rs"),
        "{}",
        shared.location
    );

    let builtin = registry
        .output("file")
        .expect("built-in outputs are registered");
    assert!(
        builtin.location.file.contains("outputs"),
        "{}",
        builtin.location
    );
    assert!(
        registry
            .publisher(streamalert::publisher::DEFAULT_PUBLISHER)
            .is_some()
    );
}

#[test]
fn a_name_registered_by_two_crates_is_reported_with_both_locations() {
    let problems = streamalert::registry().problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let RegistryProblem::Duplicate {
        kind,
        name,
        locations,
    } = &problems[0];
    assert_eq!((*kind, *name), ("publisher", "fixture.shared_name"));
    let mut files: Vec<&str> = locations.iter().map(|l| l.file).collect();
    files.sort_unstable();
    assert!(
        files[0].ends_with("ext-outputs/src/lib.rs") && files[1].ends_with("tests/registry.rs"),
        "{files:?}"
    );
    let message = problems[0].to_string();
    assert!(
        message.starts_with("publisher `fixture.shared_name` is registered more than once: "),
        "{message}"
    );
}
