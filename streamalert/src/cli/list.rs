//! `list`: the rules, publishers and outputs compiled into this binary.

use super::ListWhat;
use crate::output::OutputEntry;
use crate::registry::Registry;
use std::io::Write as _;
use std::process::ExitCode;

pub(super) fn list(what: ListWhat) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for line in lines(crate::registry(), what) {
        if writeln!(out, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// One line per rule or publisher (`name<TAB>location`); for outputs the same head line,
/// then the properties `output set` asks for and the `@service.field` keys it reads.
fn lines(registry: &Registry, what: ListWhat) -> Vec<String> {
    match what {
        ListWhat::Rules => registry
            .rules()
            .iter()
            .map(|r| format!("{}\t{}", r.name, r.location))
            .collect(),
        ListWhat::Publishers => registry
            .publishers()
            .iter()
            .map(|p| format!("{}\t{}", p.name, p.location))
            .collect(),
        ListWhat::Outputs => registry
            .outputs()
            .iter()
            .flat_map(|entry| describe_output(entry))
            .collect(),
    }
}

fn describe_output(entry: &OutputEntry) -> Vec<String> {
    let mut lines = vec![format!("{}\t{}", entry.service, entry.location)];
    for property in (entry.make)().properties() {
        let flags: Vec<&str> = [(property.mask, "masked"), (property.secret, "secret")]
            .into_iter()
            .filter_map(|(on, flag)| on.then_some(flag))
            .collect();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        };
        lines.push(format!(
            "    {}{flags}: {}",
            property.name, property.description
        ));
    }
    if !entry.fields.is_empty() {
        let keys: Vec<String> = entry
            .fields
            .iter()
            .map(|field| format!("@{}.{field}", entry.service))
            .collect();
        lines.push(format!("    publication keys: {}", keys.join(", ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_listed_with_their_properties() {
        let lines = lines(crate::registry(), ListWhat::Outputs);
        let file = lines
            .iter()
            .position(|line| line.starts_with("file\t"))
            .expect("the file output is listed");
        assert!(lines[file].contains("outputs/file.rs:"), "{}", lines[file]);
        assert_eq!(
            lines[file + 1],
            "    descriptor: a short and unique descriptor for this file"
        );
        assert_eq!(
            lines[file + 2],
            "    aws_value: the path of the JSON lines file to append alerts to"
        );
    }

    #[cfg(feature = "saas")]
    #[test]
    fn secret_properties_and_publication_keys_are_shown() {
        let lines = lines(crate::registry(), ListWhat::Outputs);
        let slack = lines
            .iter()
            .position(|line| line.starts_with("slack\t"))
            .expect("slack is listed");
        let block: Vec<&String> = lines[slack + 1..]
            .iter()
            .take_while(|line| line.starts_with("    "))
            .collect();
        assert!(
            block
                .iter()
                .any(|line| line.starts_with("    url (masked, secret): ")),
            "{block:?}"
        );
        assert!(
            block
                .iter()
                .any(|line| line.starts_with("    publication keys: @slack.")),
            "{block:?}"
        );
    }

    #[test]
    fn builtin_outputs_list_exactly_the_builtin_tables_fields() {
        let table: &[(&str, &[&str])] = streamalert_macros::__builtin_services!();
        let lines = lines(crate::registry(), ListWhat::Outputs);
        let outputs = crate::registry().outputs();
        assert!(!outputs.is_empty());
        for entry in outputs {
            let (_, fields) = table
                .iter()
                .find(|(service, _)| *service == entry.service)
                .unwrap_or_else(|| panic!("{} is not in the built-in table", entry.service));
            assert_eq!(entry.fields, *fields, "{}", entry.service);
            let head = lines
                .iter()
                .position(|line| line.starts_with(&format!("{}\t", entry.service)))
                .unwrap_or_else(|| panic!("{} is listed", entry.service));
            let listed = lines[head + 1..]
                .iter()
                .take_while(|line| line.starts_with("    "))
                .find_map(|line| line.strip_prefix("    publication keys: "));
            let expected: Vec<String> = fields
                .iter()
                .map(|field| format!("@{}.{field}", entry.service))
                .collect();
            match listed {
                Some(keys) => assert_eq!(keys, expected.join(", "), "{}", entry.service),
                None => assert!(fields.is_empty(), "{} lists no keys", entry.service),
            }
        }
    }

    #[test]
    fn rules_and_publishers_are_one_line_each() {
        let publishers = lines(crate::registry(), ListWhat::Publishers);
        assert_eq!(publishers.len(), crate::registry().publishers().len());
        assert!(
            publishers
                .iter()
                .any(|line| line.starts_with("streamalert.shared.publisher.DefaultPublisher\t")),
            "{publishers:?}"
        );
    }
}
