//! Rules: functions of a record that decide whether it is an alert.
//!
//! A rule is a function registered with [`#[rule(...)]`](macro@crate::rule): it applies to the log
//! types in `logs` (or to every log type when only `datatypes` is declared), runs after its
//! `req_subkeys` and `matchers` pass, and on `true` produces an [`Alert`](crate::Alert) for its
//! static and dynamic outputs. A rule that panics or returns an error counts as not triggered;
//! the failure is logged with the rule's name and the other rules carry on.

mod engine;
pub mod helpers;
pub mod matchers;
mod outcome;

pub use engine::{Payload, RulesEngine, has_required_subkeys, is_valid_output};
pub use outcome::{DynamicOutputs, RuleOutcome};

use crate::alert::{Context, Record};
use crate::location::Location;
use crate::publisher::PublisherSpec;

/// A rule as `#[rule]` registers it. Read it through [`registry()`](crate::registry()).
#[derive(Debug)]
pub struct Rule {
    /// The rule's name: its function's name.
    pub name: &'static str,
    /// Its doc comment, or `No rule description provided`.
    pub description: &'static str,
    /// The log types it applies to; `None` (only `datatypes`) means every log type.
    pub logs: Option<&'static [&'static str]>,
    /// The normalized data types it reads.
    pub datatypes: &'static [&'static str],
    /// Its static outputs, each `service:descriptor`.
    pub outputs: &'static [&'static str],
    /// Functions that add outputs at run time.
    pub dynamic_outputs: &'static [DynamicOutput],
    /// Functions that must all return true before the rule runs.
    pub matchers: &'static [MatcherFn],
    /// Keys that must be objects in the record, with sub-keys that must be present.
    pub req_subkeys: &'static [(&'static str, &'static [&'static str])],
    /// The publishers of its outputs.
    pub publishers: StaticPublishers,
    /// The initial context, when the rule declares one.
    pub context: Option<fn() -> Context>,
    /// Keys whose equal values merge alerts of this rule.
    pub merge_by_keys: &'static [&'static str],
    /// The merge window in minutes (0: no merging).
    pub merge_window_mins: u64,
    /// A disabled rule is registered but never evaluated.
    pub disabled: bool,
    /// The rule function.
    pub func: RuleFn,
    /// Where the rule is defined.
    pub location: Location,
}

/// The two shapes of rule function, wrapped to report errors as text.
#[derive(Clone, Copy)]
pub enum RuleFn {
    /// `fn(&Record) -> bool` (or `Result<bool, E>`).
    Record(fn(&Record) -> Result<bool, String>),
    /// `fn(&Record, &mut Context) -> bool` (or `Result<bool, E>`).
    WithContext(fn(&Record, &mut Context) -> Result<bool, String>),
}

impl std::fmt::Debug for RuleFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Record(_) => "RuleFn::Record",
            Self::WithContext(_) => "RuleFn::WithContext",
        })
    }
}

/// A matcher: `fn(&Record) -> bool`, wrapped to report errors as text.
pub type MatcherFn = fn(&Record) -> Result<bool, String>;

/// A dynamic-output function, wrapped: the record and the rule's context in, outputs out.
pub type DynamicOutputFn = fn(&Record, &Context) -> Result<Vec<String>, String>;

/// A dynamic-output function as `#[rule(dynamic_outputs = [...])]` registers it: its name, so
/// that a failure is reported by it, and the function.
#[derive(Clone, Copy)]
pub struct DynamicOutput {
    /// The function's path as the rule names it, e.g. `team_output`.
    pub name: &'static str,
    /// The function.
    pub func: DynamicOutputFn,
}

impl std::fmt::Debug for DynamicOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DynamicOutput").field(&self.name).finish()
    }
}

impl std::fmt::Display for Rule {
    /// StreamAlert's `str(rule)`: `<Rule: NAME; outputs: ['slack:secops']; disabled: False>`
    /// (the outputs as Python prints a list of strings).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outputs: Vec<String> = self
            .outputs
            .iter()
            .map(|o| crate::json::py_repr(o))
            .collect();
        write!(
            f,
            "<Rule: {}; outputs: [{}]; disabled: {}>",
            self.name,
            outputs.join(", "),
            if self.disabled { "True" } else { "False" }
        )
    }
}

/// A rule's `publishers` as `#[rule]` writes it: names only, checked by the compiler.
#[derive(Debug, Clone, Copy, Default)]
pub enum StaticPublishers {
    /// No publishers.
    #[default]
    None,
    /// These publishers for every output.
    List(&'static [&'static str]),
    /// Per service or `service:descriptor`.
    Map(&'static [(&'static str, &'static [&'static str])]),
}

impl From<StaticPublishers> for PublisherSpec {
    fn from(value: StaticPublishers) -> Self {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        match value {
            StaticPublishers::None => Self::None,
            StaticPublishers::List([]) => Self::None,
            StaticPublishers::List(names) => Self::List(owned(names)),
            StaticPublishers::Map(entries) => Self::Map(
                entries
                    .iter()
                    .map(|(key, names)| ((*key).to_owned(), owned(names)))
                    .collect(),
            ),
        }
    }
}

inventory::collect!(Rule);

/// Every registered rule, sorted by name (then by where it is defined).
pub(crate) fn registered() -> Vec<&'static Rule> {
    let mut rules: Vec<_> = inventory::iter::<Rule>.into_iter().collect();
    rules.sort_by_key(|rule| (rule.name, rule.location));
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_streamalert_prints_a_rule() {
        let rule = Rule {
            name: "root_login",
            description: "",
            logs: None,
            datatypes: &[],
            outputs: &["slack:secops", "slack:it's"],
            dynamic_outputs: &[],
            matchers: &[],
            req_subkeys: &[],
            publishers: StaticPublishers::None,
            context: None,
            merge_by_keys: &[],
            merge_window_mins: 0,
            disabled: true,
            func: RuleFn::Record(|_| Ok(true)),
            location: Location {
                file: file!(),
                line: line!(),
            },
        };
        assert_eq!(
            rule.to_string(),
            r#"<Rule: root_login; outputs: ['slack:secops', "slack:it's"]; disabled: True>"#
        );
    }
}
