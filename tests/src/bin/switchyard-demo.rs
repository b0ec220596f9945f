//! `switchyard-demo` (`make demo`): Switchyard's whole job on this machine — signed webhooks
//! in, Slack messages and HubSpot contacts out, duplicates absorbed, failures dead-lettered and
//! replayed — then a report checked against the script. Exit status 0 when every outcome
//! matches, 1 when one does not or the stack cannot start, 130 on Ctrl-C. Everything it
//! starts (moto, the stand-ins, `cargo lambda watch`, the functions) is stopped on exit.
//!
//! ```text
//! switchyard-demo [--work-dir DIR]
//! ```
//!
//! Logs (one file per function) and the stack's description stay in the work folder
//! (default `target/switchyard-demo/`) for reading afterwards.
#![allow(missing_docs)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use switchyard_e2e::demo;
use switchyard_e2e::moto::workspace_root;
use switchyard_e2e::stack::{Say, StackOptions};

const USAGE: &str = "usage: switchyard-demo [--work-dir DIR]
  Runs the scripted demo on a local stack and prints its report (logs stay in DIR,
  default target/switchyard-demo).";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<PathBuf>, String> {
    let mut work_dir = None;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--work-dir" => {
                work_dir = Some(PathBuf::from(
                    args.next().ok_or("--work-dir needs a folder")?,
                ));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(work_dir)
}

#[tokio::main]
async fn main() -> ExitCode {
    let work_dir = match parse_args(std::env::args().skip(1)) {
        Ok(dir) => dir.unwrap_or_else(|| workspace_root().join("target/switchyard-demo")),
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("switchyard-demo: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let _ = std::fs::remove_dir_all(&work_dir);
    let started = Instant::now();
    let say: Say = Arc::new(move |line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    });
    say(
        "== Switchyard demo: webhooks → receivers → SQS → deliverers → Slack and HubSpot, all local ==",
    );
    let options = StackOptions {
        functions: Some(demo::FUNCTIONS.iter().map(|f| (*f).to_owned()).collect()),
        work_dir: Some(work_dir.clone()),
        say: say.clone(),
        ..StackOptions::default()
    };
    let stack = match switchyard_e2e::stack::start_for("switchyard-demo", options).await {
        Ok(stack) => stack,
        Err(code) => return ExitCode::from(code),
    };
    say(&format!(
        "stack ready in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    let outcome = tokio::select! {
        report = demo::run(&stack, &say) => Some(report),
        _ = switchyard_e2e::stack::interrupted() => None,
    };
    say("stopping the stack");
    stack.stop().await;
    match outcome {
        None => {
            eprintln!("switchyard-demo: interrupted; everything it started is stopped");
            ExitCode::from(130)
        }
        Some(Err(e)) => {
            eprintln!("switchyard-demo: {e}");
            eprintln!("  logs: {}", work_dir.join("logs").display());
            ExitCode::FAILURE
        }
        Some(Ok(report)) => {
            say(&report.to_string());
            say(&format!(
                "demo finished in {:.0} s; function logs in {}",
                started.elapsed().as_secs_f64(),
                work_dir.join("logs").display()
            ));
            if report.passed() {
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
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(
            parse(&["--work-dir", "/tmp/x"]).unwrap(),
            Some(PathBuf::from("/tmp/x"))
        );
        assert_eq!(
            parse(&["--work-dir"]).unwrap_err(),
            "--work-dir needs a folder"
        );
        assert_eq!(parse(&["--nope"]).unwrap_err(), "unknown argument `--nope`");
        assert_eq!(parse(&["--help"]).unwrap_err(), "");
    }
}
