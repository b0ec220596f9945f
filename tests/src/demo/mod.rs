//! `make demo`: Switchyard's whole job on one machine, scripted, with a report.
//!
//! On a [`LocalStack`] (the template's resources on moto, the functions under `cargo lambda
//! watch`, the local SQS event source, the Slack and HubSpot stand-ins), [`run`] plays
//! [`script`] in four acts:
//!
//! 1. **Webhooks in**: a Stripe customer (→ HubSpot), a Stripe customer whose e-mail HubSpot
//!    refuses, a failed Stripe invoice and a GitHub issue (→ Slack), a delivery with a forged
//!    signature, and a burst of GitHub issues into a channel whose Slack rate is already used
//!    up by others, so Slack answers 429 and the deliverer waits as told.
//! 2. **A provider redelivers**: Stripe sends the failed invoice again (same event id).
//! 3. **Dead letter and replay**: the bot is removed from the alerts channel, a pull request is
//!    opened (Slack: `channel_not_found`, dead-lettered); the bot is invited back and the
//!    operator CLI lists the DLQ, replays it, and traces the event.
//! 4. **Report**: each delivery's path and outcome, checked against the script, and totals
//!    ([`report`]).
//!
//! Outcomes are read from where an operator would look ([`observe`]), never from the script.

pub mod observe;
pub mod report;
pub mod script;

use std::process::Command;
use std::time::Duration;

use crate::providers::unix_now;
use crate::slack::ChannelRate;
use crate::stack::{LocalStack, Say};
use report::{Report, Sent};
use script::Delivery;

/// The functions the demo needs.
pub const FUNCTIONS: [&str; 4] = [
    "stripe-webhook",
    "github-webhook",
    "slack-notify",
    "hubspot-contacts",
];

/// How long each act may take to settle.
const SETTLE: Duration = Duration::from_secs(120);

/// Plays the script on `stack` and reports.
pub async fn run(stack: &LocalStack, say: &Say) -> Result<Report, String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let channel = stack
        .description
        .function("slack-notify")
        .and_then(|f| f.environment.get("SLACK_CHANNEL").cloned())
        .ok_or("slack-notify has no SLACK_CHANNEL in the template")?;
    let mut sent = Vec::new();

    say("");
    say("── 1. Webhooks in ─────────────────────────────────────────────────────────────");
    // Other apps post in the channel too: Slack has no burst left for this one, one message a
    // second. slack-notify's limiter (1 per 2 s per instance, bursts of 2, two instances)
    // assumes Slack's usual allowance, so the burst meets Slack's limit.
    stack.slack.set_rate(Some(ChannelRate::per_second(1, 1)));
    say(&format!(
        "   (Slack's stand-in allows #{channel} one message a second, no burst: other apps use it too)"
    ));
    let now = unix_now();
    for delivery in script::first_wave(now) {
        sent.push(send(stack, &http, delivery, say).await?);
    }
    settle(stack, say).await?;

    say("");
    say("── 2. Stripe sends the failed invoice again (a provider's retry) ──────────────");
    sent.push(send(stack, &http, script::redelivery(now, unix_now()), say).await?);
    settle(stack, say).await?;

    say("");
    say(&format!(
        "── 3. The bot is removed from #{channel}; a pull request is opened ───────────────"
    ));
    stack.slack.remove_channel(&channel);
    let pull_request = script::pull_request(unix_now());
    let replayed_id = pull_request.event_id.clone();
    sent.push(send(stack, &http, pull_request, say).await?);
    settle(stack, say).await?;
    let before_replay = observe::Evidence::gather(stack).await?;
    cli(stack, &["dlq", "slack-notify"], say)?;
    say(&format!(
        "   … the bot is invited back to #{channel}; the operator replays the DLQ:"
    ));
    stack.slack.add_channel(&channel);
    cli(stack, &["replay", "slack-notify"], say)?;
    settle(stack, say).await?;
    cli(stack, &["trace", "slack-notify", &replayed_id], say)?;

    say("");
    let after = observe::Evidence::gather(stack).await?;
    report::build(stack, &sent, &before_replay, &after).await
}

/// Sends one delivery to its receiver's Function URL, as its provider would.
async fn send(
    stack: &LocalStack,
    http: &reqwest::Client,
    delivery: Delivery,
    say: &Say,
) -> Result<Sent, String> {
    let url = stack.function(delivery.receiver)?.function_url();
    let mut request = http.post(&url).body(delivery.request.body.clone());
    for (name, value) in &delivery.request.headers {
        request = request.header(name, value);
    }
    let answer = request
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap_or_default();
    say(&format!(
        "   {:<40} → {:<15} {status} {}",
        delivery.label,
        delivery.receiver,
        body.chars().take(60).collect::<String>()
    ));
    Ok(Sent {
        delivery,
        status,
        body,
    })
}

async fn settle(stack: &LocalStack, say: &Say) -> Result<(), String> {
    say("   … waiting for the queues to empty");
    let took = stack.wait_until_settled(SETTLE).await?;
    say(&format!("   settled in {:.1} s", took.as_secs_f64()));
    Ok(())
}

/// Runs `switchyard <args> --stack <stack>` against the emulator, showing the command and
/// its output as a user would see them.
fn cli(stack: &LocalStack, args: &[&str], say: &Say) -> Result<String, String> {
    let binary = crate::runtime_api::debug_binary("switchyard");
    if !binary.exists() {
        return Err(format!(
            "{} not found: `cargo build --bins` first",
            binary.display()
        ));
    }
    say(&format!(
        "   $ switchyard {} --stack {}",
        args.join(" "),
        stack.description.stack_name
    ));
    let output = Command::new(&binary)
        .args(args)
        .args(["--stack", &stack.description.stack_name])
        .envs(stack.aws_env())
        .output()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    for line in stdout
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
    {
        say(&format!("     {line}"));
    }
    if !output.status.success() {
        return Err(format!(
            "switchyard {} failed ({})",
            args.join(" "),
            output.status
        ));
    }
    Ok(stdout)
}
