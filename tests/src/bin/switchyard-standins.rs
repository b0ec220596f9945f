//! `switchyard-standins`: the Slack and HubSpot stand-ins as one process, for running the
//! deliverers by hand (`cargo lambda watch` with `SLACK_API_BASE_URL` / `HUBSPOT_API_BASE_URL`
//! pointed here) and for the local stack.
//!
//! ```text
//! cargo run -p switchyard-e2e --bin switchyard-standins -- --slack-port 4010 --hubspot-port 4020
//! ```
//!
//! Prints one JSON line with the base URLs and the credentials the stand-ins accept (test
//! values, the same as the end-to-end tests'), then a line per message Slack accepted and per
//! contact HubSpot wrote, until Ctrl-C. Both listen on 127.0.0.1 only. Their behaviour (Slack's
//! per-channel rate, HubSpot's rolling window, the error answers) is described in
//! `tests/src/slack.rs` and `tests/src/hubspot/mod.rs`.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use switchyard_e2e::hubspot::{self, HubSpotConfig, HubSpotStandIn};
use switchyard_e2e::slack::{self, SlackConfig, SlackStandIn};

const USAGE: &str = "usage: switchyard-standins [--slack-port N] [--hubspot-port N]
  Runs the Slack and HubSpot stand-ins on 127.0.0.1 until Ctrl-C (port 0 or none: a free port).";

struct Args {
    slack_port: u16,
    hubspot_port: u16,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        slack_port: 0,
        hubspot_port: 0,
    };
    while let Some(flag) = args.next() {
        let port = |value: Option<String>| {
            value
                .ok_or_else(|| format!("{flag} needs a port"))?
                .parse::<u16>()
                .map_err(|_| format!("{flag}: not a port number"))
        };
        match flag.as_str() {
            "--slack-port" => parsed.slack_port = port(args.next())?,
            "--hubspot-port" => parsed.hubspot_port = port(args.next())?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(parsed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("switchyard-standins: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let slack = SlackStandIn::start_on(args.slack_port, SlackConfig::default()).await;
    let hubspot = HubSpotStandIn::start_on(args.hubspot_port, HubSpotConfig::default()).await;
    println!(
        "{}",
        json!({
            "slack_api_base_url": slack.base_url,
            "slack_bot_token": slack::TOKEN,
            "slack_channels": slack::CHANNELS,
            "hubspot_api_base_url": hubspot.base_url(),
            "hubspot_oauth": {"client_id": hubspot::CLIENT_ID,
                "client_secret": hubspot::CLIENT_SECRET, "refresh_token": hubspot::REFRESH_TOKEN},
            "hubspot_private_app_token": hubspot::PRIVATE_APP_TOKEN,
        })
    );
    eprintln!("switchyard-standins: ready; Ctrl-C stops");

    let (mut posts, mut writes) = (0, 0);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {}
        }
        let posted = slack.posted();
        for post in &posted[posts..] {
            let text = post.text.as_deref().unwrap_or("(blocks only)");
            eprintln!("slack:   #{} {text}", post.channel);
        }
        posts = posted.len();
        let total: usize = hubspot.contacts().iter().map(|c| c.writes).sum();
        if total > writes {
            eprintln!(
                "hubspot: {} contact write(s), {} contact(s) held",
                total - writes,
                hubspot.contacts().len()
            );
            writes = total;
        }
    }
    eprintln!("switchyard-standins: stopped");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn ports_parse_and_bad_arguments_are_named() {
        let args = parse(&["--slack-port", "4010", "--hubspot-port", "0"]).unwrap();
        assert_eq!((args.slack_port, args.hubspot_port), (4010, 0));
        assert_eq!(
            parse(&["--slack-port"]).err().unwrap(),
            "--slack-port needs a port"
        );
        assert_eq!(
            parse(&["--hubspot-port", "x"]).err().unwrap(),
            "--hubspot-port: not a port number"
        );
        assert_eq!(
            parse(&["--nope"]).err().unwrap(),
            "unknown argument `--nope`"
        );
        assert_eq!(parse(&["--help"]).err().unwrap(), "");
    }
}
