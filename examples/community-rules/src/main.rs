//! StreamAlert's community rules, ported: CloudTrail and CloudWatch events, GuardDuty, AWS
//! Config, Duo, GitHub Enterprise, OneLogin, osquery, packetbeat, Trend Micro, BinaryAlert,
//! Fleet, and the MITRE ATT&CK right-to-left-override detection, each with the test events
//! StreamAlert ships for it (`rules/<group>/<rule>.json`).
//!
//! ```text
//! cd examples/community-rules
//! cargo run -- test                                  # every test event under rules/
//! cargo run -- process --input records.jsonl         # outputs from conf/outputs.json
//! ```
//!
//! The rules live in `src/rules/`, one module per log source; their doc comments are
//! StreamAlert's docstrings (the Slack and PagerDuty publishers show them). `README.md` lists
//! the rules with their test events, what differs from StreamAlert and what was left out.

mod rules;

streamalert::main!();
