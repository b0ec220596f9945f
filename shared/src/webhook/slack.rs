//! Slack: `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp: <unix seconds>`.
//!
//! The signed content is `v0:{timestamp}:{body}` (the timestamp exactly as sent), the MAC
//! HMAC-SHA256 in hex under the app's signing secret. The timestamp must be within 300 s of now in
//! either direction (exactly 300 s is accepted), as in Slack's SDKs. Slack sends one signature, so
//! a rotation is handled by a previous secret in the [`SecretSet`].

use std::time::Duration;

use super::freshness::{Freshness, parse_timestamp};
use super::headers::required;
use super::mac::Encoding;
use super::verify::{SignatureScheme, Signed};
use super::{Clock, DEFAULT_TOLERANCE, Headers, SecretSet, Verified, VerifyError, WebhookSecret};

/// The signature header (canonical lower-case name).
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The timestamp header (canonical lower-case name).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// The version prefix of the signature and of the signed content.
const VERSION: &str = "v0";

/// The Slack scheme, as the shared verification needs it described.
pub(crate) struct Slack;

/// The signed content before the body: `v0:{timestamp}:` (the timestamp exactly as sent).
fn signed_prefix(timestamp_text: &str) -> [&str; 4] {
    [VERSION, ":", timestamp_text, ":"]
}

impl SignatureScheme for Slack {
    const FRESHNESS: Freshness = Freshness::Window;
    const ENCODING: Encoding = Encoding::Hex;

    fn read<H: Headers + ?Sized>(
        headers: &H,
    ) -> Result<Signed<impl AsRef<[&str]>, impl Iterator<Item = &str>>, VerifyError> {
        let ts_text = required(headers, TIMESTAMP_HEADER)?;
        let signature = required(headers, SIGNATURE_HEADER)?;
        let timestamp = parse_timestamp(ts_text, TIMESTAMP_HEADER)?;
        let hex = signature
            .strip_prefix("v0=")
            .ok_or(VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                reason: "no v0= prefix",
            })?;
        Ok(Signed {
            timestamp: Some(timestamp),
            prefix: signed_prefix(ts_text),
            signatures: std::iter::once(hex),
        })
    }
}

/// Verifies a Slack request with the default tolerance (300 s both ways).
///
/// `body` is the raw request body exactly as received (form-encoded or JSON); `headers` are
/// matched case-insensitively; `secrets` current first; `clock` says what "now" is.
pub fn verify<H: Headers + ?Sized>(
    body: &[u8],
    headers: &H,
    secrets: &SecretSet,
    clock: &dyn Clock,
) -> Result<Verified, VerifyError> {
    verify_with_tolerance(body, headers, secrets, clock, DEFAULT_TOLERANCE)
}

/// [`verify`] with a custom tolerance, applied in both directions.
pub fn verify_with_tolerance<H: Headers + ?Sized>(
    body: &[u8],
    headers: &H,
    secrets: &SecretSet,
    clock: &dyn Clock,
    tolerance: Duration,
) -> Result<Verified, VerifyError> {
    Slack::verify_with_tolerance(body, headers, secrets, clock, tolerance)
}

/// Produces the `X-Slack-Signature` value (`v0=<hex>`) for `body` sent at `timestamp` — for tests,
/// sample events and stand-ins.
pub fn sign(body: &[u8], secret: &WebhookSecret, timestamp: i64) -> String {
    let ts = timestamp.to_string();
    let hex = Slack::signature(0, secret, &signed_prefix(&ts), body).unwrap_or_default();
    format!("{VERSION}={hex}")
}

/// The headers of a signed Slack request (signature and timestamp) — for tests and tools.
pub fn signed_headers(
    body: &[u8],
    secret: &WebhookSecret,
    timestamp: i64,
) -> Vec<(&'static str, String)> {
    vec![
        (SIGNATURE_HEADER, sign(body, secret, timestamp)),
        (TIMESTAMP_HEADER, timestamp.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::FixedClock;

    // Slack's published example: "Verifying requests from Slack"
    // (https://api.slack.com/authentication/verifying-requests-from-slack, now
    // https://docs.slack.dev/authentication/verifying-requests-from-slack/), whose values Slack's
    // own Python SDK hard-codes in its tests (slackapi/python-slack-sdk,
    // tests/slack_sdk/signature/test_signature_verifier.py).
    const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const DOC_TS: i64 = 1_531_420_618;
    const DOC_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const DOC_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn doc_headers(sig: &str) -> Vec<(&'static str, String)> {
        vec![
            ("X-Slack-Signature", sig.to_string()),
            ("X-Slack-Request-Timestamp", DOC_TS.to_string()),
        ]
    }

    fn run(
        headers: &[(&str, String)],
        body: &[u8],
        secrets: &SecretSet,
        now: i64,
    ) -> Result<Verified, VerifyError> {
        verify(body, headers, secrets, &FixedClock(now))
    }

    #[test]
    fn published_known_answer_reproduces() {
        assert_eq!(
            sign(DOC_BODY, &WebhookSecret::new(DOC_SECRET), DOC_TS),
            DOC_SIGNATURE
        );
        let v = run(
            &doc_headers(DOC_SIGNATURE),
            DOC_BODY,
            &SecretSet::new(DOC_SECRET),
            DOC_TS,
        );
        assert_eq!(
            v,
            Ok(Verified {
                secret_index: 0,
                timestamp: Some(DOC_TS)
            })
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let r = run(
            &doc_headers(DOC_SIGNATURE),
            DOC_BODY,
            &SecretSet::new("other"),
            DOC_TS,
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn one_changed_body_byte_is_refused() {
        let mut body = DOC_BODY.to_vec();
        body[0] = b'T';
        let r = run(
            &doc_headers(DOC_SIGNATURE),
            &body,
            &SecretSet::new(DOC_SECRET),
            DOC_TS,
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn missing_headers_are_refused() {
        let s = SecretSet::new(DOC_SECRET);
        let only_sig = vec![("X-Slack-Signature", DOC_SIGNATURE.to_string())];
        assert_eq!(
            run(&only_sig, DOC_BODY, &s, DOC_TS),
            Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        );
        let only_ts = vec![("X-Slack-Request-Timestamp", DOC_TS.to_string())];
        assert_eq!(
            run(&only_ts, DOC_BODY, &s, DOC_TS),
            Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let s = SecretSet::new(DOC_SECRET);
        let no_prefix = doc_headers(DOC_SIGNATURE.trim_start_matches("v0="));
        assert!(matches!(
            run(&no_prefix, DOC_BODY, &s, DOC_TS),
            Err(VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                ..
            })
        ));
        let bad_ts = vec![
            ("X-Slack-Signature", DOC_SIGNATURE.to_string()),
            ("X-Slack-Request-Timestamp", "yesterday".to_string()),
        ];
        assert!(matches!(
            run(&bad_ts, DOC_BODY, &s, DOC_TS),
            Err(VerifyError::MalformedHeader {
                header: TIMESTAMP_HEADER,
                ..
            })
        ));
        assert_eq!(
            run(&doc_headers("v0=nothex"), DOC_BODY, &s, DOC_TS),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn tolerance_edges_are_300_seconds_both_ways() {
        let s = SecretSet::new(DOC_SECRET);
        let h = doc_headers(DOC_SIGNATURE);
        assert!(run(&h, DOC_BODY, &s, DOC_TS + 300).is_ok());
        assert!(run(&h, DOC_BODY, &s, DOC_TS - 300).is_ok());
        assert!(matches!(
            run(&h, DOC_BODY, &s, DOC_TS + 301),
            Err(VerifyError::TimestampOutOfTolerance {
                tolerance_secs: 300,
                ..
            })
        ));
        assert!(matches!(
            run(&h, DOC_BODY, &s, DOC_TS - 301),
            Err(VerifyError::TimestampOutOfTolerance {
                tolerance_secs: 300,
                ..
            })
        ));
    }

    #[test]
    fn timestamp_is_part_of_the_signed_content() {
        // A valid signature replayed with a fresh timestamp must fail.
        let h = vec![
            ("X-Slack-Signature", DOC_SIGNATURE.to_string()),
            ("X-Slack-Request-Timestamp", (DOC_TS + 1).to_string()),
        ];
        assert_eq!(
            run(&h, DOC_BODY, &SecretSet::new(DOC_SECRET), DOC_TS),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn previous_secret_matches_after_rotation() {
        let s = SecretSet::new("rotated-new").with_previous(DOC_SECRET);
        assert_eq!(
            run(&doc_headers(DOC_SIGNATURE), DOC_BODY, &s, DOC_TS)
                .unwrap()
                .secret_index,
            1
        );
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let h = vec![
            ("x-slack-signature", DOC_SIGNATURE.to_string()),
            ("X-SLACK-REQUEST-TIMESTAMP", DOC_TS.to_string()),
        ];
        assert!(run(&h, DOC_BODY, &SecretSet::new(DOC_SECRET), DOC_TS).is_ok());
    }

    #[test]
    fn signed_headers_round_trip() {
        let secret = WebhookSecret::new("abc");
        let headers = signed_headers(b"{}", &secret, 42);
        assert!(verify(b"{}", &headers, &SecretSet::from(secret), &FixedClock(42)).is_ok());
    }
}
