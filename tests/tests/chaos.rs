//! `make chaos`'s short version in `make test`: a few hundred signed webhooks through the real
//! pipeline (receivers → queues → the local event source → deliverers → stand-ins) while the
//! stand-ins answer 30 % 5xx, 10 % 429, 5 % hangs, dropped connections and lost answers, a
//! share of webhooks arrives twice, and each deliverer is killed once in the middle of a batch. Every event must be accounted for: delivered exactly once,
//! dead-lettered with its class (the customers HubSpot refuses), or delivered more than once
//! only where Slack lost an answer — and the reconciliation is read from the destinations, the
//! dead-letter queues, the ledger and the logs, not from what was sent. A message Slack shows
//! twice must be marked "possibly delivered twice" in the ledger.

use std::sync::{Arc, Mutex};

use switchyard_e2e::chaos::{self, ChaosOptions};
use switchyard_e2e::runtime_api::binary;
use switchyard_e2e::stack::{LocalStack, Say};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_lost_under_faults_and_every_duplicate_is_explained() {
    for name in chaos::FUNCTIONS {
        binary(name);
    }
    let transcript = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = transcript.clone();
    let say: Say = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
    let options = ChaosOptions {
        events: 150,
        redelivered: 0.1,
        seed: 7,
        kills: 2,
        ..ChaosOptions::default()
    };
    let stack = LocalStack::start(chaos::stack_options(&options, say.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", transcript.lock().unwrap().join("\n")));
    let table = chaos::run(&stack, &options, &say).await;
    stack.stop().await;
    let table = table.unwrap_or_else(|e| panic!("{e}\n{}", transcript.lock().unwrap().join("\n")));
    let context = format!("{table}\n{}", transcript.lock().unwrap().join("\n"));

    assert!(table.passed(), "{context}");
    assert_eq!(table.events, 150);
    assert!(table.sent > 150, "some webhooks were sent twice: {context}");
    assert!(
        table.lost.is_empty() && table.unexplained.is_empty(),
        "{context}"
    );
    // Every event is one of: delivered once, dead-lettered, delivered again after a lost answer.
    let dead: usize = table.dead_lettered.values().sum();
    let duplicated: usize = table.duplicates.values().sum();
    assert_eq!(table.delivered_once + dead + duplicated, 150, "{context}");
    // The customers HubSpot refuses (one in fifty), and only they, are dead-lettered.
    assert_eq!(table.dead_lettered.get("permanent"), Some(&2), "{context}");
    // Every copy sent twice was absorbed by idempotency (a copy of a refused customer is
    // refused again instead: a failed event is not a duplicate). SQS redeliveries of records
    // already done are absorbed and counted the same way, so there may be more.
    let copies = table.sent - 150;
    assert!(table.deduped + dead >= copies, "{context}");
    // Both deliverers were killed mid-batch once, and nothing was lost for it.
    assert_eq!(table.kills.len(), 2, "{context}");
    // The faults did happen.
    let faults: usize = table.faults.values().sum();
    assert!(faults > 20, "{context}");
    assert!(table.retried_in_invocation > 0, "{context}");
}
