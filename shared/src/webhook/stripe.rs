//! Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`.
//!
//! The signed content is `{t}.{body}`, the MAC HMAC-SHA256 in lower hex, and the key the whole
//! `whsec_…` string as bytes (it is *not* base64-decoded, unlike Standard Webhooks). While an
//! endpoint secret rolls, Stripe sends one `v1` per active secret: any match accepts. `v0` (test
//! mode, legacy) and unknown schemes are ignored.
//!
//! Tolerance: the timestamp may be at most 300 s old (exactly 300 s is accepted). Like Stripe's
//! official SDKs, a timestamp in the future is **not** rejected: the SDKs only bound the age, and
//! refusing skewed-ahead deliveries would turn a provider clock drift into lost events.

use std::time::Duration;

use super::freshness::{Freshness, parse_timestamp};
use super::headers::required;
use super::mac::Encoding;
use super::verify::{SignatureScheme, Signed};
use super::{Clock, DEFAULT_TOLERANCE, Headers, SecretSet, Verified, VerifyError, WebhookSecret};

/// The signature header (canonical lower-case name).
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// A parsed `Stripe-Signature` header, borrowing from the header text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader<'a> {
    /// The `t=` value exactly as sent: it is part of the signed content.
    pub timestamp_text: &'a str,
    /// The `t=` value as unix seconds.
    pub timestamp: i64,
    /// Every `v1=` value, in order, undecoded.
    pub v1: Vec<&'a str>,
}

/// Parses a `Stripe-Signature` header value.
///
/// Items are `key=value`, separated by commas (whitespace around items is tolerated). Exactly one
/// `t` is required (a second one is refused as ambiguous); `v1` entries are collected; `v0`,
/// unknown keys and items without `=` are ignored. A header without any `v1` parses fine — it
/// simply cannot match.
pub fn parse_header(value: &str) -> Result<SignatureHeader<'_>, VerifyError> {
    let malformed = |reason| VerifyError::MalformedHeader {
        header: SIGNATURE_HEADER,
        reason,
    };
    let mut timestamp_text = None;
    let mut v1 = Vec::new();
    for item in value.split(',') {
        let Some((key, val)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" if timestamp_text.is_some() => return Err(malformed("more than one timestamp")),
            "t" => timestamp_text = Some(val),
            "v1" => v1.push(val),
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or(malformed("no timestamp"))?;
    let timestamp = parse_timestamp(timestamp_text, SIGNATURE_HEADER)?;
    Ok(SignatureHeader {
        timestamp_text,
        timestamp,
        v1,
    })
}

/// The Stripe scheme, as the shared verification needs it described.
pub(crate) struct Stripe;

/// The signed content before the body: `{t}.` (the timestamp exactly as sent).
fn signed_prefix(timestamp_text: &str) -> [&str; 2] {
    [timestamp_text, "."]
}

impl SignatureScheme for Stripe {
    const FRESHNESS: Freshness = Freshness::MaxAge;
    const ENCODING: Encoding = Encoding::Hex;

    fn read<H: Headers + ?Sized>(
        headers: &H,
    ) -> Result<Signed<impl AsRef<[&str]>, impl Iterator<Item = &str>>, VerifyError> {
        let header = parse_header(required(headers, SIGNATURE_HEADER)?)?;
        Ok(Signed {
            timestamp: Some(header.timestamp),
            prefix: signed_prefix(header.timestamp_text),
            signatures: header.v1.into_iter(),
        })
    }
}

/// Verifies a Stripe webhook with the default tolerance (300 s into the past, future accepted).
///
/// `body` is the raw request body exactly as received; `headers` are matched case-insensitively;
/// `secrets` holds the endpoint's `whsec_…` secret(s), current first; `clock` says what "now" is.
pub fn verify<H: Headers + ?Sized>(
    body: &[u8],
    headers: &H,
    secrets: &SecretSet,
    clock: &dyn Clock,
) -> Result<Verified, VerifyError> {
    verify_with_tolerance(body, headers, secrets, clock, DEFAULT_TOLERANCE)
}

/// [`verify`] with a custom maximum age (future timestamps are still accepted).
pub fn verify_with_tolerance<H: Headers + ?Sized>(
    body: &[u8],
    headers: &H,
    secrets: &SecretSet,
    clock: &dyn Clock,
    tolerance: Duration,
) -> Result<Verified, VerifyError> {
    Stripe::verify_with_tolerance(body, headers, secrets, clock, tolerance)
}

/// Produces the `Stripe-Signature` value for `body` signed at `timestamp` with one `v1` per
/// secret (as Stripe does during a roll) — for tests, sample events and stand-ins.
pub fn sign(body: &[u8], secrets: &[&WebhookSecret], timestamp: i64) -> String {
    let ts = timestamp.to_string();
    let mut value = format!("t={ts}");
    for (index, secret) in secrets.iter().enumerate() {
        if let Ok(signature) = Stripe::signature(index, secret, &signed_prefix(&ts), body) {
            value.push_str(",v1=");
            value.push_str(&signature);
        }
    }
    value
}

/// The headers of a signed Stripe delivery: `[("stripe-signature", …)]` — for tests and tools.
pub fn signed_headers(
    body: &[u8],
    secret: &WebhookSecret,
    timestamp: i64,
) -> Vec<(&'static str, String)> {
    vec![(SIGNATURE_HEADER, sign(body, &[secret], timestamp))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::FixedClock;

    const SECRET: &str = "whsec_test_secret_for_stripe";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event","type":"charge.succeeded"}"#;
    const T: i64 = 1_700_000_000;

    fn secret() -> WebhookSecret {
        WebhookSecret::new(SECRET)
    }

    fn run(
        header: &str,
        body: &[u8],
        secrets: &SecretSet,
        now: i64,
    ) -> Result<Verified, VerifyError> {
        verify(
            body,
            &[("Stripe-Signature", header)],
            secrets,
            &FixedClock(now),
        )
    }

    // Stripe's own published vector: the official .NET SDK's test suite (stripe/stripe-dotnet,
    // src/StripeTests/Services/Events/EventUtilityTest.cs) hard-codes this header for the secret
    // "webhook_secret" and the fixture src/StripeTests/Resources/event_test_signature.json (LF line
    // endings, final newline included), and accepts it with the clock 100 s after `t`. Its v0
    // entry is kept: a verifier must ignore it.
    const PUBLISHED_SECRET: &str = "webhook_secret";
    const PUBLISHED_T: i64 = 1_533_204_620;
    const PUBLISHED_HEADER: &str = "t=1533204620,\
        v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,\
        v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";
    const PUBLISHED_BODY: &[u8] = br#"{
  "id": "evt_123",
  "object": "event",
  "account": "acct_123",
  "api_version": "2017-05-25",
  "created": 1533204620,
  "data": {
    "object": {
      "id": "cus_123",
      "object": "customer",
      "created": 123456789,
      "email": "test@stripe.com",
      "livemode": false,
      "metadata": {}
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {
    "id": "req_123",
    "idempotency_key": "idempotency-key-123"
  },
  "type": "customer.created"
}
"#;

    #[test]
    fn published_vector_from_stripe_dotnet_verifies() {
        let secrets = SecretSet::new(PUBLISHED_SECRET);
        assert_eq!(
            run(
                PUBLISHED_HEADER,
                PUBLISHED_BODY,
                &secrets,
                PUBLISHED_T + 100
            ),
            Ok(Verified {
                secret_index: 0,
                timestamp: Some(PUBLISHED_T)
            })
        );
        // Signing reproduces the published v1 (the kit writes no v0).
        let (v1, _v0) = PUBLISHED_HEADER
            .rsplit_once(",v0=")
            .expect("the published header has a v0");
        assert_eq!(
            sign(PUBLISHED_BODY, &[&PUBLISHED_SECRET.into()], PUBLISHED_T),
            v1
        );
        // The SDK's own negative cases: 400 s old with a 300 s tolerance, and a changed body.
        assert!(matches!(
            run(
                PUBLISHED_HEADER,
                PUBLISHED_BODY,
                &secrets,
                PUBLISHED_T + 400
            ),
            Err(VerifyError::TimestampOutOfTolerance { .. })
        ));
        let mut changed = PUBLISHED_BODY.to_vec();
        changed.extend_from_slice(b"this_changes_the_json");
        assert_eq!(
            run(PUBLISHED_HEADER, &changed, &secrets, PUBLISHED_T),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn known_answer_computed_independently() {
        // Computed outside the kit; it pins the key (the whole whsec_ string, not base64-decoded)
        // and the signed content `{t}.{body}`:
        //   printf '%s' '1700000000.{"id":"evt_1","object":"event","type":"charge.succeeded"}' \
        //     | openssl dgst -sha256 -hmac whsec_test_secret_for_stripe
        let header = sign(BODY, &[&secret()], T);
        assert_eq!(
            header,
            "t=1700000000,v1=98e2568ae8341d041d96620c7c72fe4dc57256eee971e75f191b6754bb4c1e0a"
        );
    }

    #[test]
    fn valid_signature_is_accepted() {
        let header = sign(BODY, &[&secret()], T);
        let v = run(&header, BODY, &SecretSet::new(SECRET), T).unwrap();
        assert_eq!(
            v,
            Verified {
                secret_index: 0,
                timestamp: Some(T)
            }
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let header = sign(BODY, &[&WebhookSecret::new("whsec_other")], T);
        assert_eq!(
            run(&header, BODY, &SecretSet::new(SECRET), T),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn one_changed_body_byte_is_refused() {
        let header = sign(BODY, &[&secret()], T);
        let mut body = BODY.to_vec();
        body[10] ^= 1;
        assert_eq!(
            run(&header, &body, &SecretSet::new(SECRET), T),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn missing_header_is_refused() {
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            verify(BODY, &none, &SecretSet::new(SECRET), &FixedClock(T)),
            Err(VerifyError::MissingHeader("stripe-signature"))
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let s = SecretSet::new(SECRET);
        for bad in ["", "v1=abcd", "t=abc,v1=00", "t=1,t=2,v1=00", "garbage"] {
            assert!(
                matches!(
                    run(bad, BODY, &s, T),
                    Err(VerifyError::MalformedHeader {
                        header: "stripe-signature",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn undecodable_or_absent_v1_is_no_match() {
        let s = SecretSet::new(SECRET);
        assert_eq!(
            run("t=1700000000,v1=zz", BODY, &s, T),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            run("t=1700000000", BODY, &s, T),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn v0_and_unknown_schemes_are_ignored() {
        let good = sign(BODY, &[&secret()], T);
        let sig = good.split_once(",v1=").unwrap().1;
        // The right MAC under v0 or an unknown scheme must not be accepted...
        let s = SecretSet::new(SECRET);
        assert_eq!(
            run(&format!("t={T},v0={sig}"), BODY, &s, T),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            run(&format!("t={T},v2={sig}"), BODY, &s, T),
            Err(VerifyError::NoMatchingSignature)
        );
        // ...and their presence next to a valid v1 does no harm.
        assert!(run(&format!("t={T},v0=00,x=y,v1={sig},junk"), BODY, &s, T).is_ok());
    }

    #[test]
    fn age_edge_is_300_seconds_inclusive() {
        let header = sign(BODY, &[&secret()], T);
        let s = SecretSet::new(SECRET);
        assert!(run(&header, BODY, &s, T + 300).is_ok());
        assert_eq!(
            run(&header, BODY, &s, T + 301),
            Err(VerifyError::TimestampOutOfTolerance {
                timestamp: T,
                now: T + 301,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn future_timestamps_are_accepted_like_the_sdks() {
        let header = sign(BODY, &[&secret()], T);
        let s = SecretSet::new(SECRET);
        assert!(run(&header, BODY, &s, T - 301).is_ok());
        assert!(run(&header, BODY, &s, T - 86_400).is_ok());
    }

    #[test]
    fn several_v1_with_one_valid_during_a_roll() {
        let header = sign(
            BODY,
            &[&WebhookSecret::new("whsec_new_unknown"), &secret()],
            T,
        );
        assert_eq!(header.matches("v1=").count(), 2);
        assert!(run(&header, BODY, &SecretSet::new(SECRET), T).is_ok());
    }

    #[test]
    fn previous_secret_matches_after_rotation() {
        let header = sign(BODY, &[&secret()], T);
        let s = SecretSet::new("whsec_current").with_previous(SECRET);
        assert_eq!(run(&header, BODY, &s, T).unwrap().secret_index, 1);
    }

    #[test]
    fn header_name_is_case_insensitive() {
        let header = sign(BODY, &[&secret()], T);
        let s = SecretSet::new(SECRET);
        for name in ["stripe-signature", "STRIPE-SIGNATURE", "Stripe-Signature"] {
            assert!(
                verify(BODY, &[(name, header.as_str())], &s, &FixedClock(T)).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn parse_header_collects_v1_and_keeps_timestamp_text() {
        let h = parse_header("t=123, v1=aa,v0=bb,v1=cc,foo").unwrap();
        assert_eq!(h.timestamp, 123);
        assert_eq!(h.timestamp_text, "123");
        assert_eq!(h.v1, vec!["aa", "cc"]);
    }

    #[test]
    fn signed_headers_round_trip() {
        let headers = signed_headers(BODY, &secret(), T);
        assert!(verify(BODY, &headers, &SecretSet::new(SECRET), &FixedClock(T)).is_ok());
    }
}
