//! `switchyard replay`: dead letters back to their function's queue, once the cause is fixed.
//!
//! A message is only ever deleted from the dead-letter queue after the queue it goes back to
//! has accepted it: per batch of ten, `SendMessageBatch` to the function's queue (the original
//! body and attributes, without the runner's `switchyard.*` verdict, which the next failure
//! writes afresh), then `DeleteMessageBatch` of exactly the entries SQS reported as sent.
//! Anything not sent — a filter that does not select it, a refused entry, a failed call, a
//! missing queue — is made visible again in the dead-letter queue. The one way to end with a
//! copy in both queues is a delete that fails after its send: the summary says so, and the
//! deliverer's idempotency ledger makes the second delivery a duplicate.
//!
//! SQS's own `StartMessageMoveTask` moves everything and cannot filter; this command selects by
//! class and event type.

use std::collections::HashMap;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};
use serde_json::json;
use switchyard::ErrorClass;

use crate::Finished;
use crate::dead_letters::{DeadLetter, Peek, REPLAY_HOLD};
use crate::glob;
use crate::resources::{self, QueueKind, StackArgs};

/// A failure class, as `--class` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClassArg {
    /// 401/403, a missing or refused secret.
    Auth,
    /// Other 4xx, unreadable or unmappable events.
    Permanent,
    /// 5xx, timeouts, resets (dead-lettered when the retry period ran out).
    Transient,
    /// 429 (dead-lettered when the retry period ran out).
    Throttled,
}

impl ClassArg {
    fn class(self) -> ErrorClass {
        match self {
            ClassArg::Auth => ErrorClass::Auth,
            ClassArg::Permanent => ErrorClass::Permanent,
            ClassArg::Transient => ErrorClass::Transient,
            ClassArg::Throttled => ErrorClass::Throttled,
        }
    }
}

/// Move dead letters back to the function's queue, all or filtered; never loses one.
///
/// Per batch of ten: send to the queue (body and original attributes, without the
/// `switchyard.*` verdict), then delete from the dead-letter queue only what the queue
/// accepted. Everything else is made visible again in the dead-letter queue. --dry-run lists
/// what would move and moves nothing.
///
/// The queues: --dlq-url / --queue-url, else `<FUNCTION>_DLQ_URL` / `<FUNCTION>_QUEUE_URL`, else
/// found by the stack's naming with --stack.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The function (its binary name, e.g. slack-notify).
    pub function: String,
    /// Only dead letters of this failure class (`switchyard.error.class`).
    #[arg(long, value_enum)]
    pub class: Option<ClassArg>,
    /// Only events whose type matches this pattern (`*` matches any run: `customer.*`).
    #[arg(long = "type", value_name = "GLOB")]
    pub event_type: Option<String>,
    /// List what would move; move nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Move at most this many messages.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// The dead-letter queue's URL (stack output `<Name>DeadLetterQueueUrl`).
    #[arg(long, value_name = "URL")]
    pub dlq_url: Option<String>,
    /// The queue to move them to (stack output `<Name>QueueUrl`).
    #[arg(long, value_name = "URL")]
    pub queue_url: Option<String>,
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a replay did.
#[derive(Debug, Default)]
struct Summary {
    /// Moved (or, dry run, would move).
    moved: Vec<DeadLetter>,
    /// Left in place: not selected by the filters.
    not_selected: usize,
    /// Selected, but the queue did not take them: left in the dead-letter queue.
    not_sent: Vec<(String, String)>,
    /// Sent, but not deleted from the dead-letter queue: in both queues now.
    not_deleted: Vec<(String, String)>,
}

/// Runs `replay`.
pub async fn run(args: ReplayArgs, config: &aws_config::SdkConfig) -> anyhow::Result<Finished> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let dlq = resources::queue_url(
        &sqs,
        &args.function,
        QueueKind::DeadLetter,
        args.dlq_url.as_deref(),
        &args.stack,
    )
    .await?;
    let queue = resources::queue_url(
        &sqs,
        &args.function,
        QueueKind::Source,
        args.queue_url.as_deref(),
        &args.stack,
    )
    .await?;

    let mut peek = Peek::new(&sqs, &dlq, REPLAY_HOLD);
    let mut summary = Summary::default();
    let limit = args.limit.unwrap_or(usize::MAX);
    let moved = async {
        while summary.moved.len() < limit {
            let page = peek.next_page().await?;
            if page.is_empty() {
                break;
            }
            let room = limit - summary.moved.len();
            let (selected, rest): (Vec<_>, Vec<_>) =
                page.into_iter().partition(|l| selects(&args, l));
            summary.not_selected += rest.len();
            let (selected, over_limit) = split_at_most(selected, room);
            summary.not_selected += over_limit.len();
            if selected.is_empty() {
                continue;
            }
            if args.dry_run {
                summary.moved.extend(selected);
                continue;
            }
            let sent = send(&sqs, &queue, &selected).await;
            let mut to_delete = Vec::new();
            for letter in selected {
                match sent.get(&letter.message_id) {
                    Some(Ok(())) => to_delete.push(letter),
                    Some(Err(why)) => summary.not_sent.push((letter.message_id, why.clone())),
                    None => summary
                        .not_sent
                        .push((letter.message_id, "no answer for this entry".into())),
                }
            }
            let deleted = delete(&sqs, &dlq, &to_delete).await;
            for letter in to_delete {
                match deleted.get(&letter.message_id) {
                    Some(Ok(())) => {
                        peek.forget(&letter);
                        summary.moved.push(letter);
                    }
                    Some(Err(why)) => summary.not_deleted.push((letter.message_id, why.clone())),
                    None => summary
                        .not_deleted
                        .push((letter.message_id, "no answer for this entry".into())),
                }
            }
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let released = peek.release().await;
    report(&args, &summary, &queue, &dlq)?;
    moved?;
    released?;
    if summary.not_sent.is_empty() && summary.not_deleted.is_empty() {
        Ok(Finished::Ok)
    } else {
        Ok(Finished::Unsuccessful)
    }
}

/// Whether the filters select `letter`.
fn selects(args: &ReplayArgs, letter: &DeadLetter) -> bool {
    let class_ok = args
        .class
        .is_none_or(|c| letter.class() == Some(c.class().as_str()));
    let type_ok = args.event_type.as_deref().is_none_or(|pattern| {
        letter
            .envelope("type")
            .is_some_and(|t| glob::matches(pattern, &t))
    });
    class_ok && type_ok
}

fn split_at_most<T>(mut items: Vec<T>, n: usize) -> (Vec<T>, Vec<T>) {
    let rest = items.split_off(n.min(items.len()));
    (items, rest)
}

/// Sends `letters` to `queue` in one batch; answers per message id.
async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    letters: &[DeadLetter],
) -> HashMap<String, Result<(), String>> {
    let fifo = queue.ends_with(".fifo");
    let entries: Vec<_> = letters
        .iter()
        .enumerate()
        .filter_map(|(i, letter)| {
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(&letter.body)
                .set_message_attributes(Some(letter.original_attributes()));
            if fifo {
                let group = letter
                    .message_group_id
                    .as_deref()
                    .unwrap_or(&letter.message_id);
                entry = entry
                    .message_group_id(group)
                    .message_deduplication_id(&letter.message_id);
            }
            entry.build().ok()
        })
        .collect();
    let result = sqs
        .send_message_batch()
        .queue_url(queue)
        .set_entries(Some(entries))
        .send()
        .await;
    per_entry(
        letters,
        result.map(|o| {
            let ok = o.successful().iter().map(|s| s.id().to_owned()).collect();
            let failed = o
                .failed()
                .iter()
                .map(|f| (f.id().to_owned(), f.code().to_owned()))
                .collect();
            (ok, failed)
        }),
    )
}

/// Deletes `letters` from `dlq` in one batch; answers per message id.
async fn delete(
    sqs: &aws_sdk_sqs::Client,
    dlq: &str,
    letters: &[DeadLetter],
) -> HashMap<String, Result<(), String>> {
    if letters.is_empty() {
        return HashMap::new();
    }
    let entries: Vec<_> = letters
        .iter()
        .enumerate()
        .filter_map(|(i, letter)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .receipt_handle(&letter.receipt_handle)
                .build()
                .ok()
        })
        .collect();
    let result = sqs
        .delete_message_batch()
        .queue_url(dlq)
        .set_entries(Some(entries))
        .send()
        .await;
    per_entry(
        letters,
        result.map(|o| {
            let ok = o.successful().iter().map(|s| s.id().to_owned()).collect();
            let failed = o
                .failed()
                .iter()
                .map(|f| (f.id().to_owned(), f.code().to_owned()))
                .collect();
            (ok, failed)
        }),
    )
}

/// A batch call's answer: the entry ids that succeeded, and the failed ones with SQS's code.
type BatchAnswer = (Vec<String>, Vec<(String, String)>);

/// A batch call's answer per message id: entry `m<i>` is `letters[i]`.
fn per_entry<E, R>(
    letters: &[DeadLetter],
    result: Result<BatchAnswer, aws_sdk_sqs::error::SdkError<E, R>>,
) -> HashMap<String, Result<(), String>>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok((ok, failed)) => letters
            .iter()
            .enumerate()
            .filter_map(|(i, letter)| {
                let id = format!("m{i}");
                let answer = if ok.contains(&id) {
                    Ok(())
                } else {
                    Err(failed
                        .iter()
                        .find(|(f, _)| *f == id)
                        .map(|(_, code)| code.clone())?)
                };
                Some((letter.message_id.clone(), answer))
            })
            .collect(),
        Err(e) => {
            let why = DisplayErrorContext(&e).to_string();
            letters
                .iter()
                .map(|l| (l.message_id.clone(), Err(why.clone())))
                .collect()
        }
    }
}

fn report(args: &ReplayArgs, s: &Summary, queue: &str, dlq: &str) -> anyhow::Result<()> {
    let failures = |list: &[(String, String)]| {
        list.iter()
            .map(|(id, why)| json!({"message_id": id, "error": why}))
            .collect::<Vec<_>>()
    };
    if args.json {
        let out = json!({
            "dry_run": args.dry_run,
            "queue_url": queue,
            "dlq_url": dlq,
            "moved": s.moved.iter().map(|l| l.to_json()).collect::<Vec<_>>(),
            "not_selected": s.not_selected,
            "not_sent": failures(&s.not_sent),
            "not_deleted": failures(&s.not_deleted),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let verb = if args.dry_run { "would move" } else { "moved" };
    for letter in &s.moved {
        println!(
            "{verb} {} (event {}, {}, {})",
            letter.message_id,
            letter.envelope("id").as_deref().unwrap_or("-"),
            letter.envelope("type").as_deref().unwrap_or("-"),
            letter.class().unwrap_or("no class"),
        );
    }
    for (id, why) in &s.not_sent {
        println!("not sent {id}: {why} (left in the dead-letter queue)");
    }
    for (id, why) in &s.not_deleted {
        println!(
            "sent but not deleted {id}: {why} (now in both queues; the ledger deduplicates it)"
        );
    }
    println!(
        "{verb} {} from {dlq} to {queue}; {} not selected; {} not sent; {} sent but not deleted",
        s.moved.len(),
        s.not_selected,
        s.not_sent.len(),
        s.not_deleted.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::MessageAttributeValue;
    use clap::Parser;
    use switchyard::batch::dead_letter::ATTR_CLASS;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        args: ReplayArgs,
    }

    fn args(flags: &[&str]) -> ReplayArgs {
        let mut argv = vec!["replay", "slack-notify"];
        argv.extend_from_slice(flags);
        Wrap::try_parse_from(argv).unwrap().args
    }

    fn letter(class: &str, event_type: &str) -> DeadLetter {
        DeadLetter {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            body: json!({"id": "e", "type": event_type, "source": "stripe"}).to_string(),
            attributes: [(
                ATTR_CLASS.to_string(),
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(class)
                    .build()
                    .unwrap(),
            )]
            .into(),
            message_group_id: None,
            sent_timestamp: None,
            first_receive_timestamp: None,
            receive_count: None,
        }
    }

    #[test]
    fn filters_select_by_class_and_type_glob() {
        let auth_customer = letter("auth", "customer.created");
        let permanent_invoice = letter("permanent", "invoice.paid");
        let all = args(&[]);
        assert!(selects(&all, &auth_customer) && selects(&all, &permanent_invoice));
        let auth = args(&["--class", "auth"]);
        assert!(selects(&auth, &auth_customer));
        assert!(!selects(&auth, &permanent_invoice));
        let customers = args(&["--type", "customer.*"]);
        assert!(selects(&customers, &auth_customer));
        assert!(!selects(&customers, &permanent_invoice));
        let both = args(&["--class", "permanent", "--type", "customer.*"]);
        assert!(!selects(&both, &auth_customer) && !selects(&both, &permanent_invoice));
    }

    #[test]
    fn a_body_without_a_type_is_not_selected_by_a_type_filter() {
        let mut l = letter("permanent", "x");
        l.body = "not json".into();
        assert!(!selects(&args(&["--type", "*"]), &l));
        assert!(selects(&args(&["--class", "permanent"]), &l));
    }

    #[test]
    fn an_unknown_class_is_a_usage_error() {
        let error = Wrap::try_parse_from(["replay", "f", "--class", "fatal"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn the_limit_splits_a_page() {
        assert_eq!(split_at_most(vec![1, 2, 3], 2), (vec![1, 2], vec![3]));
        assert_eq!(split_at_most(vec![1], 5), (vec![1], vec![]));
    }
}
