//! `switchyard-chaos` (`make chaos`): N signed webhooks through the real pipeline on this
//! machine while the Slack and HubSpot stand-ins inject faults at rates, then a reconciliation
//! of every event (`tests/src/chaos/`). Exit 0 when nothing is lost and every duplicate is
//! explained, 1 otherwise, 130 when interrupted; everything started is stopped on exit.
//!
//! ```text
//! switchyard-chaos [--events N] [--seed S] [--redelivered SHARE] [--kills K] [--work-dir DIR] [--env K=V]
//! ```
#![allow(missing_docs)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use switchyard_e2e::chaos::{self, ChaosOptions};
use switchyard_e2e::moto::workspace_root;
use switchyard_e2e::stack::{Say, interrupted};

const USAGE: &str =
    "usage: switchyard-chaos [--events N] [--seed S] [--redelivered SHARE] [--kills K]
                        [--work-dir DIR] [--env NAME=VALUE ...]
  N events (default 10000) through the local pipeline under injected faults, with a
  deliverer killed mid-batch K times (default 4), then a reconciliation; logs stay in DIR
  (default target/switchyard-chaos). --env overrides a function variable, e.g.
  IDEMPOTENCY_WINDOW=1ms to see the run fail without idempotency.";

fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(ChaosOptions, Option<PathBuf>), String> {
    let mut options = ChaosOptions::default();
    let mut work_dir = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--events" => {
                options.events = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--events: a positive number")?;
            }
            "--seed" => options.seed = value()?.parse().map_err(|_| "--seed: a number")?,
            "--redelivered" => {
                options.redelivered = value()?
                    .parse()
                    .ok()
                    .filter(|s: &f64| (0.0..=1.0).contains(s))
                    .ok_or("--redelivered: a share between 0 and 1")?;
            }
            "--kills" => options.kills = value()?.parse().map_err(|_| "--kills: a number")?,
            "--work-dir" => work_dir = Some(PathBuf::from(value()?)),
            "--env" => {
                let pair = value()?;
                let (k, v) = pair.split_once('=').ok_or("--env: NAME=VALUE")?;
                options.env.push((k.to_owned(), v.to_owned()));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok((options, work_dir))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (options, work_dir) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("switchyard-chaos: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let work_dir = work_dir.unwrap_or_else(|| workspace_root().join("target/switchyard-chaos"));
    let _ = std::fs::remove_dir_all(&work_dir);
    let started = Instant::now();
    let say: Say = Arc::new(|line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    });
    let mut stack_options = chaos::stack_options(&options, say.clone());
    stack_options.work_dir = Some(work_dir.clone());
    // Batch reports would be thousands of lines: progress comes from the run itself.
    let stack = match switchyard_e2e::stack::start_for("switchyard-chaos", stack_options).await {
        Ok(stack) => stack,
        Err(code) => return ExitCode::from(code),
    };
    let outcome = tokio::select! {
        table = chaos::run(&stack, &options, &say) => Some(table),
        _ = interrupted() => None,
    };
    say("stopping the stack");
    stack.stop().await;
    match outcome {
        None => ExitCode::from(130),
        Some(Err(e)) => {
            eprintln!(
                "switchyard-chaos: {e}\n  logs: {}",
                work_dir.join("logs").display()
            );
            ExitCode::FAILURE
        }
        Some(Ok(table)) => {
            say(&table.to_string());
            say(&format!(
                "chaos run finished in {:.0} s",
                started.elapsed().as_secs_f64()
            ));
            if table.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_and_bad_ones_are_named() {
        let parse = |args: &[&str]| parse_args(args.iter().map(|a| a.to_string()));
        let (options, dir) = parse(&["--events", "300", "--seed", "7", "--kills", "0"]).unwrap();
        assert_eq!((options.events, options.seed, dir), (300, 7, None));
        assert_eq!(options.kills, 0);
        assert_eq!(parse(&["--kills", "x"]).unwrap_err(), "--kills: a number");
        assert_eq!(
            parse(&["--events", "0"]).unwrap_err(),
            "--events: a positive number"
        );
        assert_eq!(
            parse(&["--redelivered", "2"]).unwrap_err(),
            "--redelivered: a share between 0 and 1"
        );
        assert_eq!(parse(&["--seed"]).unwrap_err(), "--seed needs a value");
        assert_eq!(parse(&["--nope"]).unwrap_err(), "unknown argument `--nope`");
        assert_eq!(parse(&["--env", "X"]).unwrap_err(), "--env: NAME=VALUE");
        let (options, _) = parse(&["--env", "IDEMPOTENCY_WINDOW=1ms"]).unwrap();
        assert_eq!(
            options.env,
            [("IDEMPOTENCY_WINDOW".to_owned(), "1ms".to_owned())]
        );
        assert_eq!(parse(&["--help"]).unwrap_err(), "");
    }
}
