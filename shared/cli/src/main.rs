//! `switchyard`: the operator's command line for a Switchyard stack, on AWS or the local
//! emulator alike.
//!
//! | command | what it does |
//! |---|---|
//! | `trace <function> <event-id>` | one event's record in the delivery ledger (the idempotency table) |
//! | `dlq <function>` | the function's dead letters, with why each one died; nothing is removed |
//! | `replay <function>` | moves dead letters back to the function's queue, all or filtered; never loses one |
//! | `sign <provider> <file>` | signs a payload as the provider would, with the headers its receiver needs besides the signature (github: `--event`; shopify: `--topic`), for `curl` against a receiver |
//! | `automap` | suggests a mapping file from a sample event and the destination's field list |
//!
//! AWS is reached through the kit's [`switchyard::aws::load_config`]: region and credentials
//! from the SDK's usual chain, `AWS_ENDPOINT_URL` honoured (moto locally), every call bounded by
//! the kit's timeouts; `--endpoint-url` overrides the endpoint. How each command finds its
//! queues and table is in [`resources`].
//!
//! Exit status: 0 done; 1 the command failed or found nothing (an event without a record, a
//! replay with messages left behind); 2 a usage error (clap's, and `sign`'s per-provider flags:
//! one missing or given to a provider that does not use it).
//!
//! Crates: [clap](https://docs.rs/clap)'s derive, so `--help` is the doc comments and cannot
//! drift from the parser; anyhow at this edge only, the modules' errors typed with thiserror.
//! This crate is a tool, not a function: no function links it, so its dependencies cost no
//! Lambda cold start.

mod automap;
mod aws;
mod dead_letters;
mod dlq;
mod glob;
mod replay;
mod resources;
mod sign;
mod time_text;
mod trace;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Operate a Switchyard stack: trace events in the delivery ledger, inspect and replay dead
/// letters, sign sample webhooks, and draft mapping files.
///
/// AWS access uses the SDK's usual chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_REGION, ...) and
/// honours AWS_ENDPOINT_URL, so the same commands work against a local emulator (moto).
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about, long_about)]
struct Cli {
    /// Send every AWS call to this endpoint (e.g. http://127.0.0.1:5000 for moto) instead of
    /// AWS_ENDPOINT_URL or AWS's own.
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Trace(trace::TraceArgs),
    Dlq(dlq::DlqArgs),
    Replay(replay::ReplayArgs),
    Sign(sign::SignArgs),
    Automap(automap::AutomapArgs),
}

/// What a command reports back to `main`: success, or "done, but the answer is no" (exit 1
/// without an error message of its own: the command has printed why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Unsuccessful,
}

/// The command line, parsed by clap and then checked for the rules clap cannot express
/// (`sign`'s per-provider flags: [`sign::SignArgs::check`]), so that breaking those is a usage
/// error like any other: clap's message, the command's usage, exit 2.
fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    if let Command::Sign(sign) = &cli.command
        && let Err(e) = sign.check()
    {
        return Err(usage_error("sign", e.kind(), &e));
    }
    Ok(cli)
}

/// A usage error of `subcommand`, formatted by clap with that subcommand's usage.
fn usage_error(
    subcommand: &str,
    kind: clap::error::ErrorKind,
    message: &dyn std::fmt::Display,
) -> clap::Error {
    let mut command = Cli::command();
    command.build();
    match command.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(kind, message),
        None => command.error(kind, message),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = parse(std::env::args_os()).unwrap_or_else(|e| e.exit());
    match run(cli).await {
        Ok(Finished::Ok) => ExitCode::SUCCESS,
        Ok(Finished::Unsuccessful) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("switchyard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Finished> {
    let endpoint = cli.endpoint_url.as_deref();
    match cli.command {
        Command::Trace(args) => trace::run(args, &aws::config(endpoint).await).await,
        Command::Dlq(args) => dlq::run(args, &aws::config(endpoint).await).await,
        Command::Replay(args) => replay::run(args, &aws::config(endpoint).await).await,
        Command::Sign(args) => sign::run(&args),
        Command::Automap(args) => automap::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_is_documented_in_help() {
        let mut command = Cli::command();
        let help = command.render_long_help().to_string();
        for name in ["trace", "dlq", "replay", "sign", "automap"] {
            assert!(help.contains(name), "{name} missing from:\n{help}");
        }
        for sub in command.get_subcommands() {
            assert!(
                sub.get_about().is_some(),
                "`{}` has no doc comment",
                sub.get_name()
            );
        }
    }

    #[test]
    fn a_sign_rule_clap_cannot_express_is_a_usage_error_of_sign() {
        let error = parse(["switchyard", "sign", "github", "x.json", "--secret", "s"]).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert_eq!(error.exit_code(), 2);
        let text = error.render().to_string();
        assert!(text.contains("github needs --event <NAME>"), "{text}");
        assert!(text.contains("Usage: switchyard sign"), "{text}");
        // What clap checks itself still comes first.
        let error = parse(["switchyard", "sign", "github", "x.json"]).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(!error.render().to_string().contains("--event"));
        // A command line that keeps the rules parses.
        assert!(parse(["switchyard", "sign", "stripe", "x.json", "--secret", "s"]).is_ok());
    }
}
