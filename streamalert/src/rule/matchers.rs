//! StreamAlert's default matchers (`matchers/default.py`): plain `fn(&Record) -> bool` to list
//! in a rule's `matchers`. One module per StreamAlert matcher class.
//!
//! A key a matcher needs that is missing makes it `false` (StreamAlert raises, which counts as
//! false).
//!
//! ```standalone_crate
//! use streamalert::prelude::*;
//! use streamalert::rule::matchers::osquery;
//!
//! /// Logins on a host, from osquery's `last` table.
//! #[rule(logs = ["osquery:differential"], matchers = [osquery::added, osquery::user_login])]
//! fn ssh_login_activity(_: &Record) -> bool {
//!     true
//! }
//! # streamalert::services!();
//! # fn main() {}
//! ```

/// `AwsGuardDutyMatcher`: Amazon GuardDuty findings.
pub mod aws_guard_duty {
    use crate::alert::Record;

    /// True for a GuardDuty finding: `detail-type` is `GuardDuty Finding`.
    ///
    /// ```
    /// use streamalert::rule::matchers::aws_guard_duty::guard_duty;
    /// assert!(guard_duty(&serde_json::json!({"detail-type": "GuardDuty Finding"})));
    /// assert!(!guard_duty(&serde_json::json!({"detail-type": "AWS API Call via CloudTrail"})));
    /// ```
    pub fn guard_duty(rec: &Record) -> bool {
        rec["detail-type"] == "GuardDuty Finding"
    }
}

/// `OsqueryMatcher`: osquery result logs.
pub mod osquery {
    use crate::alert::Record;
    use crate::rule::helpers::py_int;
    use serde_json::Value;

    /// The `type` of a login row in osquery's `last` table.
    pub const EVENT_TYPE_LOGIN: i64 = 7;

    /// Usernames of `last` rows that are not logins of a person.
    pub const RUNLEVELS: [&str; 5] = ["", "LOGIN", "reboot", "shutdown", "runlevel"];

    /// True for a row that was added to a differential result: `action` is `added`.
    ///
    /// ```
    /// use streamalert::rule::matchers::osquery::added;
    /// assert!(added(&serde_json::json!({"action": "added"})));
    /// assert!(!added(&serde_json::json!({"action": "removed"})));
    /// ```
    pub fn added(rec: &Record) -> bool {
        rec["action"] == "added"
    }

    /// True for a user login from the `last` table of the default `incident-response` pack:
    /// `name` is `pack_incident-response_last`, `columns.type` is 7 (as an integer or integer
    /// text) and `columns.username` is present and not a run level ([`RUNLEVELS`]).
    ///
    /// ```
    /// use streamalert::rule::matchers::osquery::user_login;
    /// use serde_json::json;
    /// let login = json!({"name": "pack_incident-response_last", "columns": {"type": "7", "username": "vagrant"}});
    /// assert!(user_login(&login));
    /// let runlevel = json!({"name": "pack_incident-response_last", "columns": {"type": "7", "username": "runlevel"}});
    /// assert!(!user_login(&runlevel));
    /// let logout = json!({"name": "pack_incident-response_last", "columns": {"type": "8", "username": "vagrant"}});
    /// assert!(!user_login(&logout));
    /// ```
    pub fn user_login(rec: &Record) -> bool {
        let columns = &rec["columns"];
        rec["name"] == "pack_incident-response_last"
            && py_int(&columns["type"]) == Some(EVENT_TYPE_LOGIN)
            && match columns.get("username") {
                None => false,
                Some(Value::String(username)) => !RUNLEVELS.contains(&username.as_str()),
                Some(_) => true,
            }
    }
}

/// `AwsConfigMatcher`: AWS Config events in CloudTrail.
pub mod aws_config {
    use crate::alert::Record;
    use crate::rule::helpers::is_truthy;

    /// True for a Config compliance evaluation outside test mode: `eventSource` is
    /// `config.amazonaws.com`, `eventName` is `PutEvaluations` and `requestParameters.testMode`
    /// is present and falsy.
    ///
    /// ```
    /// use streamalert::rule::matchers::aws_config::is_config_compliance;
    /// use serde_json::json;
    /// let rec = json!({"eventSource": "config.amazonaws.com", "eventName": "PutEvaluations",
    ///                  "requestParameters": {"testMode": false}});
    /// assert!(is_config_compliance(&rec));
    /// ```
    pub fn is_config_compliance(rec: &Record) -> bool {
        rec["eventSource"] == "config.amazonaws.com"
            && rec["eventName"] == "PutEvaluations"
            && rec["requestParameters"]
                .get("testMode")
                .is_some_and(|test_mode| !is_truthy(test_mode))
    }

    /// True for an automatic remediation by Config: `eventName` is `StartAutomationExecution`,
    /// `eventSource` is `ssm.amazonaws.com` and `sourceIPAddress` is `config.amazonaws.com`.
    ///
    /// ```
    /// use streamalert::rule::matchers::aws_config::is_auto_remediation;
    /// use serde_json::json;
    /// let rec = json!({"eventName": "StartAutomationExecution", "eventSource": "ssm.amazonaws.com",
    ///                  "sourceIPAddress": "config.amazonaws.com"});
    /// assert!(is_auto_remediation(&rec));
    /// ```
    pub fn is_auto_remediation(rec: &Record) -> bool {
        rec["eventName"] == "StartAutomationExecution"
            && rec["eventSource"] == "ssm.amazonaws.com"
            && rec["sourceIPAddress"] == "config.amazonaws.com"
    }
}
