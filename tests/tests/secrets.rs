//! The secrets cache against a real Secrets Manager API (moto): caching, TTL expiry, forced
//! refresh, typed JSON, redaction and error classification.

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
async fn a_missing_secret_is_a_permanent_error_naming_it() {
    let moto = Moto::start();
    let error = secrets(&moto).get("app/does-not-exist").await.unwrap_err();

    assert!(matches!(error, SecretError::NotFound { .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Permanent);
    assert_eq!(error.secret_id(), "app/does-not-exist");
    assert!(error.to_string().contains("app/does-not-exist"), "{error}");

    let kit_error = switchyard::Error::from(error);
    assert_eq!(kit_error.class(), ErrorClass::Permanent);
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
    assert_eq!(error.class(), ErrorClass::Permanent);
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

    assert_eq!(error.class(), ErrorClass::Permanent);
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
    assert!(!format!("{secrets:?}").contains("tok-visible-only-by-expose"));
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

    let started = std::time::Instant::now();
    let error = secrets.get("app/token").await.unwrap_err();

    assert!(
        matches!(error, SecretError::Unavailable { .. }),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Transient);
    assert!(error.to_string().contains("app/token"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
