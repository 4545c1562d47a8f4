//! The community rules, one module per log source (StreamAlert's `rules/community/` and
//! `rules/sample/`).
//!
//! Rules whose StreamAlert version has no outputs deliver to `file:alerts` and
//! `stdout:console` here, so that `process` shows their alerts on a laptop; the publisher demo
//! and the Demisto sample keep StreamAlert's outputs.
//!
//! A rule receives the parsed record. Where StreamAlert's Python would raise on a malformed
//! record (say, `null` where an object is expected) and so not trigger, these read the missing
//! value as `null` and do not trigger either.

mod binaryalert;
mod cloudtrail;
mod cloudwatch_events;
mod duo;
mod fleet;
mod github;
mod guardduty;
mod mitre_attack;
mod onelogin;
mod osquery;
mod packetbeat;
mod sample;
mod trendmicro;

/// StreamAlert's public-group grantee URIs: anyone on the internet, any AWS account.
const PUBLIC_ACLS: [&str; 2] = [
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    "http://acs.amazonaws.com/groups/global/AllUsers",
];
