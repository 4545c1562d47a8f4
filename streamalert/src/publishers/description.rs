//! Fuzzy parsing of rule descriptions into fields (StreamAlert's `RuleDescriptionParser`,
//! `streamalert/shared/description.py`), used by the Slack [`Summary`](super::slack::Summary)
//! and [`AttachRuleInfo`](super::slack::AttachRuleInfo) publishers.
//!
//! A description is a set of newline-delimited lines; a line like `author: Derek` starts the
//! field `author`, and following lines continue it. Text before the first field belongs to
//! `description`. StreamAlert's quirks are kept (spec decision P12): the `http:` / `https:`
//! exclusion is case-sensitive, `see https://x` is the field `see https`, a field name may be
//! empty, URL joining can glue words (`version` + `1.23`), and `author` / `maintainer`
//! overwrite each other.

use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// A field label of StreamAlert's `_FIELD_REGEX`: at most 20 ASCII letters, decimal digits,
/// `-`, `_`, `&` or whitespace (Python's `\s` also matches U+001C to U+001F).
const LABEL_PATTERN: &str = r"^[a-zA-Z\d\-_&\s\x{1c}-\x{1f}]{0,20}$";

static LABEL_REGEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(LABEL_PATTERN).expect("LABEL_PATTERN is a valid constant pattern"));

/// StreamAlert's `_URL_REGEX`, with Python's Unicode `\w` spelled as `[\p{L}\p{N}_]` and the
/// literal `[` of its last class escaped for the Rust engine.
const URL_PATTERN: &str = r"^(?:https?://)?[\p{L}\p{N}_.-]+(?:\.[\p{L}\p{N}_.-]+)+[\p{L}\p{N}_\-.~:/?#\[\]@!$&'()*+,;=.]+$";

static URL_REGEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(URL_PATTERN).expect("URL_PATTERN is a valid constant pattern"));

/// StreamAlert's fuzzy rule-description parser: [`parse`](Self::parse) splits a description
/// into fields, [`present`](Self::present) joins each field's lines into text.
///
/// ```
/// use streamalert::publishers::description::RuleDescriptionParser;
///
/// let text = "Detects root logins.\n\nauthor: Derek\nreference: https://example.com/\n   runbook";
/// let presented = RuleDescriptionParser::present(Some(text));
/// assert_eq!(presented.author, "Derek");
/// assert_eq!(presented.description, "Detects root logins.");
/// assert_eq!(presented.fields, [("reference".to_owned(), "https://example.com/runbook".to_owned())]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleDescriptionParser;

/// The fields of a parsed description: lower-case names, each with its lines, in order of first
/// appearance. `description` is always the first field.
///
/// ```
/// use streamalert::publishers::description::RuleDescriptionParser;
///
/// let fields = RuleDescriptionParser::parse(Some("author: Derek Wang\nowner:  Bobby Tables"));
/// assert_eq!(fields.names().collect::<Vec<_>>(), ["description", "author", "owner"]);
/// assert_eq!(fields.get("owner"), Some(&["Bobby Tables".to_owned()][..]));
/// assert_eq!(fields.get("description"), Some(&[][..]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescriptionFields {
    fields: Vec<(String, Vec<String>)>,
}

impl DescriptionFields {
    /// The field names, in order of first appearance.
    ///
    /// ```
    /// use streamalert::publishers::description::RuleDescriptionParser;
    /// let fields = RuleDescriptionParser::parse(Some("b: 1\na: 2\nb: 3"));
    /// assert_eq!(fields.names().collect::<Vec<_>>(), ["description", "b", "a"]);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(name, _)| name.as_str())
    }

    /// The lines of field `name`, if present.
    ///
    /// ```
    /// use streamalert::publishers::description::RuleDescriptionParser;
    /// let fields = RuleDescriptionParser::parse(Some("b: 1\na: 2\nb: 3"));
    /// assert_eq!(fields.get("b"), Some(&["1".to_owned(), "3".to_owned()][..]));
    /// assert_eq!(fields.get("c"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, lines)| lines.as_slice())
    }

    /// `(name, lines)` pairs, in order of first appearance.
    ///
    /// ```
    /// use streamalert::publishers::description::RuleDescriptionParser;
    /// let fields = RuleDescriptionParser::parse(Some("Text\nref: x"));
    /// let pairs: Vec<_> = fields.iter().map(|(name, lines)| (name, lines.len())).collect();
    /// assert_eq!(pairs, [("description", 1), ("ref", 1)]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.fields
            .iter()
            .map(|(name, lines)| (name.as_str(), lines.as_slice()))
    }

    /// The fields as a JSON object of lists of strings, in order (StreamAlert's `dict`).
    ///
    /// ```
    /// use streamalert::publishers::description::RuleDescriptionParser;
    /// let json = RuleDescriptionParser::parse(Some("see https://x.y/z")).to_json();
    /// assert_eq!(json, serde_json::json!({"description": [], "see https": ["//x.y/z"]}));
    /// ```
    pub fn to_json(&self) -> Value {
        self.iter()
            .map(|(name, lines)| (name.to_owned(), Value::from(lines.to_vec())))
            .collect()
    }

    fn lines_mut(&mut self, name: &str) -> &mut Vec<String> {
        let index = match self.fields.iter().position(|(field, _)| field == name) {
            Some(index) => index,
            None => {
                self.fields.push((name.to_owned(), Vec::new()));
                self.fields.len() - 1
            }
        };
        &mut self.fields[index].1
    }
}

/// A description as the Slack publishers show it: the author, the description text and the
/// other fields, each joined into one text.
///
/// ```
/// use streamalert::publishers::description::RuleDescriptionParser;
///
/// let presented = RuleDescriptionParser::present(Some("author: A\nmaintainer: M"));
/// assert_eq!(presented.author, "M"); // the last of author / maintainer wins
/// assert_eq!(presented.to_json(), serde_json::json!({"author": "M", "description": "", "fields": {}}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presentation {
    /// The `author` or `maintainer` field, whichever comes last.
    pub author: String,
    /// The `description` field.
    pub description: String,
    /// Every other field, `(name, text)`, in order of first appearance.
    pub fields: Vec<(String, String)>,
}

impl Presentation {
    /// `{"author": …, "description": …, "fields": {…}}`, as StreamAlert's `present` returns.
    ///
    /// ```
    /// use streamalert::publishers::description::RuleDescriptionParser;
    /// let json = RuleDescriptionParser::present(Some("playbook: call Bob")).to_json();
    /// assert_eq!(json["fields"]["playbook"], "call Bob");
    /// ```
    pub fn to_json(&self) -> Value {
        let fields: Map<String, Value> = self
            .fields
            .iter()
            .map(|(name, text)| (name.clone(), Value::from(text.as_str())))
            .collect();
        serde_json::json!({"author": self.author, "description": self.description, "fields": fields})
    }
}

impl RuleDescriptionParser {
    /// Splits a description into fields (StreamAlert's `parse`). `None` is an empty description.
    ///
    /// The text is stripped and split on newlines, each line stripped. An empty line adds `""`
    /// to the current field; a line `label: rest` (label of at most 20 letters, digits, `-`,
    /// `_`, `&` or spaces, the line not starting with `http:` or `https:`) starts the field
    /// `label` (stripped, lower-cased) with `rest` (stripped); any other line continues the
    /// current field.
    ///
    /// ```
    /// use streamalert::publishers::description::RuleDescriptionParser;
    ///
    /// let fields = RuleDescriptionParser::parse(Some("Boiler too hot\n\nAuthor: Derek (CSIRT)"));
    /// assert_eq!(fields.get("description"), Some(&["Boiler too hot".to_owned(), String::new()][..]));
    /// assert_eq!(fields.get("author"), Some(&["Derek (CSIRT)".to_owned()][..]));
    /// assert_eq!(RuleDescriptionParser::parse(None).to_json(), serde_json::json!({"description": [""]}));
    /// ```
    pub fn parse(description: Option<&str>) -> DescriptionFields {
        let mut fields = DescriptionFields::default();
        let mut current = String::from("description");
        for line in py_strip(description.unwrap_or_default())
            .split('\n')
            .map(py_strip)
        {
            fields.lines_mut(&current);
            if line.is_empty() {
                fields.lines_mut(&current).push(String::new());
                continue;
            }
            let value = match split_field(line) {
                Some((label, remainder)) => {
                    current = py_strip(label).to_lowercase();
                    py_strip(remainder)
                }
                None => line,
            };
            fields.lines_mut(&current).push(value.to_owned());
        }
        fields
    }

    /// Parses a description and joins each field's lines (StreamAlert's `present`).
    ///
    /// Lines are joined with a space; blank lines between lines become that many newlines;
    /// leading and trailing blank lines are dropped; a line that continues a URL (the text so
    /// far plus the line still looks like a URL) is glued on with no separator.
    ///
    /// ```
    /// use streamalert::publishers::description::RuleDescriptionParser;
    ///
    /// let text = "description:\n  first\n  line\n\n\n  second\n\n";
    /// assert_eq!(RuleDescriptionParser::present(Some(text)).description, "first line\n\nsecond");
    /// ```
    pub fn present(description: Option<&str>) -> Presentation {
        let mut presentation = Presentation::default();
        for (name, lines) in Self::parse(description).iter() {
            let text = join_lines(lines);
            match name {
                "author" | "maintainer" => presentation.author = text,
                "description" => presentation.description = text,
                _ => match presentation
                    .fields
                    .iter_mut()
                    .find(|(field, _)| field == name)
                {
                    Some((_, existing)) => *existing = text,
                    None => presentation.fields.push((name.to_owned(), text)),
                },
            }
        }
        presentation
    }
}

/// `label: remainder` when the line is a field line (StreamAlert's `_FIELD_REGEX`).
fn split_field(line: &str) -> Option<(&str, &str)> {
    if line.starts_with("http:") || line.starts_with("https:") {
        return None;
    }
    let (label, remainder) = line.split_once(':')?;
    LABEL_REGEX.is_match(label).then_some((label, remainder))
}

/// Python's `str.isspace()`: Unicode whitespace plus the separators U+001C to U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// StreamAlert's `join_lines` of `present`.
fn join_lines(lines: &[String]) -> String {
    let mut document: Option<String> = None;
    let mut buffered_newlines = String::new();
    for line in lines {
        if line.is_empty() {
            buffered_newlines.push('\n');
            continue;
        }
        match document.as_mut() {
            None => {
                buffered_newlines.clear();
                document = Some(line.clone());
            }
            Some(text) => {
                let joined = format!("{text}{line}");
                if URL_REGEX.is_match(&joined) {
                    *text = joined;
                } else {
                    let separator = if buffered_newlines.is_empty() {
                        " "
                    } else {
                        buffered_newlines.as_str()
                    };
                    text.push_str(separator);
                    text.push_str(line);
                    buffered_newlines.clear();
                }
            }
        }
    }
    document.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value {
        RuleDescriptionParser::parse(Some(text)).to_json()
    }

    #[test]
    fn field_pattern_quirks() {
        assert_eq!(
            parsed("HTTP URL: x"),
            serde_json::json!({"description": [], "http url": ["x"]})
        );
        assert_eq!(
            parsed("https://x.y/z"),
            serde_json::json!({"description": ["https://x.y/z"]})
        );
        assert_eq!(
            parsed(":x"),
            serde_json::json!({"description": [], "": ["x"]})
        );
        assert_eq!(
            parsed("a: \nb"),
            serde_json::json!({"description": [], "a": ["", "b"]})
        );
        assert_eq!(
            parsed("x20_chars_exactly_ab: v")["x20_chars_exactly_ab"],
            serde_json::json!(["v"])
        );
        assert_eq!(
            parsed("x21_chars_exactly_abc: v"),
            serde_json::json!({"description": ["x21_chars_exactly_abc: v"]})
        );
        assert_eq!(parsed("ref ٣: v")["ref ٣"], serde_json::json!(["v"]));
    }

    #[test]
    fn url_joining_glues_words() {
        let presented = RuleDescriptionParser::present(Some("note: version\n1.23"));
        assert_eq!(
            presented.fields,
            [("note".to_owned(), "version1.23".to_owned())]
        );
        let presented = RuleDescriptionParser::present(Some("note: hello\nworld"));
        assert_eq!(
            presented.fields,
            [("note".to_owned(), "hello world".to_owned())]
        );
    }

    #[test]
    fn a_field_seen_twice_keeps_its_first_position() {
        let presented = RuleDescriptionParser::present(Some("a: 1\nb: 2\na: 3"));
        assert_eq!(
            presented.fields,
            [
                ("a".to_owned(), "1 3".to_owned()),
                ("b".to_owned(), "2".to_owned())
            ]
        );
    }
}
