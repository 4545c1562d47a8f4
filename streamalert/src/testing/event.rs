//! StreamAlert's test-event JSON format (spec §4.8), read and checked.

use super::TestingError;
use crate::alert::Record;
use crate::rule::helpers::now_secs;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::Path;

/// The services a test event may name as its `service`.
pub const SERVICES: [&str; 4] = ["kinesis", "s3", "sns", "streamalert_app"];

/// The keys a test event may have; any other key only produces a warning.
pub const KEYS: [&str; 12] = [
    "description",
    "log",
    "service",
    "source",
    "data",
    "override_record",
    "trigger_rules",
    "classify_only",
    "compress",
    "skip_publishers",
    "publisher_tests",
    "test_fixtures",
];

/// One test event: a record, the rules it must trigger and checks of the publications.
///
/// There is no classifier in this crate, so a test event states the record as rules see it:
/// `log` is taken as the record's log type (StreamAlert checks it against the classifier's
/// result), and `data` must be the already-parsed record, a JSON object (StreamAlert would
/// parse raw text and cast values to the schema first). `override_record` without a schema
/// gives exactly the keys it lists (StreamAlert fills the schema's other keys with empty
/// defaults first); if both are given, `override_record` wins, as in StreamAlert.
///
/// ```
/// use streamalert::testing::parse_events;
/// let events = parse_events(r#"[{
///     "description": "a root login",
///     "log": "osquery:differential",
///     "service": "kinesis",
///     "source": "prefix_cluster1_streamalert",
///     "data": {"name": "pack_incident-response_last", "columns": {"username": "root"}},
///     "trigger_rules": ["root_login"],
///     "publisher_tests": {"slack:secops": [["\"@slack.text\"", "is", "root login"]]}
/// }]"#, "rules/root_login.json").unwrap();
/// assert_eq!(events[0].index, 1);
/// assert_eq!(events[0].record["columns"]["username"], "root");
/// assert_eq!(events[0].trigger_rules, ["root_login"]);
/// assert_eq!(events[0].publisher_tests[0].0, "slack:secops");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TestEvent {
    /// 1-based position of the event in its file.
    pub index: usize,
    /// Free text saying what the event shows.
    pub description: String,
    /// The record's log type, e.g. `cloudwatch:events`.
    pub log: String,
    /// Where the record came from: `kinesis`, `s3`, `sns` or `streamalert_app`.
    pub service: String,
    /// The resource it came from (a stream, bucket, topic or app name).
    pub source: String,
    /// The record rules receive (`<helper:last_hour>` already substituted).
    pub record: Record,
    /// The rules expected to trigger (before disabled rules are removed).
    pub trigger_rules: Vec<String>,
    /// Only classification is tested: the runner checks nothing more than the format.
    pub classify_only: bool,
    /// `publisher_tests` are not run.
    pub skip_publishers: bool,
    /// Checks of publications, per output `service:descriptor`, in file order.
    pub publisher_tests: Vec<(String, Vec<PublisherTest>)>,
    /// Things that do not stop the event but are worth a look (unknown keys, fixtures).
    pub warnings: Vec<String>,
}

/// One check of a publication: a JMESPath expression, a condition and the expected value.
///
/// ```
/// use streamalert::testing::{Condition, PublisherTest};
/// use serde_json::json;
/// let test = PublisherTest { expression: "\"@slack.text\"".into(), condition: Condition::Is, value: json!("x") };
/// assert_eq!(test.to_string(), r#"`"@slack.text"` is "x""#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PublisherTest {
    /// The JMESPath expression evaluated on the publication. Keys with `@` or `.` are quoted:
    /// `"\"@slack.attachments\"[0].title"`.
    pub expression: String,
    /// How the result is compared with [`value`](Self::value).
    pub condition: Condition,
    /// The expected value.
    pub value: Value,
}

impl std::fmt::Display for PublisherTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {} {}", self.expression, self.condition, self.value)
    }
}

/// The comparison of a [`PublisherTest`]: `subject` is the expression's result.
///
/// ```
/// use streamalert::testing::Condition;
/// assert_eq!("contains".parse::<Condition>(), Ok(Condition::Contains));
/// assert!("near".parse::<Condition>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `subject == value` (Python equality: `1 == 1.0`).
    Is,
    /// A list `value`: `subject` is one of its elements. A text `value`: `subject` is text
    /// contained in it (spec decision P10; StreamAlert crashes on anything but a list).
    In,
    /// `value in subject`: a substring of a text subject, an element of a list subject or a
    /// key of an object subject. Undocumented in StreamAlert, used by its rule tests.
    Contains,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Is => "is",
            Self::In => "in",
            Self::Contains => "contains",
        })
    }
}

impl std::str::FromStr for Condition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "is" => Ok(Self::Is),
            "in" => Ok(Self::In),
            "contains" => Ok(Self::Contains),
            other => Err(format!(
                "invalid condition `{other}`; valid conditions are: is, in, contains"
            )),
        }
    }
}

/// An event as written in the file, before it is checked.
#[derive(Deserialize)]
struct RawEvent {
    description: String,
    log: String,
    service: String,
    source: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    override_record: Option<Value>,
    #[serde(default)]
    trigger_rules: Option<Vec<String>>,
    #[serde(default)]
    classify_only: bool,
    #[serde(default)]
    compress: bool,
    #[serde(default)]
    skip_publishers: bool,
    #[serde(default)]
    publisher_tests: Option<Map<String, Value>>,
    #[serde(default)]
    test_fixtures: Option<Value>,
}

impl RawEvent {
    /// The checked event, or what is wrong with it.
    fn check(self) -> Result<TestEvent, String> {
        let raw = self;
        if !SERVICES.contains(&raw.service.as_str()) {
            return Err(format!(
                "`service` is `{}`; expected one of: {}",
                raw.service,
                SERVICES.join(", ")
            ));
        }
        let mut warnings = Vec::new();
        let record = match (&raw.data, &raw.override_record) {
            (_, Some(record)) if !crate::alert::is_falsy(record) => {
                if raw.data.is_some() {
                    warnings.push(
                        "both `data` and `override_record` are given; `override_record` is used"
                            .to_owned(),
                    );
                }
                record.clone()
            }
            (Some(record), _) if !crate::alert::is_falsy(record) => record.clone(),
            _ => {
                return Err("a test event needs a non-empty `data` or `override_record`".to_owned());
            }
        };
        if !record.is_object() {
            return Err(format!(
                "the record must be the parsed record, a JSON object; found {} (there is no classifier to parse raw data)",
                kind(&record)
            ));
        }
        let record = substitute_helpers(record, now_secs())?;
        let trigger_rules = match (raw.trigger_rules, raw.classify_only) {
            (Some(rules), _) => rules,
            (None, true) => Vec::new(),
            (None, false) => {
                return Err(
                    "test events that are not `classify_only` need `trigger_rules`".to_owned(),
                );
            }
        };
        let publisher_tests = match raw.publisher_tests {
            Some(map) => parse_publisher_tests(map)?,
            None => Vec::new(),
        };
        if raw.compress {
            warnings.push("`compress` has no effect: records are not wrapped or sent".to_owned());
        }
        if raw.test_fixtures.is_some() {
            warnings.push(
                "`test_fixtures` (threat intel, lookup tables) are not supported and are ignored"
                    .to_owned(),
            );
        }
        Ok(TestEvent {
            index: 0,
            description: raw.description,
            log: raw.log,
            service: raw.service,
            source: raw.source,
            record,
            trigger_rules,
            classify_only: raw.classify_only,
            skip_publishers: raw.skip_publishers,
            publisher_tests,
            warnings,
        })
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn parse_publisher_tests(
    map: Map<String, Value>,
) -> Result<Vec<(String, Vec<PublisherTest>)>, String> {
    map.into_iter()
        .map(|(output, tests)| {
            if let Err(error) = crate::output::OutputRef::parse(&output) {
                return Err(format!("publisher_tests key: {error}"));
            }
            let Value::Array(tests) = tests else {
                return Err(format!(
                    "publisher_tests[\"{output}\"] must be a list of tests"
                ));
            };
            let tests = tests
                .into_iter()
                .enumerate()
                .map(|(i, test)| {
                    parse_publisher_test(test)
                        .map_err(|message| format!("publisher_tests[\"{output}\"][{i}]: {message}"))
                })
                .collect::<Result<_, _>>()?;
            Ok((output, tests))
        })
        .collect()
}

fn parse_publisher_test(test: Value) -> Result<PublisherTest, String> {
    let (expression, condition, value) = match test {
        Value::Array(items) => {
            let [expression, condition, value]: [Value; 3] =
                items.try_into().map_err(|items: Vec<Value>| {
                    format!(
                        "a test list must be a triple [expression, condition, value]; found {} elements",
                        items.len()
                    )
                })?;
            (expression, condition, value)
        }
        Value::Object(mut map) => {
            let mut take = |key: &str| {
                map.remove(key).ok_or_else(|| {
                    "a test object needs the keys `jmespath_expression`, `condition` and `value`"
                        .to_owned()
                })
            };
            (
                take("jmespath_expression")?,
                take("condition")?,
                take("value")?,
            )
        }
        other => {
            return Err(format!(
                "a test must be a list or an object, found {}",
                kind(&other)
            ));
        }
    };
    let Value::String(expression) = expression else {
        return Err("the JMESPath expression must be text".to_owned());
    };
    jmespath::parse(&expression)
        .map_err(|error| format!("invalid JMESPath expression `{expression}`: {error}"))?;
    let condition = condition
        .as_str()
        .ok_or_else(|| "the condition must be text".to_owned())?
        .parse()?;
    Ok(PublisherTest {
        expression,
        condition,
        value,
    })
}

/// The marker StreamAlert's test runner replaces with "now minus 60 s" in epoch seconds.
pub const LAST_HOUR_HELPER: &str = "<helper:last_hour>";

/// Replaces `<helper:NAME>` markers in the text values of `record`'s objects, at any depth but
/// not inside lists (as StreamAlert does). The only helper is `last_hour`: `now - 60` as text.
pub(crate) fn substitute_helpers(record: Value, now: i64) -> Result<Value, String> {
    match record {
        Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::String(text) => Value::String(substitute_text(&text, now)?),
                    object @ Value::Object(_) => substitute_helpers(object, now)?,
                    other => other,
                };
                Ok((key, value))
            })
            .collect::<Result<Map<_, _>, String>>()
            .map(Value::Object),
        other => Ok(other),
    }
}

fn substitute_text(text: &str, now: i64) -> Result<String, String> {
    const OPEN: &str = "<helper:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let name_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if name_len == 0 || !after[name_len..].starts_with('>') {
            out.push_str(OPEN);
            rest = after;
            continue;
        }
        match &after[..name_len] {
            "last_hour" => out.push_str(&(now - 60).to_string()),
            other => {
                return Err(format!(
                    "unknown test helper `<helper:{other}>`; the only helper is `{LAST_HOUR_HELPER}`"
                ));
            }
        }
        rest = &after[name_len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads the test events of one file. A file that is not valid JSON, not a list, or holds an
/// event that is not well formed is a [`TestingError::Malformed`] with the position
/// `serde_json` reports (for an event, the end of that event).
///
/// ```
/// use streamalert::testing::{TestingError, load_file};
/// let error = load_file("does/not/exist.json").unwrap_err();
/// assert!(matches!(error, TestingError::Read { .. }));
/// ```
pub fn load_file(path: impl AsRef<Path>) -> Result<Vec<TestEvent>, TestingError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| TestingError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_events(&text, path)
}

/// Parses the text of a test-event file; `path` names it in errors. A problem inside an event
/// (a missing key, a value of the wrong type) is reported where `serde_json` finds it; a
/// problem with the event as a whole at the event's opening brace.
///
/// ```
/// use streamalert::testing::parse_events;
/// let error = parse_events("[{\n  \"description\": \"x\"\n}]", "x.json").unwrap_err();
/// assert_eq!(error.to_string(), "x.json:3:1: missing field `log`");
/// let error = parse_events("[\n  {\"description\": \"x\", \"log\": \"l\", \"service\": \"ftp\", \"source\": \"s\"}\n]", "x.json").unwrap_err();
/// assert!(error.to_string().starts_with("x.json:2:3: event #1 (\"x\"): `service` is `ftp`"));
/// ```
pub fn parse_events(text: &str, path: impl AsRef<Path>) -> Result<Vec<TestEvent>, TestingError> {
    let path = path.as_ref();
    let raw: Vec<RawEvent> =
        serde_json::from_str(text).map_err(|error| TestingError::malformed(path, &error))?;
    // The same text parsed again as plain objects, for the keys the format does not know.
    let plain: Vec<Map<String, Value>> = serde_json::from_str(text).unwrap_or_default();
    let starts = element_starts(text);
    raw.into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let description = raw.description.clone();
            let mut event = raw.check().map_err(|message| {
                let (line, column) = starts.get(i).copied().unwrap_or((0, 0));
                TestingError::Malformed {
                    path: path.to_owned(),
                    line,
                    column,
                    message: format!("event #{} ({description:?}): {message}", i + 1),
                }
            })?;
            event.index = i + 1;
            if let Some(object) = plain.get(i) {
                let extra: Vec<&str> = object
                    .keys()
                    .map(String::as_str)
                    .filter(|key| !KEYS.contains(key))
                    .collect();
                if !extra.is_empty() {
                    event.warnings.push(format!(
                        "Additional unnecessary keys in test event: {}",
                        extra.join(", ")
                    ));
                }
            }
            Ok(event)
        })
        .collect()
}

/// The 1-based line and column of the first character of each element of the top-level JSON
/// list in `text` (which is valid JSON).
fn element_starts(text: &str) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let (mut line, mut column) = (1, 0);
    let (mut depth, mut in_string, mut escaped, mut expecting) = (0usize, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expecting && !c.is_whitespace() && c != ']' {
            starts.push((line, column));
            expecting = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                expecting = depth == 1;
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(fields: Value) -> String {
        let mut event = json!({
            "description": "d", "log": "l:t", "service": "kinesis", "source": "s",
            "data": {"a": 1}, "trigger_rules": []
        });
        for (key, value) in fields.as_object().into_iter().flatten() {
            if value.is_null() {
                event.as_object_mut().map(|e| e.remove(key));
            } else {
                event[key] = value.clone();
            }
        }
        serde_json::to_string_pretty(&json!([event])).unwrap()
    }

    fn error(fields: Value) -> String {
        parse_events(&event(fields), "f.json")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_both_test_forms_and_warns() {
        let text = event(json!({
            "publisher_tests": {"slack:c": [
                {"jmespath_expression": "a", "condition": "in", "value": [1]},
                ["b", "contains", "x"]
            ]},
            "extra": 1, "compress": true
        }));
        let events = parse_events(&text, "f.json").unwrap();
        let tests = &events[0].publisher_tests[0].1;
        assert_eq!(tests[0].condition, Condition::In);
        assert_eq!(tests[1].value, json!("x"));
        assert_eq!(events[0].warnings.len(), 2);
        assert!(events[0].warnings[1].contains("extra"));
    }

    #[test]
    fn malformed_events_name_the_problem_and_position() {
        assert!(error(json!({"service": "ftp"})).contains("expected one of: kinesis"));
        assert!(error(json!({"data": null})).contains("needs a non-empty `data`"));
        assert!(error(json!({"data": "a,b,c"})).contains("found text"));
        assert!(error(json!({"trigger_rules": null})).contains("need `trigger_rules`"));
        assert!(
            error(json!({"publisher_tests": {"slack:c": [["a", "near", 1]]}}))
                .contains("publisher_tests[\"slack:c\"][0]: invalid condition `near`")
        );
        assert!(error(json!({"publisher_tests": {"slack:c": [["a", "is"]]}})).contains("triple"));
        assert!(
            error(json!({"publisher_tests": {"slack": []}}))
                .contains("publisher_tests key: output `slack` has no descriptor")
        );
        assert!(
            error(json!({"publisher_tests": {"slack:a b": []}}))
                .contains("the descriptor `a b` of output `slack:a b` may not contain ' '")
        );
        assert!(
            error(json!({"publisher_tests": {"slack:c": [["a[", "is", 1]]}}))
                .contains("invalid JMESPath")
        );
        assert!(
            error(json!({"data": {"t": "<helper:next_hour>"}})).contains("unknown test helper")
        );
        let message = error(json!({"service": "ftp"}));
        assert!(
            message.starts_with("f.json:2:3: event #1 (\"d\"):"),
            "{message}"
        );
        let syntax = parse_events("[{\"description\": \"x\",}]", "g.json").unwrap_err();
        assert_eq!(syntax.to_string(), "g.json:1:22: trailing comma");
        assert!(
            parse_events("{}", "h.json")
                .unwrap_err()
                .to_string()
                .contains("expected a sequence")
        );
    }

    #[test]
    fn element_starts_skip_strings_and_nesting() {
        let text = "[ {\"a\": \"[,{\\\"\"},\n  [1, {\"b\": 2}], 3 ]";
        assert_eq!(element_starts(text), [(1, 3), (2, 3), (2, 18)]);
        assert!(element_starts("[]").is_empty());
    }

    #[test]
    fn classify_only_needs_no_trigger_rules_and_override_wins() {
        let text = event(
            json!({"trigger_rules": null, "classify_only": true, "override_record": {"b": 2}}),
        );
        let events = parse_events(&text, "f.json").unwrap();
        assert!(events[0].classify_only);
        assert_eq!(events[0].record, json!({"b": 2}));
        assert!(events[0].warnings[0].contains("override_record"));
    }

    #[test]
    fn helpers_are_substituted_in_objects_only() {
        let record = json!({
            "t": "<helper:last_hour>", "n": {"t": "at <helper:last_hour>!"},
            "l": ["<helper:last_hour>"], "x": "<helper:>", "y": "<helper:last_hour"
        });
        let done = substitute_helpers(record, 1000).unwrap();
        assert_eq!(done["t"], "940");
        assert_eq!(done["n"]["t"], "at 940!");
        assert_eq!(done["l"][0], "<helper:last_hour>");
        assert_eq!(done["x"], "<helper:>");
        assert_eq!(done["y"], "<helper:last_hour");
    }
}
