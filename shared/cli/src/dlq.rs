//! `switchyard dlq`: what is in a function's dead-letter queue, and why, without removing it.

use serde_json::json;

use crate::Finished;
use crate::dead_letters::{LIST_HOLD, Peek};
use crate::resources::{self, QueueKind, StackArgs};

/// List a function's dead letters with why each one died; nothing is removed.
///
/// For each message: the failure class and reason the runner recorded
/// (`switchyard.error.class`, `switchyard.error.reason`), the event's id, type and source (from
/// its envelope), the attempts it had, when it was dead-lettered, its first receive and receive
/// count. Messages are held invisible while listed (30 s at most) and made visible again at the
/// end; each listing counts as a receive.
///
/// The queue: --dlq-url, else `<FUNCTION>_DLQ_URL` (e.g. `SLACK_NOTIFY_DLQ_URL`), else found by the
/// stack's naming with --stack (`<stack>-<Name>DeadLetterQueue[-suffix]`).
#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    /// The function (its binary name, e.g. slack-notify).
    pub function: String,
    /// The dead-letter queue's URL (stack output `<Name>DeadLetterQueueUrl`).
    #[arg(long, visible_alias = "queue-url", value_name = "URL")]
    pub dlq_url: Option<String>,
    #[command(flatten)]
    pub stack: StackArgs,
    /// List at most this many messages.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
    /// Print JSON (one object with the queue and its messages) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `dlq`.
pub async fn run(args: DlqArgs, config: &aws_config::SdkConfig) -> anyhow::Result<Finished> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let url = resources::queue_url(
        &sqs,
        &args.function,
        QueueKind::DeadLetter,
        args.dlq_url.as_deref(),
        &args.stack,
    )
    .await?;
    let mut peek = Peek::new(&sqs, &url, LIST_HOLD);
    let mut letters = Vec::new();
    let listed = async {
        while letters.len() < args.limit {
            let page = peek.next_page().await?;
            if page.is_empty() {
                break;
            }
            letters.extend(page);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    // Give the messages back before anything else, whatever happened.
    let released = peek.release().await;
    listed?;
    released?;
    letters.truncate(args.limit);

    if args.json {
        let out = json!({
            "queue_url": url,
            "messages": letters.iter().map(|l| l.to_json()).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{} dead letter(s) in {url}", letters.len());
        for letter in &letters {
            println!("{}", letter.to_text());
        }
    }
    Ok(Finished::Ok)
}
