//! Duo administrator and authentication logs (`rules/community/duo_administrator/`,
//! `rules/community/duo_authentication/`).

use serde_json::Value;
use streamalert::prelude::*;
use streamalert::rule::helpers::safe_json_loads;

/// For a `bypass_create` record, the bypass code's settings: the JSON object inside the
/// `description` text (`{}` when it does not parse). `None` for other records, and where
/// StreamAlert raises: a description that is not text or that holds JSON other than an object.
fn bypass_code(rec: &Record) -> Option<Value> {
    if rec["action"] != "bypass_create" {
        return None;
    }
    let settings = safe_json_loads(rec["description"].as_str()?);
    settings.is_object().then_some(settings)
}

/// author:       @mimeframe
/// description:  Alert when a DUO bypass code is artisanly crafted and not auto-generated.
/// reference:    https://duo.com/docs/administration-users#generating-a-bypass-code
#[rule(logs = ["duo:administrator"], outputs = ["file:alerts", "stdout:console"])]
fn duo_bypass_code_create_non_auto_generated(rec: &Record) -> bool {
    bypass_code(rec).is_some_and(|code| code.get("auto_generated") == Some(&Value::Bool(false)))
}

/// author:       @mimeframe
/// description:  Alert when a DUO bypass code is created that is non-expiring.
/// reference:    https://duo.com/docs/administration-users#generating-a-bypass-code
#[rule(logs = ["duo:administrator"], outputs = ["file:alerts", "stdout:console"])]
fn duo_bypass_code_create_non_expiring(rec: &Record) -> bool {
    bypass_code(rec).is_some_and(|code| code.get("valid_secs").is_none_or(Value::is_null))
}

/// author:       @mimeframe
/// description:  Alert when a DUO bypass code is created that has unlimited use.
/// reference:    https://duo.com/docs/administration-users#generating-a-bypass-code
#[rule(logs = ["duo:administrator"], outputs = ["file:alerts", "stdout:console"])]
fn duo_bypass_code_create_unlimited_use(rec: &Record) -> bool {
    bypass_code(rec).is_some_and(|code| code.get("remaining_uses").is_none_or(Value::is_null))
}

/// author:       airbnb_csirt
/// description:  Alert on Duo auth logs marked as a failure due to an Anonymous IP.
/// reference:    https://duo.com/docs/policy#anonymous-networks
/// playbook:     N/A
#[rule(logs = ["duo:authentication"], outputs = ["file:alerts", "stdout:console"])]
fn duo_anonymous_ip_failure(rec: &Record) -> bool {
    rec["result"] == "FAILURE" && rec["reason"] == "Anonymous IP"
}

/// author:       airbnb_csirt
/// description:  Alert on any Duo authentication logs marked as fraud.
/// reference:    https://duo.com/docs/adminapi#authentication-logs
/// playbook:     N/A
#[rule(logs = ["duo:authentication"], outputs = ["file:alerts", "stdout:console"])]
fn duo_fraud(rec: &Record) -> bool {
    rec["result"] == "FRAUD"
}
