use super::DEFAULT_PUBLISHER;
use crate::alert::REQUIRED_OUTPUT;
use crate::output_ref::OutputRef;
use serde_json::{Map, Value};

/// A rule's `publishers` argument: the publishers of every output, or per output in a map.
///
/// The rules engine turns it into the per-output lists stored on each alert
/// ([`PublisherSpec::for_outputs`]): for a map, the entry of the bare service comes first,
/// then the entry of the exact `service:descriptor`.
///
/// ```
/// use streamalert::publisher::PublisherSpec;
/// use serde_json::json;
///
/// let spec = PublisherSpec::from_json(&json!({"slack": "streamalert.shared.publisher.DefaultPublisher"}));
/// let stored = spec.for_outputs(["slack:secops", "pagerduty:oncall", "aws-firehose:alerts"]);
/// assert_eq!(stored, json!({
///     "slack:secops": ["streamalert.shared.publisher.DefaultPublisher"],
///     "pagerduty:oncall": []
/// }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PublisherSpec {
    /// No publishers: outputs get the default publication.
    #[default]
    None,
    /// These publishers, in order, for every output.
    List(Vec<String>),
    /// Per output: `(key, publishers)` where the key is a service or a `service:descriptor`.
    Map(Vec<(String, Vec<String>)>),
    /// A value that is no publisher declaration at all: every output maps to `[]`.
    Invalid(String),
}

impl PublisherSpec {
    /// Reads a spec from JSON as a StreamAlert rule states it: a name, a list or a map of
    /// names or lists. Entries that are not names are logged and dropped.
    pub fn from_json(value: &Value) -> Self {
        match value {
            Value::Null => Self::None,
            Value::String(name) if name.is_empty() => Self::None,
            Value::String(name) => Self::List(vec![name.clone()]),
            Value::Array(items) if items.is_empty() => Self::None,
            Value::Array(items) => Self::List(names(items)),
            Value::Object(map) if map.is_empty() => Self::None,
            Value::Object(map) => Self::Map(
                map.iter()
                    .map(|(key, value)| {
                        let list = match value {
                            Value::String(name) => vec![name.clone()],
                            Value::Array(items) => names(items),
                            _ => Vec::new(),
                        };
                        (key.clone(), list)
                    })
                    .collect(),
            ),
            other => {
                tracing::error!("Invalid publisher argument: {other}");
                Self::Invalid(other.to_string())
            }
        }
    }

    /// The `publishers` value stored on an alert with these `outputs`: one list of registered
    /// names per output except the required `aws-firehose:alerts`, or `null` without a spec.
    pub fn for_outputs<I, S>(&self, outputs: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if *self == Self::None {
            return Value::Null;
        }
        let mut stored = Map::new();
        for output in outputs {
            let output = output.as_ref();
            if output == REQUIRED_OUTPUT {
                continue;
            }
            let list: Vec<Value> = self
                .declared_for(output)
                .filter(|name| is_registered(name))
                .map(|name| Value::String(name.to_owned()))
                .collect();
            stored.insert(output.to_owned(), Value::Array(list));
        }
        Value::Object(stored)
    }

    fn declared_for<'a>(&'a self, output: &'a str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        match self {
            Self::None | Self::Invalid(_) => Box::new(std::iter::empty()),
            Self::List(names) => Box::new(names.iter().map(String::as_str)),
            Self::Map(entries) => {
                let service = OutputRef::parse(output).map_or(output, |o| o.service);
                let entry = move |key: &'a str| {
                    entries
                        .iter()
                        .filter(move |(k, _)| k == key)
                        .flat_map(|(_, names)| names.iter().map(String::as_str))
                };
                Box::new(entry(service).chain(entry(output)))
            }
        }
    }
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(name) => Some(name.clone()),
            other => {
                tracing::error!("Invalid publisher requested: {other}");
                None
            }
        })
        .collect()
}

fn is_registered(name: &str) -> bool {
    let registered = name == DEFAULT_PUBLISHER || super::get(name).is_some();
    if !registered {
        tracing::warn!("Requested publisher named ({name}) is not registered.");
    }
    registered
}
