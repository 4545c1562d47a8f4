//! CloudTrail events delivered through S3 (`cloudtrail:events`): StreamAlert's
//! `rules/community/cloudtrail/` and the `cloudtrail:events` rules of
//! `rules/community/cloudwatch_events/`.

use serde_json::Value;
use streamalert::prelude::*;
use streamalert::rule::helpers::is_truthy;
use streamalert::rule::matchers::aws_config;

/// Config rules to alert on; empty: every Config rule. Useful when some rules are too noisy.
const RULES_TO_ALERT_ON: [&str; 0] = [];

/// author:         jack (jack1902)
/// description:    Alert on AWS Config Complaince Change events of NON_COMPLIANT
/// testing:        From the Config page (https://console.aws.amazon.com/config/home)
///                 ensure recording is turned on. And you have a basic rule you can
///                 trigger as compliant or non-compliant.
#[rule(
    logs = ["cloudtrail:events"],
    matchers = [aws_config::is_config_compliance],
    outputs = ["file:alerts", "stdout:console"],
)]
fn config_compliance(rec: &Record) -> bool {
    let non_compliance_present = rec["requestParameters"]["evaluations"]
        .as_array()
        .is_some_and(|evaluations| {
            evaluations
                .iter()
                .any(|evaluation| evaluation["complianceType"] == "NON_COMPLIANT")
        });
    if RULES_TO_ALERT_ON.is_empty() {
        return non_compliance_present;
    }
    let rule_name = rec["additionalEventData"]["configRuleName"].as_str();
    rule_name.is_some_and(|name| RULES_TO_ALERT_ON.contains(&name)) && non_compliance_present
}

/// author:         jack (jack1902)
/// description:    Alert on AWS Config Auto Remediation
/// testing:        From the Config page (https://console.aws.amazon.com/config/home)
///                 ensure recording is turned on. And you have a basic rule you can
///                 trigger as compliant or non-compliant. Then trigger the remediation
///                 either manually or have it done automatically.
#[rule(
    logs = ["cloudtrail:events"],
    matchers = [aws_config::is_auto_remediation],
    outputs = ["file:alerts", "stdout:console"],
)]
fn config_auto_remediation(_: &Record) -> bool {
    true
}

/// API calls that stop or delete security logs or delete critical resources.
const CRITICAL_EVENTS: [&str; 16] = [
    // VPC Flow Logs (~netflow)
    "DeleteFlowLogs",
    // Critical, large resources
    "DeleteSubnet",
    "DeleteVpc",
    "DeleteDBCluster",
    "DeleteCluster",
    // CloudTrail
    "DeleteTrail",
    "PutEventSelectors",
    "UpdateTrail",
    "StopLogging",
    // AWS Config
    "DeleteDeliveryChannel",
    "StopConfigurationRecorder",
    // CloudWatch
    "DeleteRule",
    "DisableRule",
    // GuardDuty
    "DeleteDetector",
    // S3 Public Access Block
    "DeleteAccountPublicAccessBlock",
    // EBS default encryption
    "DisableEbsEncryptionByDefault",
];

/// The settings of an S3 public access block; any of them turned off is an alert.
const PUBLIC_ACCESS_BLOCK_CONFIG_ACTIONS: [&str; 4] = [
    "RestrictPublicBuckets",
    "BlockPublicPolicy",
    "BlockPublicAcls",
    "IgnorePublicAcls",
];

/// Sensitive AWS Organizations calls.
const AWS_ORG_EVENTS: [&str; 15] = [
    "AttachPolicy",
    "CreateOrganizationUnit",
    "CreatePolicy",
    "DeletePolicy",
    "DeleteOrganizationUnit",
    "DetachPolicy",
    "DisableAWSServiceAccess",
    "DisablePolicyType",
    "EnableAllFeatures",
    "EnableAWSServiceAccess",
    "EnablePolicyType",
    "LeaveOrganization",
    "MoveAccount",
    "RemoveAccountFromOrganization",
    "UpdatePolicy",
];

/// author:           airbnb_csirt
/// description:      Alert on AWS API calls that stop or delete security/infrastructure logs.
///                   Additionally, alert on AWS API calls that delete critical resources
///                   (VPCs, Subnets, DB's, ...)
/// reference:        https://medium.com/@robwitoff/
///                       proactive-cloud-security-w-aws-organizations-d58695bcae16#.tx2e6iju0
/// playbook:         (a) identify the AWS account in the log
///                   (b) identify what resource(s) are impacted by the API call
///                   (c) determine if the intent is valid, malicious or accidental
#[rule(logs = ["cloudtrail:events"], outputs = ["file:alerts", "stdout:console"])]
fn cloudtrail_critical_api_calls(rec: &Record) -> bool {
    let event_name = rec["eventName"].as_str().unwrap_or_default();
    if CRITICAL_EVENTS.contains(&event_name) {
        return true;
    }
    let params = &rec["requestParameters"];
    // GuardDuty being disabled: `enable` set to a falsy value.
    if event_name == "UpdateDetector" && params.get("enable").is_some_and(|e| !is_truthy(e)) {
        return true;
    }
    // A public access block with any of its settings turned off.
    if ["PutBucketPublicAccessBlock", "PutAccountPublicAccessBlock"].contains(&event_name) {
        let config = &params["PublicAccessBlockConfiguration"];
        if PUBLIC_ACCESS_BLOCK_CONFIG_ACTIONS
            .iter()
            .any(|action| config.get(*action) == Some(&Value::Bool(false)))
        {
            return true;
        }
    }
    rec["eventSource"] == "organizations.amazonaws.com" && AWS_ORG_EVENTS.contains(&event_name)
}

/// IAM actions an attacker holding only leaked access keys would try.
const IAM_ACTIONS: [&str; 8] = [
    "CreateUser",
    "CreateAccessKey",
    "DetachUserPolicy",
    "DetachGroupPolicy",
    "RemoveUserFromGroup",
    "DeleteUserPolicy",
    "PutGroupPolicy",
    "PutUserPolicy",
];

/// MFA device calls whose failure may be an attempt on a flawed MFA enforcement policy.
const MFA_EVENT_NAMES: [&str; 2] = ["CreateVirtualMFADevice", "EnableMFADevice"];

/// author:           Scott Piper of Summit Route in collaboration with Duo Security
/// description:      Alert on potential attacks performed by users that are supposed to have
///                     MFA enforced. May indicate leaked access keys and an attempt to abuse
///                     a flawed MFA enforcement policy.
/// playbook:         (a) Identify whether or not the attempt was a mistake.
///                   (b) Begin IR: Roll access keys, investigate past CloudTrail logs for
///                   other actions performed, investigate how the keys were leaked in the
///                   first place.
#[rule(logs = ["cloudtrail:events"], outputs = ["file:alerts", "stdout:console"])]
fn cloudtrail_mfa_policy_abuse_attempt(rec: &Record) -> bool {
    // Not MFA authenticated unless the session says so.
    let mfa_authenticated =
        &rec["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"];
    if mfa_authenticated == "true" {
        return false;
    }
    let event_name = rec["eventName"].as_str().unwrap_or_default();
    // Removing an MFA device, or an IAM action, without MFA.
    if event_name == "DeactivateMFADevice" || IAM_ACTIONS.contains(&event_name) {
        return true;
    }
    // A failed MFA device creation: AccessDenied, EntityAlreadyExists or LimitExceeded.
    is_truthy(&rec["errorCode"]) && MFA_EVENT_NAMES.contains(&event_name)
}

/// True when `permission.add.items` (a list) holds an item whose `group` is `all`.
fn adds_group_all(permission: &Value) -> bool {
    permission["add"]["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|item| item["group"] == "all"))
}

/// author:           spiper
/// description:      Alert on AWS API calls that make EBS snapshots,
///                     RDS snapshots, or AMIs public.
/// playbook:         (a) identify the AWS account in the log
///                   (b) identify what resource(s) are impacted by the API call
///                   (c) determine if the intent is valid, malicious or accidental
#[rule(logs = ["cloudtrail:events"], outputs = ["file:alerts", "stdout:console"])]
fn cloudtrail_snapshot_or_ami_made_public(rec: &Record) -> bool {
    let params = &rec["requestParameters"];
    match rec["eventName"].as_str() {
        // AMIs
        Some("ModifyImageAttribute") => {
            params["attributeType"] == "launchPermission"
                && adds_group_all(&params["launchPermission"])
        }
        // EBS snapshots
        Some("ModifySnapshotAttribute") => {
            params["attributeType"] == "CREATE_VOLUME_PERMISSION"
                && adds_group_all(&params["createVolumePermission"])
        }
        // RDS snapshots
        Some("ModifyDBClusterSnapshotAttribute") => params["valuesToAdd"]
            .as_array()
            .is_some_and(|values| values.iter().any(|v| v == "all")),
        _ => false,
    }
}
