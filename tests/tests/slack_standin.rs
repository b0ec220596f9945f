//! The Slack stand-in on its own, with a plain reqwest client: every reject path, every
//! fault, the per-channel rate limit, and the lost answer (the message recorded while the
//! client sees a transport error).
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_e2e::slack::{
    CHANNELS, ChannelRate, Fault, MAX_TEXT_CHARS, Outcome, SlackConfig, SlackStandIn, TOKEN,
};

const GENERAL: &str = CHANNELS[0];
const ALERTS: &str = CHANNELS[1];

/// A client with a short timeout, so a hang shows quickly.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }
}

/// Posts `body` as JSON with `token` (none: no `Authorization` header).
async fn post_as(
    slack: &SlackStandIn,
    token: Option<&str>,
    body: &Value,
) -> Result<Answer, reqwest::Error> {
    let mut request = client()
        .post(slack.post_message_url())
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await?;
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

async fn post(slack: &SlackStandIn, body: &Value) -> Answer {
    post_as(slack, Some(TOKEN), body).await.unwrap()
}

/// Asserts Slack's way of refusing: HTTP 200, `ok:false`, this code; nothing recorded.
async fn assert_refused(slack: &SlackStandIn, token: Option<&str>, body: &Value, code: &str) {
    let before = slack.posted().len();
    let answer = post_as(slack, token, body).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{body}");
    assert_eq!(answer.body["ok"], json!(false), "{body}");
    assert_eq!(answer.error(), Some(code), "{body}");
    assert_eq!(slack.posted().len(), before, "nothing recorded for {body}");
}

fn hello(channel: &str) -> Value {
    json!({"channel": channel, "text": "Deploy finished"})
}

#[tokio::test]
async fn a_post_is_answered_with_its_ts_and_recorded() {
    let slack = SlackStandIn::start().await;
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*Deploy* done"}}]);
    let first = post(&slack, &hello(GENERAL)).await;
    let second = post(
        &slack,
        &json!({"channel": ALERTS, "blocks": blocks, "thread_ts": "1763700000.000100"}),
    )
    .await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["ok"], json!(true));
    assert_eq!(first.body["channel"], json!(GENERAL));
    assert_eq!(first.body["message"]["text"], json!("Deploy finished"));
    assert!(first.body.get("warning").is_none(), "charset was sent");
    let ts = first.body["ts"].as_str().unwrap();
    let (secs, micros) = ts.split_once('.').unwrap();
    assert!(secs.len() >= 10 && micros.len() == 6, "{ts}");
    assert_ne!(first.body["ts"], second.body["ts"], "ts values are unique");
    assert_eq!(second.body["message"]["blocks"], blocks);

    let posted = slack.posted();
    assert_eq!(posted.len(), 2);
    assert_eq!(posted[0].channel, GENERAL);
    assert_eq!(posted[0].text.as_deref(), Some("Deploy finished"));
    assert_eq!(posted[0].ts, ts);
    assert!(!posted[0].answer_lost);
    assert_eq!(posted[1].blocks, Some(blocks));
    assert_eq!(posted[1].text, None);
    assert_eq!(posted[1].thread_ts.as_deref(), Some("1763700000.000100"));
    assert!(posted[1].at >= posted[0].at);
    assert_eq!(slack.posted_in(ALERTS).len(), 1);
    assert_eq!(slack.count(&Outcome::Posted), 2);
}

#[tokio::test]
async fn json_without_a_charset_gets_slacks_warning() {
    let slack = SlackStandIn::start().await;
    let answer: Value = client()
        .post(slack.post_message_url())
        .bearer_auth(TOKEN)
        .json(&hello(GENERAL))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], json!(true));
    assert_eq!(answer["warning"], json!("missing_charset"));
}

#[tokio::test]
async fn credentials_are_checked_first() {
    let slack = SlackStandIn::start().await;
    assert_refused(&slack, None, &hello(GENERAL), "not_authed").await;
    // A token in the JSON body is not a credential.
    let in_body = json!({"token": TOKEN, "channel": GENERAL, "text": "hi"});
    assert_refused(&slack, None, &in_body, "not_authed").await;
    assert_refused(
        &slack,
        Some("xoxb-someone-else"),
        &hello(GENERAL),
        "invalid_auth",
    )
    .await;
    // Auth comes before the body: an invalid body with a bad token is an auth error.
    assert_refused(&slack, Some("xoxb-nope"), &json!({}), "invalid_auth").await;
    let basic = client()
        .post(slack.post_message_url())
        .basic_auth("user", Some(TOKEN))
        .json(&hello(GENERAL))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(basic["error"], json!("not_authed"));
    assert_eq!(slack.count(&Outcome::Error("not_authed".into())), 3);
    assert_eq!(slack.count(&Outcome::Error("invalid_auth".into())), 2);
}

#[tokio::test]
async fn the_token_can_be_invalidated_and_rotated_at_run_time() {
    let slack = SlackStandIn::start().await;
    assert_eq!(post(&slack, &hello(GENERAL)).await.body["ok"], json!(true));
    slack.set_token_valid(false);
    assert_refused(&slack, Some(TOKEN), &hello(GENERAL), "invalid_auth").await;
    slack.set_token_valid(true);
    assert_eq!(post(&slack, &hello(GENERAL)).await.body["ok"], json!(true));

    slack.rotate_token("xoxb-rotated");
    assert_refused(&slack, Some(TOKEN), &hello(GENERAL), "invalid_auth").await;
    let answer = post_as(&slack, Some("xoxb-rotated"), &hello(GENERAL))
        .await
        .unwrap();
    assert_eq!(answer.body["ok"], json!(true));
}

#[tokio::test]
async fn bodies_that_are_not_a_json_object_are_refused() {
    let slack = SlackStandIn::start().await;
    let raw = |body: &'static str| {
        client()
            .post(slack.post_message_url())
            .bearer_auth(TOKEN)
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
    };
    let garbled: Value = raw("{\"channel\": ").await.unwrap().json().await.unwrap();
    assert_eq!(garbled["error"], json!("invalid_json"));
    let form: Value = raw("channel=C0GENERAL01&text=hi")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["error"], json!("invalid_json"));
    assert_refused(
        &slack,
        Some(TOKEN),
        &json!([hello(GENERAL)]),
        "json_not_object",
    )
    .await;
    assert!(slack.posted().is_empty());
}

#[tokio::test]
async fn a_channel_it_does_not_know_is_not_found() {
    let slack = SlackStandIn::start().await;
    assert_refused(
        &slack,
        Some(TOKEN),
        &hello("C0NOSUCHCHAN"),
        "channel_not_found",
    )
    .await;
    assert_refused(
        &slack,
        Some(TOKEN),
        &json!({"text": "hi"}),
        "channel_not_found",
    )
    .await;
    assert_refused(
        &slack,
        Some(TOKEN),
        &json!({"channel": 7, "text": "hi"}),
        "channel_not_found",
    )
    .await;

    slack.add_channel("C0NEWCHAN01");
    assert!(slack.channels().contains(&"C0NEWCHAN01".to_owned()));
    assert_eq!(
        post(&slack, &hello("C0NEWCHAN01")).await.body["ok"],
        json!(true)
    );
    slack.remove_channel(GENERAL);
    assert_refused(&slack, Some(TOKEN), &hello(GENERAL), "channel_not_found").await;
    assert_eq!(slack.channels().len(), 3);
}

#[tokio::test]
async fn a_message_needs_text_or_blocks() {
    let slack = SlackStandIn::start().await;
    for body in [
        json!({"channel": GENERAL}),
        json!({"channel": GENERAL, "text": ""}),
        json!({"channel": GENERAL, "text": null, "blocks": null}),
    ] {
        assert_refused(&slack, Some(TOKEN), &body, "no_text").await;
    }
    assert_refused(
        &slack,
        Some(TOKEN),
        &json!({"channel": GENERAL, "text": 42}),
        "invalid_arguments",
    )
    .await;
}

#[tokio::test]
async fn text_over_forty_thousand_characters_is_too_long() {
    let slack = SlackStandIn::start().await;
    // Characters, not bytes: 40,000 two-byte characters are within the limit.
    let longest = "é".repeat(MAX_TEXT_CHARS);
    let answer = post(&slack, &json!({"channel": GENERAL, "text": longest})).await;
    assert_eq!(answer.body["ok"], json!(true));
    let too_long = "x".repeat(MAX_TEXT_CHARS + 1);
    assert_refused(
        &slack,
        Some(TOKEN),
        &json!({"channel": GENERAL, "text": too_long}),
        "msg_too_long",
    )
    .await;
}

#[tokio::test]
async fn blocks_must_be_an_array_of_typed_objects() {
    let slack = SlackStandIn::start().await;
    let section = json!({"type": "section", "text": {"type": "plain_text", "text": "hi"}});
    let bad = [
        json!({"type": "section"}),
        json!("[{\"type\":\"section\"}]"),
        json!([]),
        json!(["section"]),
        json!([{"text": "no type"}]),
        json!([{"type": 3}]),
        json!([section.clone(), {"text": "second has no type"}]),
        Value::Array(vec![section.clone(); 51]),
    ];
    for blocks in bad {
        let body = json!({"channel": GENERAL, "text": "fallback", "blocks": blocks});
        assert_refused(&slack, Some(TOKEN), &body, "invalid_blocks").await;
    }
    let fifty = Value::Array(vec![section; 50]);
    let answer = post(&slack, &json!({"channel": GENERAL, "blocks": fifty})).await;
    assert_eq!(answer.body["ok"], json!(true));
}

#[tokio::test]
async fn other_methods_are_unknown() {
    let slack = SlackStandIn::start().await;
    let answer: Value = client()
        .post(format!("{}/chat.postEphemeral", slack.base_url))
        .bearer_auth(TOKEN)
        .json(&hello(GENERAL))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer, json!({"ok": false, "error": "unknown_method"}));
}

#[tokio::test]
async fn a_channel_past_its_rate_is_answered_429_with_retry_after() {
    // One post a minute with a burst of two: the third is limited however slow the machine.
    let slack = SlackStandIn::start_with(SlackConfig {
        rate: Some(ChannelRate {
            interval: Duration::from_secs(60),
            burst: 2,
        }),
        ..SlackConfig::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(post(&slack, &hello(GENERAL)).await.body["ok"], json!(true));
    }
    let limited = post(&slack, &hello(GENERAL)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body, json!({"ok": false, "error": "ratelimited"}));
    let retry_after: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        slack.posted_in(GENERAL).len(),
        2,
        "a limited post is not recorded"
    );

    // Another channel has its own rate.
    assert_eq!(post(&slack, &hello(ALERTS)).await.body["ok"], json!(true));
    // Invalid posts do not count against it.
    assert_refused(&slack, Some(TOKEN), &json!({"channel": ALERTS}), "no_text").await;
    assert_eq!(post(&slack, &hello(ALERTS)).await.body["ok"], json!(true));

    // Raised for a load test: full buckets, a higher rate.
    slack.set_rate(Some(ChannelRate::per_second(1000, 100)));
    for _ in 0..50 {
        assert_eq!(post(&slack, &hello(GENERAL)).await.status, StatusCode::OK);
    }
    slack.set_rate(None);
    assert_eq!(post(&slack, &hello(GENERAL)).await.status, StatusCode::OK);
    assert_eq!(slack.count(&Outcome::RateLimited), 1);
}

#[tokio::test]
async fn the_default_rate_is_one_a_second_with_a_short_burst() {
    assert_eq!(
        SlackConfig::default().rate,
        Some(ChannelRate {
            interval: Duration::from_secs(1),
            burst: 4
        })
    );
}

#[tokio::test]
async fn injected_error_codes_are_answered_as_slack_does() {
    let slack = SlackStandIn::start().await;
    let codes = [
        "invalid_auth",
        "token_revoked",
        "channel_not_found",
        "is_archived",
        "internal_error",
        "fatal_error",
        "rate_limited",
        "message_limit_exceeded",
    ];
    slack.push_faults(codes.iter().map(|c| Fault::error(c)));
    for code in codes {
        let answer = post(&slack, &hello(GENERAL)).await;
        assert_eq!(answer.status, StatusCode::OK, "{code}");
        assert_eq!(answer.body, json!({"ok": false, "error": code}));
    }
    assert!(slack.posted().is_empty(), "a faulted request posts nothing");
    assert_eq!(slack.count(&Outcome::Error("fatal_error".into())), 1);
}

#[tokio::test]
async fn injected_statuses_come_with_or_without_retry_after() {
    let slack = SlackStandIn::start().await;
    slack.push_faults([
        Fault::status(500),
        Fault::status(502),
        Fault::status(503),
        Fault::status_retry_after(503, 7),
        Fault::status_retry_after(429, 3),
    ]);
    for (status, retry_after) in [(500, None), (502, None), (503, None), (503, Some("7"))] {
        let response = client()
            .post(slack.post_message_url())
            .bearer_auth(TOKEN)
            .json(&hello(GENERAL))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            retry_after
        );
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
    }
    let limited = post(&slack, &hello(GENERAL)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.retry_after.as_deref(), Some("3"));
    assert_eq!(limited.error(), Some("ratelimited"));
    assert!(slack.posted().is_empty());
    let counts: BTreeMap<_, _> = slack.counts();
    assert_eq!(counts.get(&Outcome::Status(503)), Some(&2));
    assert_eq!(counts.get(&Outcome::Status(429)), Some(&1));
}

#[tokio::test]
async fn faults_are_consumed_one_per_request() {
    let slack = SlackStandIn::start().await;
    slack.push_fault(Fault::error("internal_error"));
    slack.push_fault(Fault::status(502));
    assert_eq!(slack.pending_faults(), 2);
    assert_eq!(
        post(&slack, &hello(GENERAL)).await.error(),
        Some("internal_error")
    );
    assert_eq!(slack.pending_faults(), 1);
    let second = post_as(&slack, Some(TOKEN), &hello(GENERAL)).await;
    assert!(second.is_err(), "a 502 page is not JSON");
    assert_eq!(post(&slack, &hello(GENERAL)).await.body["ok"], json!(true));
    assert_eq!(slack.pending_faults(), 0);
    assert_eq!(slack.requests().len(), 3);
    assert_eq!(
        slack.counts(),
        BTreeMap::from([
            (Outcome::Error("internal_error".into()), 1),
            (Outcome::Status(502), 1),
            (Outcome::Posted, 1),
        ])
    );
}

#[tokio::test]
async fn a_hang_runs_into_the_clients_timeout() {
    let slack = SlackStandIn::start().await;
    slack.push_fault(Fault::Hang);
    let err = post_as(&slack, Some(TOKEN), &hello(GENERAL))
        .await
        .err()
        .expect("no answer");
    assert!(err.is_timeout(), "{err:?}");
    assert!(slack.posted().is_empty());
    assert_eq!(slack.count(&Outcome::Hung), 1);
    // The next request is answered.
    assert_eq!(post(&slack, &hello(GENERAL)).await.body["ok"], json!(true));
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_and_posts_nothing() {
    let slack = SlackStandIn::start().await;
    slack.push_fault(Fault::Drop);
    let err = post_as(&slack, Some(TOKEN), &hello(GENERAL))
        .await
        .err()
        .expect("no answer");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(err.is_request(), "{err:?}");
    assert!(slack.posted().is_empty());
    assert_eq!(slack.count(&Outcome::Dropped), 1);
    assert_eq!(post(&slack, &hello(GENERAL)).await.body["ok"], json!(true));
}

#[tokio::test]
async fn a_lost_answer_records_the_post_while_the_client_sees_a_transport_error() {
    let slack = SlackStandIn::start().await;
    slack.push_fault(Fault::LoseAnswer);
    let err = post_as(&slack, Some(TOKEN), &hello(GENERAL))
        .await
        .err()
        .expect("the answer is lost");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(err.is_request(), "{err:?}");

    let posted = slack.posted();
    assert_eq!(posted.len(), 1, "the post happened");
    assert_eq!(posted[0].channel, GENERAL);
    assert_eq!(posted[0].text.as_deref(), Some("Deploy finished"));
    assert!(posted[0].answer_lost);
    assert_eq!(slack.count(&Outcome::AnswerLost), 1);

    // A retry posts it again: Slack has no idempotency key for bot posts.
    let retry = post(&slack, &hello(GENERAL)).await;
    assert_eq!(retry.body["ok"], json!(true));
    let posted = slack.posted();
    assert_eq!(posted.len(), 2);
    assert_ne!(posted[0].ts, posted[1].ts);
}

#[tokio::test]
async fn a_fatal_error_after_posting_records_the_post_and_answers_the_error() {
    let slack = SlackStandIn::start().await;
    slack.push_fault(Fault::PostThenError("fatal_error".into()));
    let answer = post(&slack, &hello(GENERAL)).await;
    assert_eq!(answer.body, json!({"ok": false, "error": "fatal_error"}));
    let posted = slack.posted();
    assert_eq!(posted.len(), 1, "the post happened");
    assert!(posted[0].answer_lost, "the client was told it failed");
    assert_eq!(slack.count(&Outcome::Error("fatal_error".into())), 1);

    // An invalid post is refused as usual: the fault does not make it succeed.
    slack.push_fault(Fault::PostThenError("fatal_error".into()));
    let refused = post_as(&slack, Some("xoxb-wrong"), &hello(GENERAL))
        .await
        .unwrap();
    assert_eq!(refused.body["error"], json!("invalid_auth"));
    assert_eq!(slack.posted().len(), 1);
}

#[tokio::test]
async fn a_lost_answer_to_an_invalid_post_records_nothing() {
    let slack = SlackStandIn::start().await;
    slack.push_fault(Fault::LoseAnswer);
    assert!(
        post_as(&slack, Some("xoxb-wrong"), &hello(GENERAL))
            .await
            .is_err()
    );
    assert!(slack.posted().is_empty());
    assert_eq!(slack.count(&Outcome::AnswerLost), 1);
}

#[tokio::test]
async fn the_kits_client_classifies_a_lost_answer_as_transient_and_a_429_as_throttled() {
    use switchyard::Classify;
    use switchyard::http::{Destination, Failure, HttpClient};
    use switchyard::taxonomy::ErrorClass;

    let slack = SlackStandIn::start().await;
    let dest = Destination::new("slack", &slack.base_url).unwrap();
    let http = HttpClient::new("slack-test").unwrap();
    let send = || {
        let request = http
            .request(reqwest::Method::POST, &dest, "chat.postMessage")
            .unwrap()
            .bearer_auth(TOKEN)
            .json(&hello(GENERAL));
        http.send(&dest, request)
    };
    slack.push_faults([Fault::LoseAnswer, Fault::status_retry_after(429, 3)]);

    let lost = send().await.unwrap_err();
    assert_eq!(lost.class(), ErrorClass::Transient, "{lost}");
    assert!(
        matches!(lost.failure(), Failure::Transport { .. }),
        "{lost}"
    );
    assert_eq!(slack.posted().len(), 1, "posted all the same");

    let limited = send().await.unwrap_err();
    assert_eq!(limited.class(), ErrorClass::Throttled, "{limited}");
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(limited.error_code(), Some("ratelimited"));

    assert!(send().await.is_ok());
}

/// `make dev`'s control endpoint: a fault ordered over HTTP answers the next posts, a bad order
/// is refused with what is wrong and queues nothing, removing a channel makes posts to it
/// `channel_not_found`, and the posted messages can be read back.
#[tokio::test]
async fn faults_and_channels_can_be_set_over_http() {
    let slack = SlackStandIn::start().await;
    let control = slack.base_url.trim_end_matches("/api").to_owned() + "/_standin";
    let http = client();
    let order = http
        .post(format!("{control}/faults"))
        .body(r#"{"fault":"status","status":503,"count":2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), StatusCode::OK);
    assert_eq!(
        order.json::<Value>().await.unwrap(),
        json!({"queued": 2, "pending": 2})
    );
    let bad = http
        .post(format!("{control}/faults"))
        .body(r#"{"fault":"status"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("needs `status`"));
    assert_eq!(slack.pending_faults(), 2);

    let message = json!({"channel": GENERAL, "text": "hello"});
    for _ in 0..2 {
        let response = client()
            .post(slack.post_message_url())
            .bearer_auth(TOKEN)
            .json(&message)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
    }
    assert_eq!(
        post_as(&slack, Some(TOKEN), &message).await.unwrap().status,
        StatusCode::OK
    );

    let removed = http
        .delete(format!("{control}/channels/{GENERAL}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let refused = post_as(&slack, Some(TOKEN), &message).await.unwrap();
    assert_eq!(refused.error(), Some("channel_not_found"));
    http.put(format!("{control}/channels/{GENERAL}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        post_as(&slack, Some(TOKEN), &message).await.unwrap().status,
        StatusCode::OK
    );

    let messages: Value = http
        .get(format!("{control}/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages.as_array().unwrap().len(), 2, "{messages}");
    assert_eq!(messages[0]["text"], "hello");
    http.post(format!("{control}/faults"))
        .body(r#"{"fault":"hang"}"#)
        .send()
        .await
        .unwrap();
    let cleared: Value = http
        .delete(format!("{control}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared, json!({"cleared": 1}));
}
