//! Per-request work of the kit in a receiver, for each of the five receivers, on a 10 KB
//! signed body: the budget is **under 50 µs** for verify + envelope + mapping + classification.
//!
//! Run with `cargo bench -p switchyard-e2e --bench receive` (part of `make bench`). For each
//! receiver, one criterion group `receive-<function>` measures:
//!
//! | bench | what |
//! |---|---|
//! | `verify` | [`Verifier::verify`] with the function's scheme and secret (built once) |
//! | `describe` | the function's own [`Provider::describe`] (its mapping: id, type, time, ...) |
//! | `envelope` | the CloudEvents envelope JSON, built as the receiver builds it |
//! | `kit` | all of the request path's kit work: verify → describe → route lookup → envelope → [`classify_status`] — **the budgeted number** |
//! | `handle` | the receiver's own code path, [`Receiver::handle`], with a sink that drops the message instead of calling SQS, plus the per-invocation metrics serialisation ([`Metrics::take_lines`]) |
//!
//! `kit` replays the sequence of `shared/src/receiver/handler.rs` (`process`, `enqueue`), which
//! is private, with the same public calls (the envelope is [`EventInfo::to_envelope`], as in
//! the handler); `handle` cross-checks it by running the real path (a public [`Receiver`] over
//! an in-memory secret source and a null [`EventSink`]). Logging is not installed here, so
//! `tracing` lines cost nothing in either.
//!
//! Bench builds use the workspace's release profile (`opt-level = "z"`, LTO, `sha2` at
//! opt-level 3), i.e. the code as it ships. At the end, the medians are printed as a table and
//! written to `target/bench/receive.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use lambda_http::http::{HeaderMap, Method, StatusCode};
use switchyard::Classification;
use switchyard::http::classify::classify_status;
use switchyard::receiver::{
    Decision, Delivery, EventInfo, EventSink, Outgoing, Provider, PublishError, Receiver,
    ReceiverConfig, SigningKeys, header_map,
};
use switchyard::routing::Routes;
use switchyard::secrets::{Fetch, SecretSource, SecretString, Secrets};
use switchyard::telemetry::metrics::Metrics;
use switchyard::webhook::{SecretSet, Verifier};
use switchyard_e2e::moto::workspace_root;
use switchyard_e2e::providers;

/// The body size of the budget.
const BODY_BYTES: usize = 10 * 1024;
/// The per-request budget for the kit's work (`kit`).
const BUDGET: Duration = Duration::from_micros(50);
/// The queue the receivers' single route points to (never called: the sink drops messages).
const QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
/// What each bench measures, in table order.
const STEPS: [&str; 5] = ["verify", "describe", "envelope", "kit", "handle"];

/// Criterion kept quick: 30 samples over 2 s after a 500 ms warm-up.
fn criterion() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30)
        .configure_from_args()
}

/// The provider's decision for a request the benchmark expects to be queued.
fn enqueued<P: Provider>(provider: &P, headers: &HeaderMap, body: &[u8]) -> EventInfo {
    match provider.describe(&Delivery { headers, body }) {
        Ok(Decision::Enqueue(info)) => info,
        other => panic!("sample request not enqueued: {other:?}"),
    }
}

/// Everything the kit does for one request in a receiver, minus the SQS call: verify, map,
/// route, envelope, and the classification of a status (what a failed send would get).
fn kit_work<P: Provider>(
    verifier: &Verifier,
    provider: &P,
    source: &str,
    routes: &Routes,
    headers: &HeaderMap,
    body: &[u8],
) -> (String, usize, Option<Classification>) {
    verifier.verify(body, headers).expect("valid signature");
    let info = enqueued(provider, headers, body);
    let queues = routes.queues_for(&info.ty).len();
    let json = info.to_envelope(source, body).expect("envelope");
    let class = classify_status(
        black_box(StatusCode::SERVICE_UNAVAILABLE),
        black_box(Some(Duration::from_secs(2))),
    );
    (json, queues, class)
}

/// A secret source that always has the one signing secret (no network).
struct FixedSecret(String);

impl SecretSource for FixedSecret {
    fn fetch<'a>(&'a self, _id: &'a str) -> Fetch<'a> {
        let value = SecretString::new(self.0.clone());
        Box::pin(std::future::ready(Ok(value)))
    }
}

/// An event sink that accepts every message and drops it (instead of `SendMessage`).
struct NullSink;

impl EventSink for NullSink {
    fn send<'a>(
        &'a self,
        _queue_url: &'a str,
        message: Outgoing<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), PublishError>> + Send + 'a>> {
        black_box(message.body.len());
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A real [`Receiver`] for `provider`, with its secret in memory and a null sink.
fn receiver<P: Provider>(provider: P, secret: &str) -> Receiver<P> {
    let config = ReceiverConfig::from_lookup(|name| match name {
        "SECRET_ID" => Some("signing".to_owned()),
        "QUEUE_URL" => Some(QUEUE_URL.to_owned()),
        _ => None,
    })
    .expect("receiver config");
    let verifier = Verifier::new(provider.scheme(), SecretSet::new(secret));
    let keys = SigningKeys::fixed(
        Secrets::with_source(FixedSecret(secret.to_owned())),
        "signing".to_owned(),
        verifier,
    );
    let metrics = Metrics::builder()
        .without_cold_start()
        .build()
        .expect("metrics");
    Receiver::new(provider, config, keys, Arc::new(NullSink), metrics)
}

/// The five benches of one receiver.
fn bench_receiver<P: Provider + Clone>(c: &mut Criterion, function: &str, provider: P) {
    let secret = providers::test_secret(function);
    let request = providers::signed_sample(
        function,
        secret,
        "evt_bench_0001",
        BODY_BYTES,
        providers::unix_now(),
    );
    let headers = header_map(&request.header_pairs()).expect("sample headers");
    let body = request.body.as_slice();
    let verifier = Verifier::new(provider.scheme(), SecretSet::new(secret));
    let routes = Routes::single(QUEUE_URL);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let real = receiver(provider.clone(), secret);
    let source = real.source();

    // The sample must take the success path, or the numbers would be those of a rejection.
    let (json, queues, class) = kit_work(&verifier, &provider, source, &routes, &headers, body);
    assert!(json.len() > body.len() / 2 && queues == 1 && class.is_some());
    let info = enqueued(&provider, &headers, body);
    let answer = runtime.block_on(real.handle(&Method::POST, &headers, body));
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    real.metrics().take_lines();

    let mut group = c.benchmark_group(format!("receive-{function}"));
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("verify", |b| {
        b.iter(|| verifier.verify(black_box(body), black_box(&headers)))
    });
    group.bench_function("describe", |b| {
        b.iter(|| enqueued(&provider, black_box(&headers), black_box(body)))
    });
    group.bench_function("envelope", |b| {
        b.iter(|| black_box(&info).to_envelope(source, black_box(body)))
    });
    group.bench_function("kit", |b| {
        b.iter(|| {
            kit_work(
                &verifier,
                &provider,
                source,
                &routes,
                black_box(&headers),
                black_box(body),
            )
        })
    });
    group.bench_function("handle", |b| {
        b.iter(|| {
            let answer =
                runtime.block_on(real.handle(&Method::POST, black_box(&headers), black_box(body)));
            (answer, real.metrics().take_lines())
        })
    });
    group.finish();
}

/// Where criterion keeps its results (the same rule as criterion's own).
fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("criterion"))
        })
        .unwrap_or_else(|| workspace_root().join("target").join("criterion"))
}

/// The median of one bench from criterion's `estimates.json`, if it ran.
fn median(group: &str, bench: &str) -> Option<Duration> {
    let path = criterion_dir()
        .join(group)
        .join(bench)
        .join("new")
        .join("estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let nanos = json["median"]["point_estimate"].as_f64()?;
    Some(Duration::from_secs_f64(nanos / 1e9))
}

/// Microseconds with two decimals, or `n/a` for a bench that did not run (filtered out).
fn micros(d: Option<Duration>) -> String {
    d.map_or_else(
        || "n/a".to_owned(),
        |d| format!("{:.2}", d.as_secs_f64() * 1e6),
    )
}

/// The medians of every bench as a markdown table, with the budget verdict on `kit`.
fn report() -> String {
    let mut out = String::new();
    writeln!(
        out,
        "## Per-request kit work, 10 KB signed body (criterion medians, µs)\n"
    )
    .unwrap();
    writeln!(
        out,
        "| function | verify | describe | envelope | **kit** | handle | kit budget ({} µs) |",
        BUDGET.as_micros()
    )
    .unwrap();
    writeln!(out, "|---|---:|---:|---:|---:|---:|---|").unwrap();
    for function in providers::RECEIVERS {
        let group = format!("receive-{function}");
        let [verify, describe, envelope, kit, handle] = STEPS.map(|s| median(&group, s));
        let verdict = match kit {
            Some(kit) if kit <= BUDGET => "PASS",
            Some(_) => "OVER",
            None => "n/a",
        };
        writeln!(
            out,
            "| {function} | {} | {} | {} | **{}** | {} | {verdict} |",
            micros(verify),
            micros(describe),
            micros(envelope),
            micros(kit),
            micros(handle),
        )
        .unwrap();
    }
    out
}

fn main() {
    let mut c = criterion();
    bench_receiver(&mut c, "stripe-webhook", stripe_webhook::Stripe);
    bench_receiver(&mut c, "github-webhook", github_webhook::GitHub);
    bench_receiver(&mut c, "slack-events", slack_events::Slack);
    bench_receiver(&mut c, "shopify-webhook", shopify_webhook::Shopify);
    bench_receiver(
        &mut c,
        "standard-webhook",
        standard_webhook::StandardWebhooks,
    );
    c.final_summary();

    let table = report();
    println!("\n{table}");
    let dir = criterion_dir()
        .parent()
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("receive.md"), &table);
    }
}
