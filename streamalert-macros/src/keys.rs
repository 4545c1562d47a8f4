//! The grammar of output references (`service:descriptor`), publication keys
//! (`@service.field`) and service names. `streamalert::output::OutputRef` checks the same output
//! grammar at run time; `tests/output_refs.tsv` holds the cases both must pass.

/// Checks an output reference; returns `(service, descriptor)` or what is wrong with it.
pub(crate) fn parse_output(text: &str) -> Result<(&str, &str), String> {
    let Some((service, descriptor)) = text.split_once(':') else {
        return Err(format!(
            "output `{text}` has no descriptor; write it as `{text}:<descriptor>`, e.g. `{text}:secops`"
        ));
    };
    if service.is_empty() {
        return Err(format!("output `{text}` has no service before the `:`"));
    }
    if descriptor.is_empty() {
        return Err(format!(
            "output `{text}` has an empty descriptor; name the instance after the `:`"
        ));
    }
    if let Some(c) = descriptor.chars().find(|c| *c == ' ' || *c == ':') {
        return Err(format!(
            "the descriptor `{descriptor}` of output `{text}` may not contain {c:?}"
        ));
    }
    Ok((service, descriptor))
}

/// Checks a publication key; returns `(service, field)` or what is wrong with it.
pub(crate) fn parse_key(text: &str) -> Result<(&str, &str), String> {
    let malformed = || {
        format!(
            "malformed publication key `{text}`; expected `@<service>.<field>`, e.g. `@slack.text`"
        )
    };
    let body = text.strip_prefix('@').ok_or_else(malformed)?;
    let (service, field) = body.split_once('.').ok_or_else(malformed)?;
    if service.is_empty() || field.is_empty() || field.contains('.') {
        return Err(malformed());
    }
    Ok((service, field))
}

/// Checks a service name: kebab-case ASCII (`my-ticketing`), starting with a letter.
pub(crate) fn check_service_name(name: &str) -> Result<(), String> {
    let kebab = name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if kebab {
        Ok(())
    } else {
        Err(format!(
            "output service name `{name}` must be kebab-case: lowercase letters, digits and single `-`, starting with a letter (e.g. `{}`)",
            to_kebab(name)
        ))
    }
}

fn to_kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 && !out.ends_with('-') {
            out.push('-');
        }
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            _ if !out.ends_with('-') && !out.is_empty() => out.push('-'),
            _ => {}
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "my-service".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grammar's cases, shared with `streamalert::output::OutputRef` (its unit test reads
    /// the same file), so the compile-time and the run-time grammar cannot drift.
    const OUTPUT_CASES: &str = include_str!("../tests/output_refs.tsv");

    #[test]
    fn output_grammar_follows_the_shared_cases() {
        let mut cases = 0;
        for line in OUTPUT_CASES
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [input, "ok", service, descriptor] => {
                    assert_eq!(
                        parse_output(input),
                        Ok((*service, *descriptor)),
                        "{input:?}"
                    );
                }
                [input, "error", message] => {
                    assert_eq!(parse_output(input), Err((*message).to_owned()), "{input:?}");
                }
                _ => panic!("malformed case line {line:?}"),
            }
            cases += 1;
        }
        assert!(cases >= 10, "only {cases} cases read");
    }

    #[test]
    fn key_grammar() {
        assert_eq!(parse_key("@slack.text"), Ok(("slack", "text")));
        assert_eq!(
            parse_key("@slack._previous_publication"),
            Ok(("slack", "_previous_publication"))
        );
        for bad in ["slack.text", "@slack", "@.text", "@slack.", "@a.b.c"] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_names() {
        assert!(check_service_name("my-ticketing").is_ok());
        assert!(check_service_name("aws-s3").is_ok());
        assert!(
            check_service_name("MyTicketing")
                .unwrap_err()
                .contains("`my-ticketing`")
        );
        assert!(
            check_service_name("my_ticketing")
                .unwrap_err()
                .contains("`my-ticketing`")
        );
        assert!(check_service_name("-x").is_err());
    }
}
