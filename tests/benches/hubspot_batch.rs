//! `hubspot-contacts` against a HubSpot with latency: a batch costs about one call's time, and
//! a configured rate limit holds under a backlog.
//!
//! Run with `cargo bench -p switchyard-e2e --bench hubspot_batch` (part of `make bench`). The
//! handler ([`HubSpotContacts`], the function's own code, built as `main` builds it but with the
//! secret given in memory) is driven directly with SQS batches; the destination is the HubSpot
//! stand-in on loopback ([`HubSpotStandIn`]), whose rolling-window limit is off so that only the
//! function's limiter paces the calls.
//!
//! | scenario | what | budget |
//! |---|---|---|
//! | `batch of 10` | 10 Stripe customers in one SQS batch, every answer delayed 100 ms | about one call's time: under 1.5 × 100 ms, against ~10 × 100 ms for one call per record |
//! | `one record per batch` | the same 10 customers as 10 batches of one, for comparison | (none: ten calls' time) |
//! | `rate limit` | a backlog of 60 single-record batches at `HUBSPOT_RATE_LIMIT=20/1s`, no latency | achieved rate, measured at the stand-in, within 3 % of 20/s |
//!
//! The report is printed as markdown and written to `target/bench/hubspot_batch.md`. Over
//! budget is reported, not failed (this is a benchmark); the process exits non-zero only if a
//! scenario could not run (a record failed).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsMessage;
use hubspot_contacts::HubSpotContacts;
use hubspot_contacts::config::Config;
use hubspot_contacts::contact::schema;
use hubspot_contacts::owners::OWNER_BY_EMAIL;
use serde_json::json;
use switchyard::batch::{BatchHandler, Record};
use switchyard::envelope::CloudEvent;
use switchyard::invocation::Invocation;
use switchyard::lookup::{LookupCache, LookupConfig};
use switchyard::mapping::Mapping;
use switchyard::secrets::{Fetch, SecretSource, SecretString, Secrets};
use switchyard_e2e::hubspot::{self, Endpoint, HubSpotConfig, HubSpotStandIn};
use switchyard_e2e::moto::workspace_root;

const LATENCY: Duration = Duration::from_millis(100);
const ROUNDS: usize = 7;
const BATCH_BUDGET: f64 = 1.5;
const RATE: f64 = 20.0;
const RATE_BUDGET: f64 = 0.03;
const BACKLOG: usize = 60;

/// The OAuth secret, in memory: the bench measures HubSpot calls, not Secrets Manager.
struct OAuthSecret;

impl SecretSource for OAuthSecret {
    fn fetch<'a>(&'a self, _id: &'a str) -> Fetch<'a> {
        let value = json!({"client_id": hubspot::CLIENT_ID,
            "client_secret": hubspot::CLIENT_SECRET, "refresh_token": hubspot::REFRESH_TOKEN});
        Box::pin(async move { Ok(SecretString::from(value.to_string())) })
    }
}

fn handler(base_url: &str, rate_limit: &str) -> HubSpotContacts {
    let config = Config::from_lookup(|name| match name {
        "SECRET_ID" => Some("hubspot/oauth".into()),
        "HUBSPOT_RATE_LIMIT" => Some(rate_limit.into()),
        _ => None,
    })
    .unwrap();
    let mapping = Mapping::load(hubspot_contacts::MAPPING, "mapping.toml", &schema()).unwrap();
    HubSpotContacts::new(
        config,
        mapping,
        Secrets::with_source(OAuthSecret),
        base_url,
        None,
        LookupCache::new(OWNER_BY_EMAIL, LookupConfig::default()),
    )
    .unwrap()
}

/// SQS messages of Stripe `customer.created` envelopes, one per e-mail.
fn messages(tag: &str, count: usize) -> Vec<SqsMessage> {
    (0..count)
        .map(|i| {
            let id = format!("evt_{tag}_{i}");
            let data = json!({"id": id, "type": "customer.created", "data": {"object": {
                "id": format!("cus_{i}"), "email": format!("{tag}.{i}@example.com"),
                "name": "Ada Lovelace", "phone": "+44 20 7946 0000", "metadata": {}}}});
            let body = CloudEvent::new_value(&id, "stripe", "customer.created", data)
                .unwrap()
                .to_json()
                .unwrap();
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m-{tag}-{i}"));
            message.body = Some(body);
            message
                .attributes
                .insert("ApproximateReceiveCount".into(), "1".into());
            message
        })
        .collect()
}

/// Runs one batch through the handler; the wall time, or the first failure.
async fn run_batch(handler: &HubSpotContacts, messages: &[SqsMessage]) -> Result<Duration, String> {
    let records: Vec<Record<'_>> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| Record::new(i, m))
        .collect();
    let refs: Vec<&Record<'_>> = records.iter().collect();
    let invocation = Invocation::new("bench", None);
    let started = Instant::now();
    let results = invocation
        .scope(handler.handle_batch(&refs, &invocation))
        .await;
    let elapsed = started.elapsed();
    for result in results {
        result.map_err(|e| format!("a record failed: {e}"))?;
    }
    Ok(elapsed)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn latency_scenarios(out: &mut String) -> Result<(), String> {
    let stand_in = HubSpotStandIn::start_with(HubSpotConfig {
        rate: None,
        latency: LATENCY,
        ..HubSpotConfig::default()
    })
    .await;
    let handler = handler(
        stand_in.base_url(),
        hubspot_contacts::config::DEFAULT_RATE_LIMIT,
    );
    // Warm-up: the access token and the connection.
    run_batch(&handler, &messages("warm", 1)).await?;

    let mut batched = Vec::new();
    let mut single = Vec::new();
    for round in 0..ROUNDS {
        let calls = stand_in.upsert_calls();
        batched.push(run_batch(&handler, &messages(&format!("b{round}"), 10)).await?);
        if stand_in.upsert_calls() != calls + 1 {
            return Err("a batch of 10 did not make exactly one upsert call".into());
        }
        let started = Instant::now();
        for message in messages(&format!("s{round}"), 10) {
            run_batch(&handler, std::slice::from_ref(&message)).await?;
        }
        single.push(started.elapsed());
    }
    let batched = median(batched);
    let single = median(single);
    let ratio = batched.as_secs_f64() / LATENCY.as_secs_f64();
    let verdict = if ratio <= BATCH_BUDGET {
        "PASS"
    } else {
        "OVER"
    };
    writeln!(
        out,
        "| batch of 10 | {:.0} ms (median of {ROUNDS}) | {:.2}× one call's {} ms | {verdict} (≤ {BATCH_BUDGET}×) |",
        ms(batched),
        ratio,
        LATENCY.as_millis()
    )
    .unwrap();
    writeln!(
        out,
        "| one record per batch, 10 batches | {:.0} ms (median of {ROUNDS}) | {:.2}× one call's | (for comparison) |",
        ms(single),
        single.as_secs_f64() / LATENCY.as_secs_f64()
    )
    .unwrap();
    Ok(())
}

async fn rate_scenario(out: &mut String) -> Result<(), String> {
    let stand_in = HubSpotStandIn::start_with(HubSpotConfig {
        rate: None,
        ..HubSpotConfig::default()
    })
    .await;
    let handler = handler(stand_in.base_url(), "20/1s");
    run_batch(&handler, &messages("warm", 1)).await?;
    let started = Instant::now();
    for message in messages("backlog", BACKLOG) {
        run_batch(&handler, std::slice::from_ref(&message)).await?;
    }
    let elapsed = started.elapsed();
    let arrivals: Vec<Instant> = stand_in
        .requests()
        .iter()
        .filter(|r| r.endpoint == Endpoint::Upsert)
        .map(|r| r.at)
        .skip(1)
        .collect();
    let span = arrivals
        .last()
        .unwrap()
        .duration_since(*arrivals.first().unwrap());
    let achieved = (arrivals.len() - 1) as f64 / span.as_secs_f64();
    let off = (achieved - RATE).abs() / RATE;
    let verdict = if off <= RATE_BUDGET { "PASS" } else { "OVER" };
    writeln!(
        out,
        "| rate limit 20/1s, backlog of {BACKLOG} | {achieved:.2} calls/s at the stand-in ({:.1} s in all) | {:+.1} % | {verdict} (within {:.0} %) |",
        elapsed.as_secs_f64(),
        (achieved / RATE - 1.0) * 100.0,
        RATE_BUDGET * 100.0
    )
    .unwrap();
    Ok(())
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = String::from(
        "## hubspot-contacts: batch latency and rate limit\n\n\
         | scenario | measured | against | verdict |\n|---|---|---|---|\n",
    );
    eprintln!(
        "hubspot_batch: batch of 10 vs one record per batch, {ROUNDS} rounds at 100 ms latency"
    );
    let result = runtime.block_on(async {
        latency_scenarios(&mut out).await?;
        eprintln!("hubspot_batch: a backlog of {BACKLOG} at 20/s");
        rate_scenario(&mut out).await
    });
    if let Err(e) = result {
        eprintln!("hubspot_batch: {e}");
        return ExitCode::FAILURE;
    }
    println!("{out}");
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hubspot_batch.md"), &out).unwrap();
    eprintln!(
        "hubspot_batch: report written to {}",
        dir.join("hubspot_batch.md").display()
    );
    ExitCode::SUCCESS
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}
