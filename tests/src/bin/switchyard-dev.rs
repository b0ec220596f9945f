//! `switchyard-dev` (`make dev`): the local stack left running for interactive work — every
//! function of the template under `cargo lambda watch` (rebuilt when its code changes), the
//! template's queues, secrets and table on moto, the local SQS event source, and the Slack and
//! HubSpot stand-ins, which print what arrives. Prints the Function URLs, the stand-ins'
//! addresses and the commands to send a signed sample and to read what happened; Ctrl-C stops
//! everything.
//!
//! ```text
//! switchyard-dev [--moto-port N] [--slack-port N] [--hubspot-port N] [--first-function-port N]
//!                [--work-dir DIR]
//! ```
//!
//! Fixed ports by default (moto 4566, Slack 4010, HubSpot 4020, functions from 9001 on), so
//! URLs stay the same from one session to the next; 0 picks a free port.
#![allow(missing_docs)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use switchyard_e2e::moto::workspace_root;
use switchyard_e2e::providers;
use switchyard_e2e::stack::{LocalStack, Say, StackOptions};

const USAGE: &str = "usage: switchyard-dev [--moto-port N] [--slack-port N] [--hubspot-port N]
                      [--first-function-port N] [--work-dir DIR]
  Runs the whole local stack until Ctrl-C. Defaults: moto 4566, Slack 4010, HubSpot 4020,
  functions from 9001; 0: a free port. Logs in DIR/logs (default target/switchyard-dev).";

#[derive(Debug, PartialEq, Eq)]
struct Args {
    moto_port: u16,
    slack_port: u16,
    hubspot_port: u16,
    first_function_port: u16,
    work_dir: Option<PathBuf>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        moto_port: 4566,
        slack_port: 4010,
        hubspot_port: 4020,
        first_function_port: 9001,
        work_dir: None,
    };
    while let Some(flag) = args.next() {
        let mut port = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a port"))?
                .parse::<u16>()
                .map_err(|_| format!("{flag}: not a port number"))
        };
        match flag.as_str() {
            "--moto-port" => parsed.moto_port = port()?,
            "--slack-port" => parsed.slack_port = port()?,
            "--hubspot-port" => parsed.hubspot_port = port()?,
            "--first-function-port" => parsed.first_function_port = port()?,
            "--work-dir" => {
                parsed.work_dir = Some(PathBuf::from(
                    args.next().ok_or("--work-dir needs a folder")?,
                ));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(parsed)
}

/// A fixed port must be free now: a clear message beats a bind error deep in a child.
fn check_free(name: &str, port: u16) -> Result<(), String> {
    if port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        return Err(format!(
            "port {port} ({name}) is taken: stop what uses it or pass another port (0: a free one)"
        ));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("switchyard-dev: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    for (name, port) in [
        ("moto", args.moto_port),
        ("Slack stand-in", args.slack_port),
        ("HubSpot stand-in", args.hubspot_port),
        ("first function", args.first_function_port),
    ] {
        if let Err(e) = check_free(name, port) {
            eprintln!("switchyard-dev: {e}");
            return ExitCode::FAILURE;
        }
    }
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| workspace_root().join("target/switchyard-dev"));
    let _ = std::fs::remove_dir_all(&work_dir);
    let say: Say = Arc::new(|line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    });
    let options = StackOptions {
        moto_port: (args.moto_port != 0).then_some(args.moto_port),
        slack_port: args.slack_port,
        hubspot_port: args.hubspot_port,
        first_function_port: (args.first_function_port != 0).then_some(args.first_function_port),
        reload: true,
        work_dir: Some(work_dir.clone()),
        say: say.clone(),
        ..StackOptions::default()
    };
    let stack = match switchyard_e2e::stack::start_for("switchyard-dev", options).await {
        Ok(stack) => stack,
        Err(code) => return ExitCode::from(code),
    };
    say(&instructions(&stack, &work_dir));
    watch_arrivals(&stack).await;
    say("\nstopping the stack");
    stack.stop().await;
    ExitCode::SUCCESS
}

/// What is running where, and how to use it.
fn instructions(stack: &LocalStack, work_dir: &std::path::Path) -> String {
    let mut text = String::from(
        "\n== Switchyard local stack is up (Ctrl-C stops everything) ==\n\nFunction URLs (receivers):\n",
    );
    for (name, server) in &stack.functions {
        if stack
            .description
            .function(name)
            .is_some_and(|f| f.function_url)
        {
            text.push_str(&format!("  {name:<18} {}\n", server.function_url()));
        }
    }
    text.push_str("Deliverers (fed by the local SQS event source; Invoke API):\n");
    for (name, server) in &stack.functions {
        if stack
            .description
            .function(name)
            .is_some_and(|f| !f.function_url)
        {
            text.push_str(&format!("  {name:<18} {}\n", server.invoke_url()));
        }
    }
    text.push_str(&format!(
        "Stand-ins: Slack {}  HubSpot {}\nAWS emulator (moto): {}   stack: {}\nLogs: {}/logs/<function>.log   stack description: {}\n",
        stack.slack.base_url,
        stack.hubspot.base_url(),
        stack.endpoint(),
        stack.description.stack_name,
        work_dir.display(),
        stack.description_path.display(),
    ));
    let url = |name: &str| {
        stack
            .functions
            .get(name)
            .map_or_else(String::new, |s| s.function_url())
    };
    text.push_str(&format!(
        "\nSend a signed webhook (the receivers' local signing secrets are the test secrets); each \
         command prints a curl command to run:\n  \
         export GITHUB_SECRET=\"{github}\" STRIPE_SECRET='{stripe}'\n  \
         target/debug/switchyard sign github functions/github-webhook/samples/pull_request.opened.json \
         --event pull_request --secret-env GITHUB_SECRET --url {github_url}     # -> Slack\n  \
         target/debug/switchyard sign stripe functions/stripe-webhook/samples/customer.created.json \
         --secret-env STRIPE_SECRET --url {stripe_url}     # -> HubSpot\n\
         Read what happened (Slack messages and HubSpot contacts are printed below as they arrive):\n  \
         export AWS_ENDPOINT_URL={} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local\n  \
         target/debug/switchyard trace slack-notify <event-id> --stack {stack_name}\n  \
         target/debug/switchyard dlq slack-notify --stack {stack_name}\n  \
         target/debug/switchyard replay slack-notify --dry-run --stack {stack_name}\n\
         Inject failures (tests/src/control.rs):\n  \
         curl -X POST {slack_control}/faults -d '{{\"fault\":\"status\",\"status\":429,\"retry_after\":5,\"count\":3}}'\n  \
         curl -X DELETE {slack_control}/channels/<channel>     # the bot leaves: channel_not_found (PUT brings it back)\n  \
         curl -X POST {hubspot_control}/faults -d '{{\"fault\":\"status\",\"status\":503,\"endpoint\":\"upsert\"}}'\n  \
         curl {slack_control}/messages    curl {hubspot_control}/contacts\n",
        stack.endpoint(),
        github = providers::test_secret("github-webhook"),
        stripe = providers::test_secret("stripe-webhook"),
        github_url = url("github-webhook"),
        stripe_url = url("stripe-webhook"),
        stack_name = stack.description.stack_name,
        slack_control = stack.slack.base_url.trim_end_matches("/api").to_owned() + "/_standin",
        hubspot_control = format!("{}/_standin", stack.hubspot.base_url()),
    ));
    text
}

/// Prints every Slack message and HubSpot contact write as it arrives, until Ctrl-C.
async fn watch_arrivals(stack: &LocalStack) {
    let (mut posts, mut writes) = (0, 0);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let stop = switchyard_e2e::stack::interrupted();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tick.tick() => {}
        }
        let posted = stack.slack.posted();
        for post in posted.iter().skip(posts) {
            let text = post.text.as_deref().unwrap_or("(blocks only)");
            println!("slack:   #{} {text}", post.channel);
        }
        posts = posted.len();
        let contacts = stack.hubspot.contacts();
        let total: usize = contacts.iter().map(|c| c.writes).sum();
        if total > writes {
            for contact in &contacts {
                println!(
                    "hubspot: contact {} {} ({} write(s))",
                    contact.id, contact.email, contact.writes
                );
            }
            writes = total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_default_parse_and_bad_arguments_are_named() {
        let parse = |args: &[&str]| parse_args(args.iter().map(|a| a.to_string()));
        let args = parse(&[]).unwrap();
        assert_eq!(
            (
                args.moto_port,
                args.slack_port,
                args.hubspot_port,
                args.first_function_port
            ),
            (4566, 4010, 4020, 9001)
        );
        let args = parse(&["--moto-port", "0", "--first-function-port", "9100"]).unwrap();
        assert_eq!((args.moto_port, args.first_function_port), (0, 9100));
        assert_eq!(
            parse(&["--slack-port"]).unwrap_err(),
            "--slack-port needs a port"
        );
        assert_eq!(
            parse(&["--hubspot-port", "x"]).unwrap_err(),
            "--hubspot-port: not a port number"
        );
        assert_eq!(parse(&["--nope"]).unwrap_err(), "unknown argument `--nope`");
        assert_eq!(parse(&["--help"]).unwrap_err(), "");
    }

    #[test]
    fn a_taken_port_is_named() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = check_free("moto", port).unwrap_err();
        assert!(e.contains(&port.to_string()) && e.contains("moto"), "{e}");
        assert!(check_free("moto", 0).is_ok());
    }
}
