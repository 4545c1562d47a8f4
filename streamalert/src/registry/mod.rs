//! Everything `#[rule]`, `#[publisher]` and `#[output]` registered, across all linked crates.
//!
//! Registration happens through `inventory` before `main` runs; nothing is listed by hand.
//! [`registry()`] gives sorted views with each item's source location, and
//! [`Registry::problems`] reports what no compiler can see: names registered twice across crates;
//! [`validate`] checks the registrations against the configuration.
//!
//! Each kind keeps its entry type beside its trait ([`Rule`], [`PublisherEntry`],
//! [`OutputEntry`]); this module only reads them, and only the commands and the test runner
//! read it.

mod validate;

pub use crate::location::Location;
pub use validate::{Problem, ProblemKind, validate};

use crate::output::OutputEntry;
use crate::publisher::PublisherEntry;
use crate::rule::Rule;
use std::collections::HashMap;
use std::sync::OnceLock;

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
        let mut publishers: Vec<_> = crate::publisher::entries().collect();
        publishers.sort_by_key(|entry| (entry.name, entry.location));
        let mut outputs: Vec<_> = crate::output::entries().collect();
        outputs.sort_by_key(|entry| (entry.service, entry.location));
        Registry {
            rules: crate::rule::registered(),
            publishers,
            outputs,
        }
    })
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
