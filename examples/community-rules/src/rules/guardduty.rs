//! Amazon GuardDuty (`rules/community/guardduty/`).

use streamalert::prelude::*;
use streamalert::rule::matchers::aws_guard_duty;

/// author:         spiper
/// description:    Alert on GuardDuty events
/// playbook:       (a) identify the AWS account in the log
///                 (b) identify what resource(s) are impacted
///                 (c) contact the point-of-contact for the account
/// testing:        From the GuardDuty AWS page (https://console.aws.amazon.com/guardduty/home)
///                 click the button to "Generate Sample Findings"
#[rule(
    logs = ["cloudwatch:events"],
    matchers = [aws_guard_duty::guard_duty],
    outputs = ["file:alerts", "stdout:console"],
)]
fn guard_duty_all(_: &Record) -> bool {
    true
}
