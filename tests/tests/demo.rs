//! `make demo`'s scenario, end to end, in `make test`: the template's stack on moto, the
//! receivers and deliverers under `cargo lambda watch`, the local SQS event source, the
//! stand-ins, and the operator CLI, playing the demo's script. The report must match the
//! script, and its totals — read from the stand-ins, the dead-letter queues and the ledger,
//! not from the script — must be what a user would count.

use std::sync::{Arc, Mutex};

use switchyard_e2e::demo;
use switchyard_e2e::runtime_api::binary;
use switchyard_e2e::stack::{LocalStack, Say, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_plays_its_script_and_every_outcome_matches() {
    // The binaries `cargo lambda watch` runs and the CLI the demo calls, built as `make test`
    // builds them (a no-op after `cargo build --bins`).
    for name in demo::FUNCTIONS.iter().chain(&["switchyard"]) {
        binary(name);
    }
    let transcript = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = transcript.clone();
    let say: Say = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
    let stack = LocalStack::start(StackOptions {
        functions: Some(demo::FUNCTIONS.iter().map(|f| (*f).to_owned()).collect()),
        say: say.clone(),
        ..StackOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", transcript.lock().unwrap().join("\n")));
    let report = demo::run(&stack, &say).await;
    let logs: Vec<String> = stack
        .functions
        .values()
        .map(|f| {
            format!(
                "--- {} ---\n{}",
                f.function,
                std::fs::read_to_string(&f.log_path).unwrap_or_default()
            )
        })
        .collect();
    stack.stop().await;
    let report = report.unwrap_or_else(|e| {
        panic!(
            "{e}\n{}\n{}",
            transcript.lock().unwrap().join("\n"),
            logs.join("\n")
        )
    });
    let context = format!("{report}\n{}", transcript.lock().unwrap().join("\n"));
    assert!(report.passed(), "{context}\n{}", logs.join("\n"));

    let totals = &report.totals;
    assert_eq!(totals.sent, 13, "{context}");
    assert_eq!(totals.rejected, 1, "the forged signature: {context}");
    // Slack: the failed invoice, the issue, the burst of 6 and the replayed pull request,
    // each once; the redelivered invoice absorbed.
    assert_eq!(totals.slack_messages, 9, "{context}");
    assert_eq!(totals.hubspot_contacts, 1, "{context}");
    assert_eq!(totals.deduped, 1, "{context}");
    assert!(totals.answers_429 >= 1, "{context}");
    assert!(totals.retried_after_429 >= 1, "{context}");
    assert_eq!(totals.dead_lettered.get("permanent"), Some(&2), "{context}");
    assert_eq!(totals.replayed, 1, "{context}");
    assert_eq!(totals.lost, 0, "{context}");
    let text = report.to_string();
    assert!(text.contains("Every outcome matches the script."), "{text}");
    assert!(text.contains("INVALID_EMAIL"), "{text}");
}
