//! The built-in output services and the `@service.field` keys each reads
//! (StreamAlert's outputs, spec `outputs.md` §2.22, plus this crate's own).

/// `(service, fields)` for every built-in output service.
pub(crate) const SERVICES: &[(&str, &[&str])] = &[
    ("aws-cloudwatch-log", &[]),
    ("aws-firehose", &[]),
    ("aws-lambda", &["alert_data"]),
    ("aws-lambda-v2", &[]),
    ("aws-s3", &[]),
    (
        "aws-ses",
        &["subject", "body", "attach_record", "attachments"],
    ),
    ("aws-sns", &["topic", "message"]),
    ("aws-sqs", &["message_data"]),
    ("carbonblack", &[]),
    (
        "demisto",
        &[
            "incident_type",
            "playbook",
            "severity",
            "owner",
            "details",
            "incident_name",
            "label_data",
        ],
    ),
    ("discord", &["content", "username", "color", "embeds"]),
    ("file", &[]),
    ("github", &["title", "body"]),
    (
        "google-chat",
        &["text", "title", "description", "with_record", "buttons"],
    ),
    ("jira", &["issue_summary", "description"]),
    ("jira-v2", &[]),
    ("komand", &[]),
    (
        "opsgenie",
        &[
            "message",
            "alias",
            "description",
            "priority",
            "tags",
            "details",
            "responders",
        ],
    ),
    (
        "pagerduty",
        &["description", "details", "client_url", "contexts"],
    ),
    (
        "pagerduty-incident",
        &["incident_title", "incident_body", "urgency", "note"],
    ),
    (
        "pagerduty-v2",
        &[
            "summary",
            "custom_details",
            "severity",
            "client_url",
            "images",
            "links",
            "component",
            "group",
            "class",
        ],
    ),
    ("phantom", &[]),
    ("slack", &["text", "attachments", "_previous_publication"]),
    ("slack-bot", &["text", "attachments"]),
    ("smtp", &["subject", "body", "attach_record", "attachments"]),
    ("splunk-hec", &[]),
    ("stdout", &[]),
    (
        "teams",
        &[
            "title",
            "description",
            "card_color",
            "with_record",
            "additional_card_sections",
            "buttons",
        ],
    ),
    (
        "teams-workflows",
        &[
            "title",
            "description",
            "card_color",
            "with_record",
            "facts",
            "buttons",
        ],
    ),
    ("victorops", &[]),
    ("webhook", &[]),
];

/// The fields of a built-in service.
pub(crate) fn fields(service: &str) -> Option<&'static [&'static str]> {
    SERVICES
        .iter()
        .find(|(name, _)| *name == service)
        .map(|(_, fields)| *fields)
}

/// The table as a `&[(&str, &[&str])]` expression, so the runtime's tests can compare what the
/// built-in outputs register with it.
pub(crate) fn expression() -> proc_macro2::TokenStream {
    let rows = SERVICES
        .iter()
        .map(|(service, fields)| quote::quote! { (#service, &[#(#fields),*] as &[&str]) });
    quote::quote! { &[#(#rows),*] }
}
