//! Backpressure through the whole pipeline: a backlog of thousands of events in
//! `slack-notify`'s queue, delivered to the Slack stand-in limited to R posts a second per
//! channel (issue 11). The module `switchyard_e2e::backpressure` does the work and documents
//! what is measured; this runs its scenarios, prints a summary and each run's table, and writes
//! them to `target/bench/pipeline_backpressure.md`.
//!
//! Run with `cargo bench -p switchyard-e2e --bench pipeline_backpressure` (part of `make
//! bench`). Each scenario starts its own local stack (moto, the stand-ins, `slack-notify` under
//! `cargo lambda watch` with the template's event source mapping: batches of 10, two
//! instances), which builds the function the first time.
//!
//! | scenario | what | budget |
//! |---|---|---|
//! | `capacity` | 600 events, neither the stand-in nor the deliverer limited: what the local pipeline (moto's ledger and queue, two debug-built instances) carries at most on this machine | none: R must stay well below it for the limiter, not the machine, to set the pace |
//! | `backlog` | N events at R, the deliverer's limit R's share per instance (`R/2s burst 2`) | every event once, nothing dead-lettered, **no 429 after the first one-second window**, **achieved 0.9–1.02 × R** |
//! | `limiter off` | 300 events at R, the deliverer's limit raised to `1000/1s burst 100` | the control: 429s after the first window are expected (the requirement fails without the limiter) |
//! | `preloaded` (not run unless named) | `backlog`, but all N sent into the queue before delivery gets going: moto's receives slow with the queue's depth, so this measures the emulator | as `backlog` for 429s, losses and duplicates; the rate is moto's |
//!
//! The queue is otherwise kept topped up (30–60 messages waiting until all N are sent; see
//! `switchyard_e2e::backpressure`), so the deliverer sees an unbroken backlog.
//!
//! Settings by environment:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BACKPRESSURE_EVENTS` | N for `backlog` and `preloaded` | 2000 |
//! | `BACKPRESSURE_RATE` | R, posts a second per channel, for `backlog`, `limiter off` and `preloaded` | 10 |
//! | `BACKPRESSURE_SCENARIOS` | which to run, comma-separated | `capacity,backlog,limiter off` |
//! | `BACKPRESSURE_WORK_DIR` | keep each stack's logs under `<dir>/<scenario>/logs/` | temporary folders |
//!
//! The machine's load average is recorded with the figures: every process here shares two
//! cores, and other work on them lowers `capacity` first. Over budget is reported, not failed
//! (this is a benchmark); the process exits non-zero only if a run could not be made.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use switchyard_e2e::backpressure::{self, Backpressure, BackpressureOptions};
use switchyard_e2e::moto::workspace_root;
use switchyard_e2e::runtime_api::binary;
use switchyard_e2e::stack::{LocalStack, Say};

/// `backlog`: achieved at least this share of R ...
const LOW: f64 = 0.9;
/// ... and at most this (the stand-in's burst spread over a run of minutes).
const HIGH: f64 = 1.02;
/// The deliverer's limit with the limiter, in effect, off.
const NO_LIMIT: &str = "1000/1s burst 100";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Capacity,
    Backlog,
    LimiterOff,
    Preloaded,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Capacity => "capacity",
            Kind::Backlog => "backlog",
            Kind::LimiterOff => "limiter off",
            Kind::Preloaded => "preloaded",
        }
    }

    fn parse(text: &str) -> Result<Kind, String> {
        match text.trim() {
            "capacity" => Ok(Kind::Capacity),
            "backlog" => Ok(Kind::Backlog),
            "limiter off" | "limiter-off" => Ok(Kind::LimiterOff),
            "preloaded" => Ok(Kind::Preloaded),
            other => Err(format!(
                "unknown scenario `{other}` (capacity, backlog, limiter off, preloaded)"
            )),
        }
    }

    fn options(self, events: usize, rate: u32) -> BackpressureOptions {
        let defaults = BackpressureOptions::default();
        match self {
            Kind::Capacity => BackpressureOptions {
                events: 600,
                rate: 1000,
                standin_burst: Some(1000),
                deliverer_limit: Some(NO_LIMIT.to_owned()),
                ..defaults
            },
            Kind::Backlog => BackpressureOptions {
                events,
                rate,
                ..defaults
            },
            Kind::LimiterOff => BackpressureOptions {
                events: 300,
                rate,
                deliverer_limit: Some(NO_LIMIT.to_owned()),
                ..defaults
            },
            Kind::Preloaded => BackpressureOptions {
                events,
                rate,
                preload: true,
                ..defaults
            },
        }
    }

    fn verdict(self, run: &Backpressure) -> String {
        let ratio = run.ratio();
        match self {
            Kind::Capacity if run.passed() || run.rate_limited_total() == 0 => {
                format!("{:.1} events/s at most", run.achieved)
            }
            Kind::Capacity => "lost or repeated events: see its table".to_owned(),
            Kind::Backlog if run.passed() && (LOW..=HIGH).contains(&ratio) => "PASS".to_owned(),
            Kind::Backlog if run.passed() => {
                format!("OVER: achieved {ratio:.3} × R, outside {LOW}–{HIGH}")
            }
            Kind::Backlog => "FAIL: see its table".to_owned(),
            Kind::LimiterOff if run.rate_limited_after_first_window() > 0 => format!(
                "fails as expected: {} 429s after the first window",
                run.rate_limited_after_first_window()
            ),
            Kind::LimiterOff => "no 429 after the first window even without the limiter: \
                                 this run does not show what the limiter prevents"
                .to_owned(),
            Kind::Preloaded if run.passed() => {
                format!("nothing lost, no 429 after the first second; {ratio:.3} × R (moto's pace)")
            }
            Kind::Preloaded => "FAIL: see its table".to_owned(),
        }
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}={text} is not a number")),
        Err(_) => Ok(default),
    }
}

/// The 1-minute load average.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

struct Measured {
    kind: Kind,
    run: Backpressure,
    load: (String, String),
}

async fn measure(
    kind: Kind,
    options: &BackpressureOptions,
    work_dir: Option<PathBuf>,
    say: &Say,
) -> Result<Backpressure, String> {
    let mut stack_options = backpressure::stack_options(options, say.clone());
    stack_options.work_dir = work_dir.map(|dir| dir.join(kind.name().replace(' ', "-")));
    let stack = LocalStack::start(stack_options).await?;
    let run = backpressure::run(&stack, options, say).await;
    stack.stop().await;
    run
}

fn report(results: &[Measured], took: f64) -> String {
    let mut out = String::new();
    writeln!(out, "## Backpressure through the pipeline\n").unwrap();
    writeln!(
        out,
        "A backlog loaded into `slack-notify`'s queue, delivered by the local pipeline (the \
         template's event source mapping: batches of 10, two instances under `cargo lambda \
         watch`, the ledger on moto) to the Slack stand-in limited to R posts a second per \
         channel. Achieved = (posts − 1) / (last − first post). `backlog` budget: every event \
         once, nothing dead-lettered, no 429 after the first second, achieved {LOW}–{HIGH} × R. \
         {took:.0} s in all, stacks' starts included.\n"
    )
    .unwrap();
    writeln!(
        out,
        "| scenario | N | R | deliverer limit | achieved /s | × R | 429s (after 1st s) | lost | duplicates | DLQ | load avg | verdict |"
    )
    .unwrap();
    writeln!(
        out,
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|"
    )
    .unwrap();
    for m in results {
        let r = &m.run;
        let (rate, ratio) = if m.kind == Kind::Capacity {
            ("none".to_owned(), "—".to_owned())
        } else {
            (format!("{}/s", r.rate), format!("{:.3}", r.ratio()))
        };
        writeln!(
            out,
            "| {} | {} | {rate} | `{}` ×{} | {:.2} | {ratio} | {} ({}) | {} | {} | {} | {} → {} | {} |",
            m.kind.name(),
            r.events,
            r.deliverer_limit,
            r.instances,
            r.achieved,
            r.rate_limited_total(),
            r.rate_limited_after_first_window(),
            r.lost.len(),
            r.duplicates.len(),
            r.dead_lettered,
            m.load.0,
            m.load.1,
            m.kind.verdict(r),
        )
        .unwrap();
    }
    for m in results {
        writeln!(out, "\n### {}\n\n{}", m.kind.name(), m.run).unwrap();
    }
    out
}

fn main() -> ExitCode {
    let kinds = std::env::var("BACKPRESSURE_SCENARIOS")
        .unwrap_or_else(|_| "capacity,backlog,limiter off".to_owned())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Kind::parse)
        .collect::<Result<Vec<_>, _>>();
    let settings = kinds.and_then(|kinds| {
        Ok((
            kinds,
            env_number("BACKPRESSURE_EVENTS", 2000_usize)?,
            env_number("BACKPRESSURE_RATE", 10_u32)?,
        ))
    });
    let (kinds, events, rate) = match settings {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("pipeline_backpressure: {e}");
            return ExitCode::FAILURE;
        }
    };
    let work_dir = std::env::var_os("BACKPRESSURE_WORK_DIR").map(PathBuf::from);
    binary(backpressure::FUNCTION);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let say: Say = Arc::new(|line: &str| eprintln!("pipeline_backpressure: {line}"));
    let started = Instant::now();
    let mut results = Vec::new();
    for kind in kinds {
        let options = kind.options(events, rate);
        eprintln!(
            "pipeline_backpressure: {} ({} events) ...",
            kind.name(),
            options.events
        );
        let load_before = load_average();
        match runtime.block_on(measure(kind, &options, work_dir.clone(), &say)) {
            Ok(run) => {
                eprintln!("{run}");
                results.push(Measured {
                    kind,
                    run,
                    load: (load_before, load_average()),
                });
            }
            Err(e) => {
                eprintln!("pipeline_backpressure: {} failed: {e}", kind.name());
                return ExitCode::FAILURE;
            }
        }
    }
    let out = report(&results, started.elapsed().as_secs_f64());
    println!("\n{out}");
    let dir = target_dir().join("bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("pipeline_backpressure.md"), &out);
        eprintln!(
            "pipeline_backpressure: report written to {}",
            dir.join("pipeline_backpressure.md").display()
        );
    }
    ExitCode::SUCCESS
}
