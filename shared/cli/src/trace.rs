//! `switchyard trace`: what became of one event at one function, from the delivery ledger.
//!
//! The record is read with the kit's own [`Ledger`], so the CLI reads exactly what the
//! idempotency layer writes. The ledger's key is `<function>#<source>#<event id>`; when the
//! source is not given, a `Scan` filtered on `integration` and `event_id` finds the sources the
//! event has records under (each then read with [`Ledger::get`]). A scan reads the whole table
//! (its cost grows with the table), which is fine for an operator's one-off question, not for
//! a program.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use switchyard::batch::Outcome;
use switchyard::idempotency::{Ledger, LedgerEntry, item};

use crate::Finished;
use crate::resources::{self, StackArgs};
use crate::time_text::rfc3339;

/// Show one event's record in the delivery ledger (the idempotency table).
///
/// Prints its status, attempts, outcome, the last error's class and reason, the destination's
/// id, the note the delivery left, its timestamps and the last Lambda request and SQS message
/// ids. Exits 1 when the event has no record.
///
/// Without --source, the records of the event id under any source are found with a Scan of the
/// table filtered on `integration` and `event_id`: it reads the whole table, fine for a one-off
/// look, slow on a very large table; give --source to read one item directly.
///
/// The table: --table, else IDEMPOTENCY_TABLE, else found by the stack's naming with --stack
/// (`<stack>-IdempotencyTable[-suffix]`).
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// The deliverer (the integration name its ledger records carry, e.g. slack-notify).
    pub function: String,
    /// The event's id (the envelope's `id`, e.g. Stripe's evt_…).
    pub event_id: String,
    /// The event's source (the envelope's `source`, e.g. stripe): reads one item, no scan.
    #[arg(long)]
    pub source: Option<String>,
    /// The ledger table (stack output IdempotencyTableName).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print JSON (a list of records) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Why the ledger could not be searched.
#[derive(Debug, thiserror::Error)]
#[error("could not scan table {table}: {message}")]
pub struct ScanError {
    table: String,
    message: String,
}

/// Runs `trace`.
pub async fn run(args: TraceArgs, config: &aws_config::SdkConfig) -> anyhow::Result<Finished> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let table = resources::table_name(
        &dynamodb,
        &args.function,
        args.table.as_deref(),
        &args.stack,
    )
    .await?;
    let ledger = Ledger::new(dynamodb.clone(), &table);
    let sources = match &args.source {
        Some(source) => vec![source.clone()],
        None => sources_of(&dynamodb, &table, &args.function, &args.event_id).await?,
    };
    let mut entries = Vec::new();
    for source in &sources {
        if let Some(entry) = ledger.get(&args.function, source, &args.event_id).await? {
            entries.push(entry);
        }
    }
    if entries.is_empty() {
        let under = args
            .source
            .as_deref()
            .map(|s| format!(" from source `{s}`"))
            .unwrap_or_default();
        eprintln!(
            "no ledger record for event `{}`{under} at `{}` in table {table} (never received, or \
             older than the record TTL)",
            args.event_id, args.function
        );
        if args.json {
            println!("[]");
        }
        return Ok(Finished::Unsuccessful);
    }
    if args.json {
        let records: Vec<Value> = entries.iter().map(to_json).collect();
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else {
        let texts: Vec<String> = entries.iter().map(to_text).collect();
        println!("{}", texts.join("\n\n"));
    }
    Ok(Finished::Ok)
}

/// The sources under which `function` has records of `event_id`: a filtered, paginated scan
/// reading only the `source` attribute.
async fn sources_of(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    function: &str,
    event_id: &str,
) -> Result<Vec<String>, ScanError> {
    let mut pages = dynamodb
        .scan()
        .table_name(table)
        .filter_expression("#integration = :integration AND #event_id = :event_id")
        .projection_expression("#source")
        .expression_attribute_names("#integration", item::INTEGRATION)
        .expression_attribute_names("#event_id", item::EVENT_ID)
        .expression_attribute_names("#source", item::SOURCE)
        .expression_attribute_values(":integration", AttributeValue::S(function.to_owned()))
        .expression_attribute_values(":event_id", AttributeValue::S(event_id.to_owned()))
        .into_paginator()
        .send();
    let mut sources = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ScanError {
            table: table.to_owned(),
            message: DisplayErrorContext(&e).to_string(),
        })?;
        for found in page.items() {
            if let Some(AttributeValue::S(source)) = found.get(item::SOURCE)
                && !sources.contains(source)
            {
                sources.push(source.clone());
            }
        }
    }
    sources.sort();
    Ok(sources)
}

/// How the event completed, in words.
fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered { .. } => "delivered".into(),
        Outcome::Skipped { reason } => format!("skipped: {reason}"),
        Outcome::Duplicate => "duplicate".into(),
    }
}

fn note(entry: &LedgerEntry) -> Option<String> {
    match &entry.outcome {
        Some(Outcome::Delivered {
            note: Some(note), ..
        }) => Some(note.to_string()),
        _ => None,
    }
}

fn to_json(e: &LedgerEntry) -> Value {
    let time = |t: Option<std::time::SystemTime>| t.map(rfc3339);
    json!({
        "key": e.key,
        "integration": e.integration,
        "source": e.source,
        "event_type": e.event_type,
        "event_id": e.event_id,
        "status": e.status.as_str(),
        "attempts": e.attempts,
        "unknown_outcomes": e.unknown_outcomes,
        "possible_duplicate": e.possible_duplicate,
        "outcome": e.outcome.as_ref().map(outcome_text),
        "destination_id": e.destination_id(),
        "note": note(e),
        "last_error_class": e.last_error_class.map(|c| c.as_str()),
        "last_error_reason": e.last_error_reason,
        "request_id": e.request_id,
        "message_id": e.message_id,
        "created_at": time(e.created_at),
        "updated_at": rfc3339(e.updated_at),
        "completed_at": time(e.completed_at),
        "lock_expires_at": time(e.lock_expires_at),
        "expires_at": time(e.expires_at),
    })
}

fn to_text(e: &LedgerEntry) -> String {
    let mut lines = vec![format!("{} ({} from {})", e.key, e.event_type, e.source)];
    let mut line = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            lines.push(format!("  {label:<17} {value}"));
        }
    };
    line("status", Some(e.status.as_str().to_owned()));
    line("attempts", Some(e.attempts.to_string()));
    line("outcome", e.outcome.as_ref().map(outcome_text));
    line(
        "possibly twice",
        e.possible_duplicate.then(|| {
            format!(
                "yes: delivered after {} call(s) whose outcome is unknown; check the destination for a second copy",
                e.unknown_outcomes
            )
        }),
    );
    line(
        "unknown outcomes",
        (e.unknown_outcomes > 0 && !e.possible_duplicate).then(|| e.unknown_outcomes.to_string()),
    );
    line("destination id", e.destination_id().map(str::to_owned));
    line("note", note(e));
    line(
        "last error class",
        e.last_error_class.map(|c| c.as_str().to_owned()),
    );
    line("last error reason", e.last_error_reason.clone());
    line("first attempt", e.created_at.map(rfc3339));
    line("updated", Some(rfc3339(e.updated_at)));
    line("completed", e.completed_at.map(rfc3339));
    line("lock expires", e.lock_expires_at.map(rfc3339));
    line("record expires", e.expires_at.map(rfc3339));
    line("request id", e.request_id.clone());
    line("message id", e.message_id.clone());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};
    use switchyard::ErrorClass;
    use switchyard::idempotency::Status;

    fn entry() -> LedgerEntry {
        LedgerEntry {
            key: "slack-notify#stripe#evt_1".into(),
            integration: "slack-notify".into(),
            source: "stripe".into(),
            event_type: "invoice.paid".into(),
            event_id: "evt_1".into(),
            status: Status::Completed,
            attempts: 2,
            unknown_outcomes: 1,
            possible_duplicate: true,
            outcome: Some(Outcome::Delivered {
                destination_id: Some("1763700000.000100".into()),
                note: Some("owner not found".into()),
            }),
            last_error_class: Some(ErrorClass::Transient),
            last_error_reason: Some("HTTP 503".into()),
            payload_hash: "h".into(),
            request_id: Some("req-1".into()),
            message_id: Some("msg-1".into()),
            created_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_763_700_000)),
            updated_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_763_700_001),
            completed_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_763_700_001)),
            lock_expires_at: None,
            expires_at: None,
        }
    }

    #[test]
    fn a_record_shows_everything_an_operator_asks_about() {
        let text = to_text(&entry());
        for expected in [
            "COMPLETED",
            "attempts          2",
            "possibly twice    yes: delivered after 1 call(s) whose outcome is unknown",
            "delivered",
            "1763700000.000100",
            "owner not found",
            "transient",
            "HTTP 503",
            "2025-11-21T04:40:00Z",
            "req-1",
            "msg-1",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
        assert!(!text.contains("lock expires"), "absent facts are left out");
        let j = to_json(&entry());
        assert_eq!(j["status"], "COMPLETED");
        assert_eq!(j["destination_id"], "1763700000.000100");
        assert_eq!(j["last_error_class"], "transient");
        assert_eq!(j["possible_duplicate"], true);
        assert_eq!(j["unknown_outcomes"], 1);
        assert_eq!(j["lock_expires_at"], Value::Null);
    }

    #[test]
    fn a_skip_says_why() {
        assert_eq!(
            outcome_text(&Outcome::skipped("no rule")),
            "skipped: no rule"
        );
    }
}
