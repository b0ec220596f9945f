//! Cold start and peak memory of every function — the receivers and the deliverers — against
//! the baseline (the smallest `lambda_runtime` function that reads one secret,
//! `switchyard-baseline`).
//!
//! Run with `cargo bench -p switchyard-e2e --bench cold_start` (part of `make bench`). It:
//!
//! 1. builds the release binaries once (`cargo build --release --bins`: the shipping profile,
//!    size-optimised with LTO, `sha2` at opt-level 3);
//! 2. starts one moto server with a signing secret per function and one queue;
//! 3. runs each function `COLD_START_RUNS` times (default 15, after one discarded warm-up
//!    round), interleaved round-robin so that load drifting on the machine hits all alike.
//!    Each run is a fresh process on a fresh Lambda Runtime API stand-in:
//!    - **init** = the process's first poll for work − its spawn (the secret is fetched by then);
//!    - one invocation must be answered: a receiver gets a valid signed Function URL request
//!      (10 KB body) and must answer 200; a deliverer gets an SQS event of one 10 KB envelope,
//!      posts it to the Slack stand-in (ledger on moto's DynamoDB) and must report no failed
//!      record; the baseline may answer anything;
//!    - **peak RSS** = `VmHWM` of `/proc/<pid>/status` after that answer, before the kill.
//!
//! The report — median and p90 init, median peak RSS, ratios to the baseline and the verdict
//! against the budget (init ≤ 1.3×, RSS ≤ 1.5×) — is printed as markdown and written to
//! `target/bench/cold_start.md`. Over budget is reported, not failed (this is a benchmark); the
//! process exits non-zero only if a function could not be measured.
//!
//! Functions log at `INFO` (`AWS_LAMBDA_LOG_LEVEL`), Lambda's usual level, rather than the
//! harness's test default `DEBUG`. Extra arguments that are not flags filter the functions by
//! name (the baseline always runs).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use switchyard_e2e::function_url;
use switchyard_e2e::hubspot::{self, HubSpotStandIn};
use switchyard_e2e::moto::{Moto, workspace_root};
use switchyard_e2e::providers::{self, RECEIVERS};
use switchyard_e2e::runtime_api::{FunctionProcess, Outcome, RuntimeApi};
use switchyard_e2e::slack::{self, SlackStandIn};

/// The deliverers, measured like the receivers but invoked with an SQS event.
const DELIVERERS: [&str; 2] = ["slack-notify", "hubspot-contacts"];

/// The reference function.
const BASELINE: &str = "switchyard-baseline";
/// Measured runs per function unless `COLD_START_RUNS` says otherwise.
const DEFAULT_RUNS: usize = 15;
/// Budget: a function's median init at most this many times the baseline's.
const INIT_BUDGET: f64 = 1.3;
/// Budget: a function's median peak RSS at most this many times the baseline's.
const RSS_BUDGET: f64 = 1.5;
/// Body size of the request each run answers.
const BODY_BYTES: usize = 10 * 1024;
/// Longest wait for a first poll, and for an answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// One measured cold start.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Spawn to first poll.
    init: Duration,
    /// `VmHWM`, in KiB.
    peak_rss_kib: u64,
    /// `RssAnon` (heap, stacks) after the request, in KiB.
    anon_kib: u64,
    /// `RssFile` (pages of the binary and libraries in use) after the request, in KiB.
    file_kib: u64,
}

/// A function under measurement.
struct Subject {
    name: &'static str,
    binary: PathBuf,
    env: Vec<(String, String)>,
    samples: Vec<Sample>,
    failures: Vec<String>,
}

/// The workspace's target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds every function binary and the baseline with the release profile.
fn build_release() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec!["build", "--release", "--bins", "-p", "switchyard-e2e"];
    for function in RECEIVERS.into_iter().chain(DELIVERERS) {
        args.extend(["-p", function]);
    }
    eprintln!("cold_start: {cargo} {}", args.join(" "));
    let status = Command::new(&cargo)
        .current_dir(workspace_root())
        .args(&args)
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("release build failed: {status}"))
    }
}

/// `VmHWM` (peak resident set), `RssAnon` and `RssFile` of a live process, in KiB.
fn memory_kib(pid: u32) -> Result<(u64, u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmHWM")?, field("RssAnon")?, field("RssFile")?))
}

/// The last lines a failed process printed, for the report.
fn tail(process: &FunctionProcess) -> String {
    let output = process.output();
    let start = output.len().saturating_sub(5);
    output[start..].join(" | ")
}

/// The provider whose signed request (and signing secret) `name` gets: its own, or Stripe's
/// for the baseline, which answers any request.
fn provider_of(name: &'static str) -> &'static str {
    if name == BASELINE {
        "stripe-webhook"
    } else {
        name
    }
}

/// One cold start of `subject`: spawn, first poll, one request, peak RSS.
async fn cold_start(subject: &Subject, run: usize) -> Result<Sample, String> {
    let api = Arc::new(RuntimeApi::start().await);
    let process = FunctionProcess::start(&subject.binary, &api, &subject.env);
    let Some(first_poll) = api.wait_first_poll(TIMEOUT).await else {
        return Err(format!(
            "no first poll within {TIMEOUT:?} (init error: {:?}; output: {})",
            api.init_error(),
            tail(&process)
        ));
    };
    let init = first_poll.duration_since(process.started);

    if DELIVERERS.contains(&subject.name) {
        deliver_once(subject.name, &api, &process, run).await?;
        let (peak_rss_kib, anon_kib, file_kib) = memory_kib(process.pid())?;
        drop(process);
        return Ok(Sample {
            init,
            peak_rss_kib,
            anon_kib,
            file_kib,
        });
    }
    let is_baseline = subject.name == BASELINE;
    let function = provider_of(subject.name);
    let request = providers::signed_sample(
        function,
        providers::test_secret(function),
        &format!("evt_cold_{run:04}"),
        BODY_BYTES,
        providers::unix_now(),
    );
    let event = function_url::event("POST", &request.header_pairs(), &request.body, false);
    // `invoke` panics when no answer comes; a task turns that into an error for the report.
    let invocation = tokio::spawn({
        let api = api.clone();
        async move { api.invoke(&event, TIMEOUT).await }
    });
    let outcome = invocation
        .await
        .map_err(|e| format!("no answer ({e}); output: {}", tail(&process)))?;
    match outcome {
        Outcome::Response(_) if is_baseline => {}
        Outcome::Response(response) => {
            let answer = function_url::answer(&response);
            if answer.status != 200 {
                return Err(format!(
                    "answered {} {} instead of 200",
                    answer.status, answer.body
                ));
            }
        }
        Outcome::Error(e) => return Err(format!("invocation error: {e}")),
    }
    let (peak_rss_kib, anon_kib, file_kib) = memory_kib(process.pid())?;
    drop(process);
    Ok(Sample {
        init,
        peak_rss_kib,
        anon_kib,
        file_kib,
    })
}

/// One SQS event of one ~10 KB envelope, which the deliverer must deliver (no failed record
/// in its answer): a failed Stripe invoice padded with line items for `slack-notify`, a Stripe
/// customer padded with metadata for `hubspot-contacts`.
async fn deliver_once(
    function: &str,
    api: &Arc<RuntimeApi>,
    process: &FunctionProcess,
    run: usize,
) -> Result<(), String> {
    let id = format!("evt_cold_{}_{run:04}", std::process::id());
    let (ty, data) = if function == "hubspot-contacts" {
        let metadata: serde_json::Map<String, serde_json::Value> = (0..100)
            .map(|i| {
                (
                    format!("note_{i:03}"),
                    serde_json::json!("Preferred plan: pro, monthly, renews"),
                )
            })
            .collect();
        let data = serde_json::json!({"id": id, "type": "customer.created", "data": {"object": {
            "id": "cus_1", "email": format!("ada+{run}@example.com"), "name": "Ada Lovelace",
            "phone": "+44 20 7946 0000", "metadata": metadata}}});
        ("customer.created", data)
    } else {
        let lines: Vec<serde_json::Value> = (0..40)
            .map(|i| serde_json::json!({"id": format!("il_{i:04}"), "description": "Pro plan seat, monthly", "amount": 2500, "currency": "usd", "quantity": 1}))
            .collect();
        let data = serde_json::json!({"id": id, "type": "invoice.payment_failed", "data": {"object": {
            "id": "in_1", "number": "A-0042", "customer_email": "ada@example.com",
            "amount_due": 2500, "currency": "usd", "lines": {"data": lines}}}});
        ("invoice.payment_failed", data)
    };
    let body = switchyard::envelope::CloudEvent::new_value(&id, "stripe", ty, data)
        .and_then(|e| e.to_json())
        .map_err(|e| e.to_string())?;
    let event = serde_json::json!({"Records": [{
        "messageId": format!("m-{run}"),
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{function}"),
        "awsRegion": "us-east-1"
    }]});
    let invocation = tokio::spawn({
        let api = api.clone();
        async move { api.invoke(&event, TIMEOUT).await }
    });
    match invocation
        .await
        .map_err(|e| format!("no answer ({e}); output: {}", tail(process)))?
    {
        Outcome::Response(response) if response["batchItemFailures"] == serde_json::json!([]) => {
            Ok(())
        }
        Outcome::Response(response) => Err(format!(
            "records failed: {response}; output: {}",
            tail(process)
        )),
        Outcome::Error(e) => Err(format!("invocation error: {e}")),
    }
}

/// The `q`-quantile by nearest rank (`values` sorted, not empty).
fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The medians and p90 of one function's runs.
#[derive(Debug, Clone, Copy)]
struct Summary {
    /// Median init, ms.
    init: f64,
    /// p90 init, ms.
    init_p90: f64,
    /// Median peak RSS, MiB.
    rss: f64,
    /// Median `RssAnon` after the request, MiB.
    anon: f64,
    /// Median `RssFile` after the request, MiB.
    file: f64,
}

/// The values of `f` over `samples`, sorted.
fn sorted(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> Vec<f64> {
    let mut values: Vec<f64> = samples.iter().map(f).collect();
    values.sort_by(f64::total_cmp);
    values
}

/// The summary of a function's runs, if any succeeded.
fn summary(samples: &[Sample]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let init = sorted(samples, |s| s.init.as_secs_f64() * 1e3);
    let mib = |kib: u64| kib as f64 / 1024.0;
    Some(Summary {
        init: quantile(&init, 0.5),
        init_p90: quantile(&init, 0.9),
        rss: quantile(&sorted(samples, |s| mib(s.peak_rss_kib)), 0.5),
        anon: quantile(&sorted(samples, |s| mib(s.anon_kib)), 0.5),
        file: quantile(&sorted(samples, |s| mib(s.file_kib)), 0.5),
    })
}

/// `PASS` within the budget, `OVER` beyond it.
fn verdict(ratio: f64, budget: f64) -> &'static str {
    if ratio <= budget { "PASS" } else { "OVER" }
}

/// The markdown report.
fn report(subjects: &[Subject], runs: usize) -> String {
    let mut out = String::new();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    writeln!(
        out,
        "## Cold start and peak memory vs `{BASELINE}` ({runs} runs each, {cpus} CPUs)\n"
    )
    .unwrap();
    writeln!(
        out,
        "init = spawn → first poll of the Runtime API (secret fetched from moto; for \
         hubspot-contacts also its OAuth access token from the stand-in); peak RSS = \
         `VmHWM` after answering one invocation: a signed 10 KB Function URL request \
         (receivers), an SQS event of one 10 KB envelope delivered to the Slack or HubSpot \
         stand-in with its ledger on moto's DynamoDB (deliverers). Release profile, \
         `AWS_LAMBDA_LOG_LEVEL=INFO`. Budget: init ≤ {INIT_BUDGET}×, RSS ≤ {RSS_BUDGET}× the \
         baseline's median.\n"
    )
    .unwrap();
    writeln!(
        out,
        "| function | init median (ms) | init p90 (ms) | init ratio | init ≤ {INIT_BUDGET}× | \
         peak RSS median (MiB) | RSS ratio | RSS ≤ {RSS_BUDGET}× | anon / file RSS after (MiB) \
         | failed runs |"
    )
    .unwrap();
    writeln!(out, "|---|---:|---:|---:|---|---:|---:|---|---:|---:|").unwrap();
    let baseline = subjects
        .iter()
        .find(|s| s.name == BASELINE)
        .and_then(|s| summary(&s.samples));
    for subject in subjects {
        let failed = subject.failures.len();
        let Some(m) = summary(&subject.samples) else {
            writeln!(
                out,
                "| {} | — | — | — | n/a | — | — | n/a | — | {failed} |",
                subject.name
            )
            .unwrap();
            continue;
        };
        let (init_ratio, init_verdict, rss_ratio, rss_verdict) = match baseline {
            Some(base) => {
                let (i, r) = (m.init / base.init, m.rss / base.rss);
                (
                    format!("{i:.2}×"),
                    verdict(i, INIT_BUDGET),
                    format!("{r:.2}×"),
                    verdict(r, RSS_BUDGET),
                )
            }
            None => ("—".into(), "n/a", "—".into(), "n/a"),
        };
        let (init_verdict, rss_verdict) = if subject.name == BASELINE {
            ("(baseline)", "(baseline)")
        } else {
            (init_verdict, rss_verdict)
        };
        writeln!(
            out,
            "| {} | {:.1} | {:.1} | {init_ratio} | {init_verdict} | {:.1} | {rss_ratio} | \
             {rss_verdict} | {:.1} / {:.1} | {failed} |",
            subject.name, m.init, m.init_p90, m.rss, m.anon, m.file
        )
        .unwrap();
    }
    let failures: Vec<String> = subjects
        .iter()
        .flat_map(|s| s.failures.iter().map(move |f| format!("- {}: {f}", s.name)))
        .collect();
    if !failures.is_empty() {
        writeln!(out, "\n### Failed runs\n\n{}", failures.join("\n")).unwrap();
    }
    out
}

/// Writes the report to `target/bench/cold_start.md`.
fn write_report(report: &str) -> std::io::Result<PathBuf> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("cold_start.md");
    std::fs::write(&path, report)?;
    Ok(path)
}

/// A function's environment: the emulator, its signing secret, the queue, Lambda's usual log
/// level.
fn environment(moto: &Moto, secret_id: &str, queue: &str) -> Vec<(String, String)> {
    let mut env = moto.env();
    env.push(("SECRET_ID".into(), secret_id.into()));
    env.push(("QUEUE_URL".into(), queue.into()));
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "INFO".into()));
    env
}

async fn measure(filters: &[String], runs: usize) -> Result<String, String> {
    let moto = Moto::start();
    let queue = moto.create_queue("events").await;
    let slack = SlackStandIn::start_with(slack::SlackConfig {
        rate: None,
        ..slack::SlackConfig::default()
    })
    .await;
    let hubspot = HubSpotStandIn::start_with(hubspot::HubSpotConfig {
        rate: None,
        ..hubspot::HubSpotConfig::default()
    })
    .await;
    moto.create_idempotency_table("ledger").await;
    let release = target_dir().join("release");
    let mut subjects = Vec::new();
    let names =
        std::iter::once(BASELINE).chain(RECEIVERS.into_iter().chain(DELIVERERS).filter(|f| {
            filters.is_empty() || filters.iter().any(|filter| f.contains(filter.as_str()))
        }));
    for name in names {
        let secret_id = format!("secrets/{name}");
        let binary = release.join(name);
        if !binary.exists() {
            return Err(format!("{} was not built", binary.display()));
        }
        let env = if name == "hubspot-contacts" {
            let oauth = serde_json::json!({"client_id": hubspot::CLIENT_ID,
                "client_secret": hubspot::CLIENT_SECRET, "refresh_token": hubspot::REFRESH_TOKEN});
            moto.create_secret(&secret_id, &oauth.to_string()).await;
            let mut env = environment(&moto, &secret_id, &queue);
            env.retain(|(k, _)| k != "QUEUE_URL");
            for (k, v) in [
                ("HUBSPOT_API_BASE_URL", hubspot.base_url()),
                ("IDEMPOTENCY_TABLE", "ledger"),
            ] {
                env.push((k.into(), v.into()));
            }
            env
        } else if DELIVERERS.contains(&name) {
            moto.create_secret(
                &secret_id,
                &serde_json::json!({"bot_token": slack::TOKEN}).to_string(),
            )
            .await;
            let mut env = environment(&moto, &secret_id, &queue);
            env.retain(|(k, _)| k != "QUEUE_URL");
            for (k, v) in [
                ("SLACK_API_BASE_URL", slack.base_url.as_str()),
                ("SLACK_CHANNEL", slack::CHANNELS[1]),
                ("IDEMPOTENCY_TABLE", "ledger"),
            ] {
                env.push((k.into(), v.into()));
            }
            env
        } else {
            moto.create_secret(&secret_id, providers::test_secret(provider_of(name)))
                .await;
            environment(&moto, &secret_id, &queue)
        };
        subjects.push(Subject {
            name,
            binary,
            env,
            samples: Vec::new(),
            failures: Vec::new(),
        });
    }

    // Round 0 warms moto (its services load lazily) and the page cache; it is not counted.
    for round in 0..=runs {
        for subject in &mut subjects {
            let result = cold_start(subject, round).await;
            match result {
                Ok(sample) if round > 0 => subject.samples.push(sample),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("cold_start: {} run {round}: {e}", subject.name);
                    subject.failures.push(format!("run {round}: {e}"));
                }
            }
        }
        eprint!("\rcold_start: round {round}/{runs}");
    }
    eprintln!();

    let text = report(&subjects, runs);
    if subjects.iter().any(|s| !s.failures.is_empty()) {
        return Err(text);
    }
    Ok(text)
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; anything else not starting with `-` filters functions.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(DEFAULT_RUNS);
    if let Err(e) = build_release() {
        eprintln!("cold_start: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (text, ok) = match runtime.block_on(measure(&filters, runs)) {
        Ok(text) => (text, true),
        Err(text) => (text, false),
    };
    println!("\n{text}");
    match write_report(&text) {
        Ok(path) => eprintln!("cold_start: report written to {}", path.display()),
        Err(e) => eprintln!("cold_start: cannot write the report: {e}"),
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("cold_start: some functions could not be measured");
        ExitCode::FAILURE
    }
}
