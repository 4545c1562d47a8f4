//! Everything `#[rule]`, `#[publisher]` and `#[output]` registered, across all linked crates.
//!
//! Registration happens through `inventory` before `main` runs; nothing is listed by hand.
//! [`registry()`] gives sorted views with each item's source location, and
//! [`Registry::problems`] reports what no compiler can see: names registered twice across crates.

use crate::output::Output;
use crate::publisher::Publisher;
use crate::rule::Rule;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// Where an item is defined: `file!()` and `line!()` of its macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Source file, as `file!()` gives it.
    pub file: &'static str,
    /// Line of the item's attribute.
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A publisher as `#[publisher]` registers it.
pub struct PublisherEntry {
    /// Its registered name (StreamAlert's fully qualified name for the built-in ones).
    pub name: &'static str,
    /// Makes the one instance the process uses.
    pub make: fn() -> Box<dyn Publisher>,
    /// Where it is defined.
    pub location: Location,
}

/// An output service as `#[output]` registers it.
pub struct OutputEntry {
    /// The service name, e.g. `slack`.
    pub service: &'static str,
    /// The `@service.field` publication keys it reads.
    pub fields: &'static [&'static str],
    /// Makes the instance the process uses.
    pub make: fn() -> Box<dyn Output>,
    /// Where it is defined.
    pub location: Location,
}

impl fmt::Debug for PublisherEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherEntry")
            .field("name", &self.name)
            .field("location", &self.location)
            .finish()
    }
}

impl fmt::Debug for OutputEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputEntry")
            .field("service", &self.service)
            .field("fields", &self.fields)
            .field("location", &self.location)
            .finish()
    }
}

inventory::collect!(Rule);
inventory::collect!(PublisherEntry);
inventory::collect!(OutputEntry);

/// The registered rules, publishers and outputs, each sorted by name.
#[derive(Debug)]
pub struct Registry {
    rules: Vec<&'static Rule>,
    publishers: Vec<&'static PublisherEntry>,
    outputs: Vec<&'static OutputEntry>,
}

/// The process-wide registry, collected on first use.
///
/// ```
/// let registry = streamalert::registry();
/// assert!(registry.publisher("streamalert.shared.publisher.DefaultPublisher").is_some());
/// assert!(registry.output("file").is_some());
/// ```
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut rules: Vec<_> = inventory::iter::<Rule>.into_iter().collect();
        rules.sort_by_key(|rule| (rule.name, rule.location));
        let mut publishers: Vec<_> = publisher_entries().collect();
        publishers.sort_by_key(|entry| (entry.name, entry.location));
        let mut outputs: Vec<_> = inventory::iter::<OutputEntry>.into_iter().collect();
        outputs.sort_by_key(|entry| (entry.service, entry.location));
        Registry {
            rules,
            publishers,
            outputs,
        }
    })
}

pub(crate) fn publisher_entries() -> impl Iterator<Item = &'static PublisherEntry> {
    inventory::iter::<PublisherEntry>.into_iter()
}

impl Registry {
    /// Every rule, sorted by name.
    pub fn rules(&self) -> &[&'static Rule] {
        &self.rules
    }

    /// Every publisher, sorted by name.
    pub fn publishers(&self) -> &[&'static PublisherEntry] {
        &self.publishers
    }

    /// Every output service, sorted by name.
    pub fn outputs(&self) -> &[&'static OutputEntry] {
        &self.outputs
    }

    /// The rule named `name`.
    pub fn rule(&self, name: &str) -> Option<&'static Rule> {
        self.rules.iter().copied().find(|rule| rule.name == name)
    }

    /// The publisher registered as `name`.
    pub fn publisher(&self, name: &str) -> Option<&'static PublisherEntry> {
        self.publishers
            .iter()
            .copied()
            .find(|entry| entry.name == name)
    }

    /// The output registered for `service`.
    pub fn output(&self, service: &str) -> Option<&'static OutputEntry> {
        self.outputs
            .iter()
            .copied()
            .find(|entry| entry.service == service)
    }

    /// Names registered more than once across the linked crates, each with every location.
    ///
    /// ```
    /// assert!(streamalert::registry().problems().is_empty());
    /// ```
    pub fn problems(&self) -> Vec<RegistryProblem> {
        let mut problems = Vec::new();
        duplicates(
            "rule",
            self.rules.iter().map(|r| (r.name, r.location)),
            &mut problems,
        );
        duplicates(
            "publisher",
            self.publishers.iter().map(|p| (p.name, p.location)),
            &mut problems,
        );
        duplicates(
            "output service",
            self.outputs.iter().map(|o| (o.service, o.location)),
            &mut problems,
        );
        problems
    }
}

fn duplicates(
    kind: &'static str,
    items: impl Iterator<Item = (&'static str, Location)>,
    problems: &mut Vec<RegistryProblem>,
) {
    let mut seen: HashMap<&'static str, Vec<Location>> = HashMap::new();
    for (name, location) in items {
        seen.entry(name).or_default().push(location);
    }
    let mut repeated: Vec<_> = seen
        .into_iter()
        .filter(|(_, locations)| locations.len() > 1)
        .collect();
    repeated.sort();
    problems.extend(
        repeated
            .into_iter()
            .map(|(name, locations)| RegistryProblem::Duplicate {
                kind,
                name,
                locations,
            }),
    );
}

/// Something wrong with what the linked crates registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryProblem {
    /// One name registered at several places.
    #[error("{kind} `{name}` is registered more than once: {}", display_locations(.locations))]
    Duplicate {
        /// `rule`, `publisher` or `output service`.
        kind: &'static str,
        /// The repeated name.
        name: &'static str,
        /// Every place that registers it.
        locations: Vec<Location>,
    },
}

fn display_locations(locations: &[Location]) -> String {
    locations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
