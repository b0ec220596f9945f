//! No secret and no personal value in any log line or dead-letter attribute, end to end: every
//! function of the template runs under `cargo lambda watch` on the local stack with known secret
//! values (the receivers' signing secrets, the Slack bot token, HubSpot's OAuth client secret,
//! refresh token and the access tokens it issues), the demo's script sends payloads carrying
//! e-mails, phone numbers and names — accepted, refused at the door, dead-lettered, replayed —
//! and each other receiver gets a signed and a forged delivery. Then every line every function
//! wrote (JSON and not, cargo-lambda's own included) and every attribute of every dead letter
//! is searched for each secret and personal value.
//!
//! The deliverers run at DEBUG (`AWS_LAMBDA_LOG_LEVEL=DEBUG`, as an operator debugging a mapping
//! would set it), so each writes a `"mapped"` line per record with the fields it mapped, through
//! the mapping's masks (`switchyard::mask`): the test also checks that those lines are there and
//! masked, so it cannot pass by their absence. Without the `mask`s in the deliverers'
//! `mapping.toml`, those lines would carry the e-mails, names and phone numbers searched for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use switchyard_e2e::demo::{self, observe::Evidence, script};
use switchyard_e2e::providers::{self, signed_sample, unix_now};
use switchyard_e2e::runtime_api::binary;
use switchyard_e2e::stack::{LocalStack, Say, StackOptions};
use switchyard_e2e::{hubspot, slack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_or_personal_value_reaches_a_log_line_or_a_dead_letter() {
    let transcript = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = transcript.clone();
    let say: Say = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
    // The deliverers at DEBUG: their "mapped" lines show what they send, masked.
    let debug = vec![("AWS_LAMBDA_LOG_LEVEL".to_owned(), "DEBUG".to_owned())];
    let function_env: BTreeMap<String, Vec<(String, String)>> = DELIVERERS
        .iter()
        .map(|d| ((*d).to_owned(), debug.clone()))
        .collect();
    let stack = LocalStack::start(StackOptions {
        say: say.clone(),
        function_env,
        ..StackOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", transcript.lock().unwrap().join("\n")));
    binary("switchyard");

    // The demo's script: customers with e-mails, phones and names; a refused contact; a
    // forged signature; a dead letter replayed.
    let report = demo::run(&stack, &say).await;
    // Every other receiver: a signed delivery and a forged one.
    let http = reqwest::Client::new();
    for receiver in ["slack-events", "shopify-webhook", "standard-webhook"] {
        let url = stack.function(receiver).unwrap().function_url();
        for secret in [
            providers::test_secret(receiver),
            "whsec_Zm9yZ2VkLWZvcmdlZC1mb3JnZWQtZm9yZ2Vk",
        ] {
            let request = signed_sample(receiver, secret, "evt_privacy_1", 0, unix_now());
            let mut post = http.post(&url).body(request.body.clone());
            for (name, value) in &request.headers {
                post = post.header(name, value);
            }
            post.send().await.unwrap();
        }
    }
    stack
        .wait_until_settled(std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let evidence = Evidence::gather(&stack).await.unwrap();
    let issued = stack.hubspot.access_tokens_issued();
    let logs: Vec<(String, String)> = stack
        .functions
        .values()
        .map(|f| {
            (
                f.function.clone(),
                std::fs::read_to_string(&f.log_path).unwrap(),
            )
        })
        .collect();
    stack.stop().await;
    let report =
        report.unwrap_or_else(|e| panic!("{e}\n{}", transcript.lock().unwrap().join("\n")));
    assert!(report.passed(), "{report}");
    assert!(
        issued >= 1,
        "hubspot-contacts never fetched an access token"
    );

    let mut secrets: Vec<String> = providers::RECEIVERS
        .iter()
        .map(|r| providers::test_secret(r).to_owned())
        .collect();
    secrets.extend([
        slack::TOKEN.to_owned(),
        hubspot::CLIENT_SECRET.to_owned(),
        hubspot::REFRESH_TOKEN.to_owned(),
        hubspot::PRIVATE_APP_TOKEN.to_owned(),
    ]);
    secrets.extend((1..=issued).map(|n| format!("hs-standin-access-{n:06}")));
    // Personal values the payloads carry (the Stripe customers, the invoice, the samples), and
    // what the mappings make of them (names split in two; GitHub logins and titles, which
    // slack-notify's mapping marks personal).
    let personal = [
        script::CONTACT_EMAIL,
        script::BAD_EMAIL,
        "+44 20 7946 0958",
        "Ada King Lovelace",
        "Lovelace",
        "Grace Hopper",
        "Hopper",
        "jane.doe@example.com",
        "ada@example.com",
        "octocat",
        "hubot",
        "Checkout fails for EU cards",
        "Retry failed payments",
    ];
    // Too short to search for anywhere: searched as whole JSON strings (`"Ada"`, and `\"Ada\"`
    // inside the `fields` text).
    let first_names = ["Ada", "Grace"];
    let mut found = Vec::new();
    for (function, text) in &logs {
        assert!(
            text.contains("\"level\""),
            "{function} wrote no JSON log line"
        );
        for line in text.lines() {
            for value in secrets.iter().map(String::as_str).chain(personal) {
                if line.contains(value) {
                    found.push(format!("{function}: `{value}` in {line}"));
                }
            }
            for name in first_names {
                if line.contains(&format!("\"{name}\"")) || line.contains(&format!("\"{name}\\\""))
                {
                    found.push(format!("{function}: `{name}` in {line}"));
                }
            }
        }
    }
    assert!(
        !evidence.dead_letters.is_empty(),
        "the script dead-letters a contact"
    );
    for letter in &evidence.dead_letters {
        for value in secrets.iter().map(String::as_str).chain(personal) {
            if letter.class.contains(value) || letter.reason.contains(value) {
                found.push(format!(
                    "dead letter of {}: `{value}` in {letter:?}",
                    letter.function
                ));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));

    // The masked lines are there: each deliverer logged what it mapped, masked.
    let mapped: BTreeMap<&str, Vec<String>> = logs
        .iter()
        .map(|(function, text)| (function.as_str(), mapped_fields(text)))
        .collect();
    let slack = &mapped["slack-notify"];
    assert!(
        slack.iter().any(|f| f.contains("\"text\":\"*****\"")),
        "slack-notify logged no masked \"mapped\" line: {slack:?}"
    );
    let hubspot = &mapped["hubspot-contacts"];
    for masked in [
        "\"email\":\"*****@example.com\"",
        "\"firstname\":\"*****\"",
        "\"phone\":\"*****0958\"",
    ] {
        assert!(
            hubspot.iter().any(|f| f.contains(masked)),
            "hubspot-contacts logged no \"mapped\" line with {masked}: {hubspot:?}"
        );
    }
    // The customer HubSpot refuses: its e-mail is not an address, so it is erased whole.
    assert!(
        hubspot.iter().any(|f| f.contains("\"email\":\"*****\"")),
        "{hubspot:?}"
    );
}

/// The deliverers run at DEBUG.
const DELIVERERS: [&str; 2] = ["slack-notify", "hubspot-contacts"];

/// The `fields` of every `"mapped"` line in a function's log.
fn mapped_fields(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "mapped")
        .filter_map(|line| line["fields"].as_str().map(str::to_owned))
        .collect()
}
