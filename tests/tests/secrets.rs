//! The secrets cache against a real Secrets Manager API (moto): caching, TTL expiry, forced
//! refresh, typed JSON, redaction and error classification.
//!
//! A secret the function cannot use (missing, malformed, scheduled for deletion) is class
//! `Auth`: a failure of the function, not of the record, which heals once the secret is fixed
//! because failed reads are not cached.

use std::time::Duration;

use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use switchyard::secrets::{SecretError, SecretString, Secrets};
use switchyard::{Classify, ErrorClass};
use switchyard_e2e::moto::{Moto, free_port};

/// A cache on this emulator with a TTL long enough never to expire during a test.
fn secrets(moto: &Moto) -> Secrets {
    Secrets::new(aws_sdk_secretsmanager::Client::new(&moto.sdk_config()))
        .with_ttl(Duration::from_secs(300))
}

#[tokio::test]
async fn a_second_read_inside_the_ttl_is_served_from_memory_until_refreshed() {
    let moto = Moto::start();
    moto.create_secret("app/token", "old-token").await;
    let secrets = secrets(&moto);

    assert_eq!(
        secrets.get("app/token").await.unwrap().expose(),
        "old-token"
    );
    moto.put_secret("app/token", "new-token").await;
    assert_eq!(
        secrets.get("app/token").await.unwrap().expose(),
        "old-token",
        "a read inside the TTL must not call Secrets Manager"
    );

    assert_eq!(
        secrets.refresh("app/token").await.unwrap().expose(),
        "new-token"
    );
    assert_eq!(
        secrets.get("app/token").await.unwrap().expose(),
        "new-token",
        "the refreshed value is cached"
    );
}

#[tokio::test]
async fn a_read_after_the_ttl_fetches_the_new_value() {
    let moto = Moto::start();
    moto.create_secret("app/token", "old-token").await;
    let secrets = secrets(&moto).with_ttl(Duration::from_millis(200));

    assert_eq!(
        secrets.get("app/token").await.unwrap().expose(),
        "old-token"
    );
    moto.put_secret("app/token", "new-token").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        secrets.get("app/token").await.unwrap().expose(),
        "new-token"
    );
}

#[tokio::test]
async fn a_missing_secret_is_a_failure_of_the_function_naming_it() {
    let moto = Moto::start();
    let error = secrets(&moto).get("app/does-not-exist").await.unwrap_err();

    assert!(matches!(error, SecretError::NotFound { .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Auth);
    assert_eq!(error.secret_id(), "app/does-not-exist");
    assert!(error.to_string().contains("app/does-not-exist"), "{error}");

    let kit_error = switchyard::Error::from(error);
    assert_eq!(kit_error.class(), ErrorClass::Auth);
}

#[tokio::test]
async fn a_secret_created_after_a_miss_is_read_on_the_next_call() {
    // "Fix the secret, the backlog heals": the miss must not be cached for the TTL.
    let moto = Moto::start();
    let secrets = secrets(&moto);
    let error = secrets.get("app/late").await.unwrap_err();
    assert!(matches!(error, SecretError::NotFound { .. }), "{error:?}");

    moto.create_secret("app/late", "created-after-the-miss")
        .await;
    assert_eq!(
        secrets.get("app/late").await.unwrap().expose(),
        "created-after-the-miss"
    );
}

#[tokio::test]
async fn a_malformed_secret_fixed_after_a_read_is_parsed_on_the_next_call() {
    let moto = Moto::start();
    moto.create_secret("app/slack", "not-json-yet").await;
    let secrets = secrets(&moto);
    let error = secrets
        .get_json::<SlackSecret>("app/slack")
        .await
        .unwrap_err();
    assert!(matches!(error, SecretError::Malformed { .. }), "{error:?}");

    moto.put_secret("app/slack", r#"{"signing_secret": "fixed"}"#)
        .await;
    let slack: SlackSecret = secrets.get_json("app/slack").await.unwrap();
    assert_eq!(slack.signing_secret.expose(), "fixed");
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_a_failure_of_the_function() {
    let moto = Moto::start();
    moto.create_secret("app/leaving", "value").await;
    moto.secrets_manager()
        .delete_secret()
        .secret_id("app/leaving")
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();

    let error = secrets(&moto).get("app/leaving").await.unwrap_err();
    assert!(
        matches!(&error, SecretError::Rejected { code: Some(code), .. } if code == "InvalidRequestException"),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Auth);
    assert!(error.to_string().contains("app/leaving"), "{error}");
}

#[derive(Debug, serde::Deserialize)]
struct SlackSecret {
    signing_secret: SecretString,
    #[serde(default)]
    previous_signing_secrets: Vec<SecretString>,
}

#[tokio::test]
async fn a_secret_that_is_not_json_is_malformed_without_quoting_it() {
    let moto = Moto::start();
    moto.create_secret("app/slack", "s3cr3t-not-json").await;
    let error = secrets(&moto)
        .get_json::<SlackSecret>("app/slack")
        .await
        .unwrap_err();

    assert!(matches!(error, SecretError::Malformed { .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Auth);
    let (text, debug) = (error.to_string(), format!("{error:?}"));
    assert!(text.contains("app/slack"), "{text}");
    assert!(!text.contains("s3cr3t-not-json"), "{text}");
    assert!(!debug.contains("s3cr3t-not-json"), "{debug}");
}

#[tokio::test]
async fn a_secret_of_the_wrong_shape_is_malformed_without_quoting_it() {
    let moto = Moto::start();
    moto.create_secret("app/slack", r#"{"signing_secret": ["s3cr3t-in-a-list"]}"#)
        .await;
    let error = secrets(&moto)
        .get_json::<SlackSecret>("app/slack")
        .await
        .unwrap_err();

    assert!(matches!(error, SecretError::Malformed { .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Auth);
    assert!(error.to_string().contains("app/slack"), "{error}");
    assert!(!format!("{error} {error:?}").contains("s3cr3t-in-a-list"));
}

#[tokio::test]
async fn a_typed_json_secret_round_trips() {
    let moto = Moto::start();
    moto.create_secret(
        "app/slack",
        r#"{"signing_secret": "sign-now", "previous_signing_secrets": ["sign-before"]}"#,
    )
    .await;
    let slack: SlackSecret = secrets(&moto).get_json("app/slack").await.unwrap();

    assert_eq!(slack.signing_secret.expose(), "sign-now");
    let previous: Vec<_> = slack
        .previous_signing_secrets
        .iter()
        .map(SecretString::expose)
        .collect();
    assert_eq!(previous, ["sign-before"]);
    let debug = format!("{slack:?}");
    assert!(
        !debug.contains("sign-now") && !debug.contains("sign-before"),
        "{debug}"
    );
}

#[tokio::test]
async fn debug_of_a_fetched_secret_hides_the_value() {
    let moto = Moto::start();
    moto.create_secret("app/token", "tok-visible-only-by-expose")
        .await;
    let secrets = secrets(&moto);
    let token = secrets.get("app/token").await.unwrap();

    assert_eq!(format!("{token:?}"), "SecretString(***)");
    // The cache's Debug says how many secrets it holds, never what: an exact match, so a
    // field that printed a value (or a cache that kept nothing) fails here.
    assert_eq!(
        format!("{secrets:?}"),
        "Secrets { ttl: 300s, secret_ids: 1, .. }"
    );
    assert_eq!(token.expose(), "tok-visible-only-by-expose");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    let moto = Moto::start();
    // Nothing listens on this port; no SDK retries and short timeouts keep the test quick.
    let config = aws_sdk_secretsmanager::config::Builder::from(&moto.sdk_config())
        .endpoint_url(format!("http://127.0.0.1:{}", free_port()))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .build();
    let secrets = Secrets::new(aws_sdk_secretsmanager::Client::from_conf(config));

    // A guard, not a speed target: the SDK's own timeouts must end the read; if they did not,
    // the test fails here with a message instead of hanging.
    let error = tokio::time::timeout(Duration::from_secs(60), secrets.get("app/token"))
        .await
        .expect("the read hung: the SDK timeouts did not end it")
        .unwrap_err();

    assert!(
        matches!(error, SecretError::Unavailable { .. }),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Transient);
    assert!(error.to_string().contains("app/token"), "{error}");
}
