//! The keywords of the macros' grammars, in one place (serde_derive's `symbol.rs`).

/// `#[rule(logs = […])]`
pub(crate) const LOGS: &str = "logs";
/// `#[rule(datatypes = […])]`
pub(crate) const DATATYPES: &str = "datatypes";
/// `#[rule(outputs = […])]`
pub(crate) const OUTPUTS: &str = "outputs";
/// `#[rule(dynamic_outputs = […])]`
pub(crate) const DYNAMIC_OUTPUTS: &str = "dynamic_outputs";
/// `#[rule(publishers = …)]`
pub(crate) const PUBLISHERS: &str = "publishers";
/// `#[rule(matchers = […])]`
pub(crate) const MATCHERS: &str = "matchers";
/// `#[rule(req_subkeys = {…})]`
pub(crate) const REQ_SUBKEYS: &str = "req_subkeys";
/// `#[rule(context = {…})]`
pub(crate) const CONTEXT: &str = "context";
/// `#[rule(merge_by_keys = […])]`
pub(crate) const MERGE_BY_KEYS: &str = "merge_by_keys";
/// `#[rule(merge_window_mins = N)]`
pub(crate) const MERGE_WINDOW_MINS: &str = "merge_window_mins";
/// `#[rule(disabled)]`
pub(crate) const DISABLED: &str = "disabled";

/// Every argument of `#[rule]`, in the order the docs and messages list them.
pub(crate) const RULE_ARGUMENTS: &[&str] = &[
    LOGS,
    DATATYPES,
    OUTPUTS,
    DYNAMIC_OUTPUTS,
    PUBLISHERS,
    MATCHERS,
    REQ_SUBKEYS,
    CONTEXT,
    MERGE_BY_KEYS,
    MERGE_WINDOW_MINS,
    DISABLED,
];

/// `#[output(service = "…")]`
pub(crate) const SERVICE: &str = "service";
/// `#[output(fields = […])]`
pub(crate) const FIELDS: &str = "fields";
/// `#[output(builtin)]`, for streamalert's own outputs (not listed in messages).
pub(crate) const BUILTIN: &str = "builtin";

/// `#[publisher(name = "…")]`
pub(crate) const NAME: &str = "name";

/// The reference kinds `__check_refs!` receives: a rule's outputs or a publisher's keys.
pub(crate) const RULE: &str = "rule";
/// See [`RULE`].
pub(crate) const PUBLISHER: &str = "publisher";

/// `list` as `` `a`, `b`, `c` ``, for "expected one of" messages.
pub(crate) fn quoted(list: &[&str]) -> String {
    list.iter()
        .map(|keyword| format!("`{keyword}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
