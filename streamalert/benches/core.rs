//! Micro-benchmarks of the per-alert work (issue #9): a rule turning a record into an alert,
//! publication (the default one and StreamAlert's five-publisher `generic` chain, each with
//! its JSON serialization), the request each of `slack`, `pagerduty-v2` and `jira-v2` builds
//! (and the layouts of `opsgenie`, `slack-bot`, `google-chat`, `discord` and `splunk-hec`), and
//! the SQLite ledger (one delivery outcome written, and one alert recorded then completed).
//!
//! `cargo bench -p streamalert --features jemalloc --bench core` (jemalloc, the quickstart's
//! allocator). Every input is the Python baseline's alert
//! (`/work/shared/bench`): the CloudTrail root `ConsoleLogin` of `benches/data/record.json`,
//! rule `cloudtrail_root_account_usage`, outputs `slack:bench` and `pagerduty-v2:bench`.
//! `scripts/bench.sh` reads `target/criterion/<group>/<function>/new/estimates.json`, so the
//! group and function ids below are an interface: do not rename them.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use streamalert::config::LedgerSettings;
use streamalert::json::PythonJson;
use streamalert::ledger::{AlertKey, Ledger, NewAlert, Outcome, SqliteLedger};
use streamalert::output::Credentials;
use streamalert::output::Delivery;
use streamalert::output::http::Http;
use streamalert::outputs::jira_common::{ISSUE_PATH, Ticket};
use streamalert::outputs::{
    discord, google_chat, opsgenie, pagerduty_v2, slack, slack_bot, splunk_hec,
};
use streamalert::prelude::*;
use streamalert::publisher::Chain;
use streamalert::rule::{Payload, RulesEngine};

streamalert::services!();
// The allocator of a processor binary made with `main!` (under `--features jemalloc`, as
// `scripts/bench.sh` runs these benches; the system's otherwise).
streamalert::global_allocator!();

/// The descriptor of every output, as in the baseline.
const DESCRIPTOR: &str = "bench";

/// The baseline's `generic5` chain: StreamAlert's five community publishers, in its order.
const GENERIC5: [&str; 5] = [
    "publishers.community.generic.add_record",
    "publishers.community.generic.remove_internal_fields",
    "publishers.community.generic.remove_streamalert_normalization",
    "publishers.community.generic.StringifyArrays",
    "publishers.community.generic.enumerate_fields",
];

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
    outputs = ["slack:bench", "pagerduty-v2:bench"],
)]
fn cloudtrail_root_account_usage(rec: &Record) -> bool {
    let identity = &rec["detail"]["userIdentity"];
    identity["type"] == "Root"
        && identity.get("invokedBy").is_none_or(Value::is_null)
        && rec["detail"]["eventType"] != "AwsServiceEvent"
}

/// The baseline's record, as the classifier hands it to the rules, with the baseline's source.
fn payload() -> Payload {
    let text = include_str!("data/record.json");
    let record: Value = serde_json::from_str(text).expect("benches/data/record.json is JSON");
    let mut payload = Payload::new("cloudwatch:events", record);
    payload.data_type = Some("json".into());
    payload.cluster = Some("prod".into());
    payload.service = Some("kinesis".into());
    payload.resource = Some("prefix_prod_streamalert".into());
    payload
}

/// The baseline's engine: only the bench rule, and no required output (the baseline's alerts
/// go to `slack:bench` and `pagerduty-v2:bench` only).
fn engine() -> RulesEngine {
    RulesEngine::new().with_required_outputs(Vec::<String>::new())
}

/// The baseline's alert, made by the rules engine.
fn alert() -> Alert {
    let mut alerts = engine().run(&payload());
    assert_eq!(
        alerts.len(),
        1,
        "the bench rule must trigger on the bench record"
    );
    alerts.remove(0)
}

/// Composes the publication of `alert` for `slack:bench` and serializes it as `json.dumps` does
/// (as the outputs that send a whole publication do: aws-s3, aws-firehose, webhook, …).
fn compose(alert: &Alert) -> String {
    let chain = Chain::for_output(&alert.publishers, "slack", DESCRIPTOR);
    let publication = chain.publish(alert).expect("the chain publishes");
    PythonJson::DEFAULT.dump_object(publication.entries())
}

/// The default publication of `alert`, which every request below is built from.
fn default_publication(alert: &Alert) -> Publication {
    Chain::for_output(&Value::Null, "slack", DESCRIPTOR)
        .publish(alert)
        .expect("the default publisher publishes")
}

fn alert_benches(c: &mut Criterion) {
    let engine = engine();
    let payload = payload();
    let mut group = c.benchmark_group("alert");
    group.bench_function("from_record", |b| {
        b.iter(|| engine.run(black_box(&payload)));
    });
    group.finish();
}

fn compose_benches(c: &mut Criterion) {
    let plain = alert();
    let mut chained = plain.clone();
    chained.publishers = json!(GENERIC5);
    assert_eq!(
        Chain::for_output(&chained.publishers, "slack", DESCRIPTOR).names(),
        GENERIC5,
        "every generic5 publisher is registered"
    );
    let mut group = c.benchmark_group("compose");
    group.bench_function("default", |b| b.iter(|| compose(black_box(&plain))));
    group.bench_function("generic5", |b| b.iter(|| compose(black_box(&chained))));
    group.finish();
}

fn request_benches(c: &mut Criterion) {
    let alert = alert();
    let publication = default_publication(&alert);
    let mut group = c.benchmark_group("request");

    let credentials = Credentials::from_iter([(
        "url",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    )]);
    let delivery = Delivery::new(&alert, DESCRIPTOR, &publication).with_credentials(&credentials);
    group.bench_function("slack", |b| {
        b.iter(|| {
            let delivery = black_box(&delivery);
            let http = Http::new("slack", delivery);
            let request = slack::request(&http, delivery).expect("the slack request builds");
            black_box(request.body_bytes().map(<[u8]>::len));
        });
    });

    let credentials = Credentials::from_iter([("routing_key", "R0UT1NGKEY0123456789ABCDEF012345")]);
    let delivery = Delivery::new(&alert, DESCRIPTOR, &publication).with_credentials(&credentials);
    group.bench_function("pagerduty-v2", |b| {
        b.iter(|| {
            let delivery = black_box(&delivery);
            let http = Http::new("pagerduty-v2", delivery);
            let request =
                pagerduty_v2::request(&http, delivery).expect("the pagerduty-v2 request builds");
            black_box(request.body_bytes().map(<[u8]>::len));
        });
    });

    // jira-v2's issue creation (`jira_common`'s `Project::create`, which is not public): the
    // ticket, the `fields` body it posts to `<url>/rest/api/2/issue`, and its two headers.
    let credentials = Credentials::from_iter([
        ("url", "https://company.atlassian.net"),
        ("user_name", "bench@example.com"),
        ("api_key", "bench-api-token"),
        ("project_key", "SEC"),
        ("issue_type", "Task"),
        ("aggregate", "no"),
    ]);
    // `Basic base64("bench@example.com:bench-api-token")`, as jira-v2 computes it per delivery.
    let authorization = "Basic YmVuY2hAZXhhbXBsZS5jb206YmVuY2gtYXBpLXRva2Vu".to_owned();
    let delivery = Delivery::new(&alert, DESCRIPTOR, &publication).with_credentials(&credentials);
    group.bench_function("jira-v2", |b| {
        b.iter(|| {
            let delivery = black_box(&delivery);
            let http = Http::new("jira-v2", delivery);
            let base = http.url_credential("url").expect("a jira url is stored");
            let url = Http::join(&base, ISSUE_PATH).expect("the issue URL joins");
            let ticket = Ticket::new(delivery.alert, delivery.publication);
            let body = json!({"fields": {
                "project": {"key": http.credential("project_key").expect("a project key is stored")},
                "summary": ticket.summary,
                "description": ticket.description,
                "issuetype": {"name": http.credential("issue_type").expect("an issue type is stored")},
            }});
            let request = http
                .post(url)
                .header("Accept", "application/json")
                .header("Authorization", authorization.clone())
                .json(&body);
            black_box(request.body_bytes().map(<[u8]>::len));
        });
    });

    // The outputs beyond StreamAlert (issue 16): each one's request body, built but not sent.
    let credentials = Credentials::from_iter([
        ("api_key", "eb243592-faa2-4ba2-a551-1afdf565c889"),
        ("region", "eu"),
    ]);
    let delivery = Delivery::new(&alert, DESCRIPTOR, &publication).with_credentials(&credentials);
    group.bench_function("opsgenie", |b| {
        b.iter(|| {
            let delivery = black_box(&delivery);
            let http = Http::new("opsgenie", delivery);
            let request = opsgenie::request(&http, delivery).expect("the opsgenie request builds");
            black_box(request.body_bytes().map(<[u8]>::len));
        });
    });
    let credentials = Credentials::from_iter([("token", "xoxb-1-2-bench"), ("channel", "C0BENCH")]);
    let delivery = Delivery::new(&alert, DESCRIPTOR, &publication).with_credentials(&credentials);
    group.bench_function("slack-bot", |b| {
        b.iter(|| {
            let delivery = black_box(&delivery);
            let http = Http::new("slack-bot", delivery);
            let messages = slack_bot::messages(&http, delivery).expect("the messages build");
            let bodies: Vec<String> = messages
                .iter()
                .map(|m| PythonJson::DEFAULT.dump(m))
                .collect();
            black_box(bodies);
        });
    });
    group.bench_function("google-chat", |b| {
        b.iter(|| {
            let message =
                google_chat::message(black_box(&alert), &publication, "google-chat:bench");
            black_box(PythonJson::DEFAULT.dump(&message));
        });
    });
    group.bench_function("discord", |b| {
        b.iter(|| {
            let messages = discord::messages(black_box(&alert), &publication, "discord:bench")
                .expect("the discord messages build");
            let bodies: Vec<String> = messages
                .iter()
                .map(|m| PythonJson::DEFAULT.dump(m))
                .collect();
            black_box(bodies);
        });
    });
    let delivery = Delivery::new(&alert, DESCRIPTOR, &publication);
    group.bench_function("splunk-hec", |b| {
        b.iter(|| black_box(splunk_hec::event(black_box(&delivery))));
    });
    group.finish();
}

fn ledger_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let settings = LedgerSettings {
        path: dir.path().join("ledger.sqlite3"),
        ..LedgerSettings::default()
    };
    let ledger = SqliteLedger::open(&settings).expect("the ledger opens");
    let template = alert();
    let mut group = c.benchmark_group("ledger");
    // Per input (untimed): a new alert recorded with its two outputs pending. Timed: the
    // outcome of one of its deliveries, `slack:bench` sent, appended to the intake log (the
    // writer thread applies it to SQLite meanwhile).
    group.bench_function("sqlite_record_delivery", |b| {
        b.iter_batched(
            || {
                let mut alert = template.clone();
                alert.alert_id = uuid::Uuid::new_v4().to_string();
                let key = AlertKey::of(&alert);
                let new = NewAlert {
                    alert: alert.into(),
                    intents: Default::default(),
                };
                runtime
                    .block_on(ledger.record_alerts(vec![new]))
                    .expect("the alert is recorded");
                key
            },
            |key| {
                runtime
                    .block_on(ledger.record_outcome(key, "slack:bench".into(), Outcome::Sent))
                    .expect("the outcome is recorded");
            },
            BatchSize::SmallInput,
        );
    });
    // Per input (untimed): a new alert with one output. Timed: the whole life of that alert in
    // the ledger as the sequential processor writes it, the alert recorded and its
    // `slack:bench` sent (which completes it), each appended to the intake log.
    group.bench_function("sqlite_record_and_complete", |b| {
        b.iter_batched(
            || {
                let mut alert = template.clone();
                alert.alert_id = uuid::Uuid::new_v4().to_string();
                alert.outputs = ["slack:bench".to_owned()].into();
                NewAlert {
                    alert: alert.into(),
                    intents: Default::default(),
                }
            },
            |new| {
                let key = AlertKey::of(&new.alert);
                runtime
                    .block_on(ledger.record_alerts(vec![new]))
                    .expect("the alert is recorded");
                runtime
                    .block_on(ledger.record_outcome(key, "slack:bench".into(), Outcome::Sent))
                    .expect("the outcome is recorded");
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(
    benches,
    alert_benches,
    compose_benches,
    request_benches,
    ledger_benches
);
criterion_main!(benches);
