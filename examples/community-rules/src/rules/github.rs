//! GitHub Enterprise audit logs (`rules/community/github/`).

use serde_json::Value;
use streamalert::prelude::*;
use streamalert::rule::helpers::{py_eq, starts_with_any};

/// Actors whose `protected_branch.dismissal_restricted_users_teams` changes are expected.
const ACTOR_IGNORELIST: [&str; 0] = [];

/// author:       @mimeframe
/// description:  Setting 'Dismiss stale pull request approvals when new commits are pushed'
///               was disabled. As a result, commits occurring after approval will not
///               require approval.
/// repro_steps:  (a) Visit /<org>/<repo>/settings/branches/<branch>
///               (b) Uncheck 'Dismiss stale pull request approvals when new commits are pushed'
///               (c) Click 'Save Changes'
/// reference:    https://help.github.com/articles/configuring-protected-branches/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_disable_dismiss_stale_pull_request_approvals(rec: &Record) -> bool {
    rec["action"] == "protected_branch.dismiss_stale_reviews"
}

/// author:       @mimeframe
/// description:  Github setting 'Protect this branch' was disabled for a repo.
///               When unchecking this top-level option, it also disables
///               'Require pull request reviews before merging',
///               'Require review from Code Owners', and all other branch protections
///               like status checks.
/// repro_steps:  (a) Visit /<org>/<repo>/settings/branches/<branch>
///               (b) Uncheck 'Protect this branch'
///               (c) Click 'Save Changes'
/// reference:    https://help.github.com/articles/configuring-protected-branches/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_disable_protect_this_branch(rec: &Record) -> bool {
    rec["action"] == "protected_branch.destroy"
}

/// author:       @mimeframe
/// description:  Setting 'Require pull request reviews before merging' was disabled.
///               When enabled, all commits must be made to a non-protected branch
///               and submitted via a pull request with at least one approved review
///               and no changes requested before it can be merged into master.
/// repro_steps:  (a) Visit /<org>/<repo>/settings/branches/<branch>
///               (b) Uncheck 'Require pull request reviews before merging'
///               (c) Click 'Save Changes'
/// reference:    https://help.github.com/articles/enabling-required-reviews-for-pull-requests/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_disable_required_pull_request_reviews(rec: &Record) -> bool {
    rec["action"] == "protected_branch.dismissal_restricted_users_teams"
        && rec["data"].get("authorized_actors_only") == Some(&Value::Bool(true))
        && rec["actor"]
            .as_str()
            .is_none_or(|actor| !ACTOR_IGNORELIST.contains(&actor))
}

/// author:       @mimeframe
/// description:  The 'required status checks' feature was disabled for a repository.
///               Settings -> Branches -> Protected Branches -> <choose a branch>
/// repro_steps:  (a) Choose a repository
///               (b) Click Settings -> Branches -> Protected Branches -> <branch>
///               (c) Uncheck 'Require status checks to pass before merging'
/// reference:    https://help.github.com/articles/enabling-required-status-checks/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_disable_required_status_checks(rec: &Record) -> bool {
    // 0: unchecked; 1: enabled for users; 2: enabled for users and admins.
    rec["action"] == "protected_branch.update_required_status_checks_enforcement_level"
        && rec["data"]
            .get("required_status_checks_enforcement_level")
            .is_some_and(|level| py_eq(level, &Value::from(0)))
}

/// author:       @mimeframe
/// description:  Two-factor authentication requirement was disabled for an org.
/// repro_steps:  (a) Visit /organizations/<org>/settings/security
///               (b) Uncheck 'Require two-factor authentication...'
///               (c) Click 'Save'
/// reference:    https://help.github.com/
///               articles/requiring-two-factor-authentication-in-your-organization/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_disable_two_factor_requirement_org(rec: &Record) -> bool {
    rec["action"] == "org.disable_two_factor_requirement"
}

/// author:       @mimeframe
/// description:  Two-factor authentication requirement was disabled for a user.
/// repro_steps:  (a) Visit /settings/two_factor_authentication/configure
/// reference:    https://help.github.com/enterprise/2.11/admin/articles/audited-actions/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_disable_two_factor_requirement_user(rec: &Record) -> bool {
    rec["action"] == "two_factor_authentication.disabled"
}

/// author:       @mimeframe
/// description:  An OAuth application was registered within Github.
/// reference:    https://developer.github.com
///               /apps/building-integrations/setting-up-and-registering-oauth-apps/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_oauth_application_create(rec: &Record) -> bool {
    rec["action"] == "oauth_application.create"
}

/// author:       @mimeframe
/// description:  A Github site admin tool/action was used.
///               Example: 'staff.fake_login'
///                "A site admin signed into GitHub Enterprise as another user.""
/// reference:    https://help.github.com/enterprise/2.11/admin/articles/audited-actions/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_site_admin_action(rec: &Record) -> bool {
    starts_with_any(&rec["action"], ["staff."])
}

/// author:       @fusionrace, @mimeframe
/// description:  Alert when a Github Enterprise user account is promoted to a
///               Site Administrator (privileged account)
/// reference:    https://help.github.com/enterprise/2.11/admin/guides/
///               user-management/promoting-or-demoting-a-site-administrator/
#[rule(logs = ["ghe:general"], outputs = ["file:alerts", "stdout:console"])]
fn github_site_admin_user_promotion(rec: &Record) -> bool {
    rec["action"] == "user.promote"
}
