//! CloudTrail events delivered as CloudWatch events (`cloudwatch:events`), from StreamAlert's
//! `rules/community/cloudwatch_events/`: the CloudTrail record is under `detail`.

use super::PUBLIC_ACLS;
use serde_json::Value;
use streamalert::prelude::*;
use streamalert::publishers::generic::{add_record, populate_fields};
use streamalert::publishers::pagerduty::{PrettyPrintArrays, ShortenTitle, as_custom_details};
use streamalert::publishers::slack::{AttachFullRecord, AttachRuleInfo, Summary};
use streamalert::rule::helpers::{data_has_value_from_substring_list, get_keys, is_truthy};

/// Buckets meant to be public, whose object ACL changes are not alerts.
const PUBLIC_BUCKETS: [&str; 1] = ["example-bucket-to-ignore"];

/// author:       airbnb_csirt
/// description:  Identifies creation of an AMI with a non encrypted volume
/// reference:    https://amzn.to/2rQilUn
/// playbook:     (a) Reach out to the user who created the volume
///               (b) Re-create the AMI with encryption enabled
///               (c) Delete the old AMI
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["requestParameters", "eventName"] },
    outputs = ["file:alerts", "stdout:console"],
)]
fn unencrypted_ami_volume(rec: &Record) -> bool {
    let detail = &rec["detail"];
    if detail["eventName"] != "CreateImage" {
        return false;
    }
    // `requestParameters` may be null; no block devices is no alert.
    match detail["requestParameters"]["blockDeviceMapping"]["items"].as_array() {
        Some(devices) if !devices.is_empty() => devices
            .iter()
            .all(|device| !is_truthy(&device["ebs"]["encrypted"])),
        _ => false,
    }
}

/// author:       airbnb_csirt
/// description:  Identifies creation of an AMI with a non encrypted volume
/// reference:    https://amzn.to/2rQilUn
/// playbook:     (a) Reach out to the user who created the volume
///               (b) Set the AMI to private
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["requestParameters", "eventName"] },
    outputs = ["file:alerts", "stdout:console"],
)]
fn public_ami(rec: &Record) -> bool {
    let detail = &rec["detail"];
    if detail["eventName"] != "ModifyImageAttribute" {
        return false;
    }
    let items = &detail["requestParameters"]["launchPermission"]["add"]["items"];
    for item in items.as_array().into_iter().flatten() {
        match item.get("group") {
            Some(group) if group == "all" => return true,
            Some(_) => {}
            // An item without a group makes StreamAlert's rule raise: no alert.
            None => return false,
        }
    }
    false
}

/// author:         @mimeframe
/// description:    Alert on AWS Network ACLs that allow ingress from anywhere.
/// reference_1:    http://docs.aws.amazon.com/AmazonVPC/latest/UserGuide/VPC_ACLs.html
/// reference_2:    http://docs.aws.amazon.com/AWSEC2/
///                 latest/APIReference/API_CreateNetworkAclEntry.html
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["eventName", "requestParameters"] },
    outputs = ["file:alerts", "stdout:console"],
)]
fn cloudtrail_network_acl_ingress_anywhere(rec: &Record) -> bool {
    let detail = &rec["detail"];
    let params = &detail["requestParameters"];
    detail["eventName"] == "CreateNetworkAclEntry"
        && params["cidrBlock"] == "0.0.0.0/0"
        && params["ruleAction"] == "allow"
        && params["egress"] == Value::Bool(false)
}

/// author:       airbnb_csirt
/// description:  Identifies a change to an S3 bucket ACL that grants access to AllUsers
///               (anyone on the internet) or AuthenticatedUsers (any user on any AWS account)
/// reference:    http://docs.aws.amazon.com/
///                   AmazonS3/latest/dev/acl-overview.html#specifying-grantee
/// playbook:     (a) identify who made the change by looking at `userIdentity`
///               (b) ping that individual to verify the bucket should be accessible to the world
///               (c) if not, remove the bucket ACL and investigate access logs
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["requestParameters", "eventName"] },
    outputs = ["file:alerts", "stdout:console"],
)]
fn cloudtrail_put_bucket_acl(rec: &Record) -> bool {
    let detail = &rec["detail"];
    if detail["eventName"] != "PutBucketAcl" {
        return false;
    }
    let policy = &detail["requestParameters"]["AccessControlPolicy"];
    if !is_truthy(policy) {
        return false;
    }
    // A single grant (an object, not a list) makes StreamAlert's rule raise: no alert.
    policy["AccessControlList"]["Grant"]
        .as_array()
        .is_some_and(|grants| {
            grants.iter().any(|grant| {
                grant["Grantee"]["URI"]
                    .as_str()
                    .is_some_and(|uri| PUBLIC_ACLS.contains(&uri))
            })
        })
}

/// author:         @mimeframe
/// description:    Identifies a change to an S3 object ACL that grants access
///                 to AllUsers (anyone on the internet) or AuthenticatedUsers
///                 (any user with an AWS account).
/// reference:      http://amzn.to/2yfRxzp
/// playbook:       (a) Verify if the object should be publicly accessible
///                 (b) If not, modify the object ACL
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["requestParameters"] },
    outputs = ["file:alerts", "stdout:console"],
)]
fn cloudtrail_put_object_acl_public(rec: &Record) -> bool {
    let params = &rec["detail"]["requestParameters"];
    // A substring test: the grantee is either the URI or `uri=<URI>`.
    rec["detail"]["eventName"] == "PutObjectAcl"
        && data_has_value_from_substring_list(params, PUBLIC_ACLS)
        && params["bucketName"]
            .as_str()
            .is_none_or(|bucket| !PUBLIC_BUCKETS.contains(&bucket))
}

/// description:    Identifies a change to an S3 object ACL that grants access
///                 to AllUsers (anyone on the internet) or AuthenticatedUsers
///                 (any user with an AWS account).
///
/// note: This is purely for example purposes in testing, and is not meant to be used as-is
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["eventName", "requestParameters", "sourceIPAddress"] },
    outputs = ["slack:sample-channel", "pagerduty:sample-integration"],
    publishers = {
        "slack" => [Summary, AttachRuleInfo, AttachFullRecord],
        "pagerduty" => [add_record, populate_fields, PrettyPrintArrays, ShortenTitle, as_custom_details],
    },
    context = {
        "populate_fields": [
            "userName",
            "sourceIPAddress",
            "eventTime",
            "eventName",
            "eventSource",
            "bucketName"
        ]
    },
)]
fn cloudtrail_put_object_acl_public_publisher_example(rec: &Record, _: &mut Context) -> bool {
    let detail = &rec["detail"];
    // Keeps the other test events from triggering this example.
    if detail["sourceIPAddress"] != "1.2.3.4" {
        return false;
    }
    detail["eventName"] == "PutObjectAcl"
        && data_has_value_from_substring_list(&detail["requestParameters"], PUBLIC_ACLS)
}

/// author:           airbnb_csirt
/// description:      Root AWS credentials are being used;
///                   This is against best practice and may be an attacker
/// reference_1:      https://aws.amazon.com/premiumsupport/knowledge-center/
///                       cloudtrail-root-action-logs/
/// reference_2:      http://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html
/// playbook:         (a) identify who is using the Root account
///                   (b) ping the individual to determine if intentional and/or legitimate
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["userIdentity", "eventType"] },
    outputs = ["file:alerts", "stdout:console"],
)]
fn cloudtrail_root_account_usage(rec: &Record) -> bool {
    let identity = &rec["detail"]["userIdentity"];
    identity["type"] == "Root"
        && identity.get("invokedBy").is_none_or(Value::is_null)
        && rec["detail"]["eventType"] != "AwsServiceEvent"
}

/// author:         @mimeframe, @ryandeivert
/// description:    Alert on AWS Security Groups that allow ingress from anywhere.
///                 This rule accounts for both IPv4 and IPv6.
/// reference:      http://docs.aws.amazon.com/AWSEC2/latest/UserGuide/
///                 using-network-security.html#creating-security-group
#[rule(
    logs = ["cloudwatch:events"],
    req_subkeys = { "detail": ["eventName", "requestParameters"] },
    outputs = ["file:alerts", "stdout:console"],
)]
fn cloudtrail_security_group_ingress_anywhere(rec: &Record) -> bool {
    let detail = &rec["detail"];
    if detail["eventName"] != "AuthorizeSecurityGroupIngress" {
        return false;
    }
    let params = &detail["requestParameters"];
    get_keys(params, "cidrIp", None).contains(&&Value::from("0.0.0.0/0"))
        || get_keys(params, "cidrIpv6", None).contains(&&Value::from("::/0"))
}
