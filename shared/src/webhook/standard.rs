//! Standard Webhooks (<https://www.standardwebhooks.com>) and its Svix spelling.
//!
//! Headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, where the signature header
//! is a space-separated list of `v1,<base64>` entries (several while a secret rotates; `v1a`
//! (asymmetric) and other versions are ignored). The signed content is `{id}.{timestamp}.{body}`,
//! the MAC HMAC-SHA256 in standard base64, and the key the base64-decoded text after `whsec_` (a
//! secret given without the prefix is decoded as a whole). The timestamp must be within 300 s of
//! now in either direction (exactly 300 s is accepted), as in the reference libraries.
//!
//! Svix sends the same headers as `svix-id`, `svix-timestamp` and `svix-signature`; both spellings
//! are accepted, each header looked up as `webhook-*` first and `svix-*` second.

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::freshness::{Freshness, parse_timestamp};
use super::headers::required;
use super::mac::Encoding;
use super::verify::{SignatureScheme, Signed};
use super::{Clock, DEFAULT_TOLERANCE, Headers, SecretSet, Verified, VerifyError, WebhookSecret};

/// The message id header (also the idempotency key).
pub const ID_HEADER: &str = "webhook-id";
/// The timestamp header (unix seconds).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// Svix's spelling of [`ID_HEADER`].
pub const SVIX_ID_HEADER: &str = "svix-id";
/// Svix's spelling of [`TIMESTAMP_HEADER`].
pub const SVIX_TIMESTAMP_HEADER: &str = "svix-timestamp";
/// Svix's spelling of [`SIGNATURE_HEADER`].
pub const SVIX_SIGNATURE_HEADER: &str = "svix-signature";

/// The prefix of a Standard Webhooks secret.
const SECRET_PREFIX: &str = "whsec_";

/// The Standard Webhooks scheme, as the shared verification needs it described.
pub(crate) struct StandardWebhooks;

/// The signed content before the body: `{id}.{timestamp}.` (both exactly as sent).
fn signed_prefix<'a>(msg_id: &'a str, timestamp_text: &'a str) -> [&'a str; 4] {
    [msg_id, ".", timestamp_text, "."]
}

impl SignatureScheme for StandardWebhooks {
    const FRESHNESS: Freshness = Freshness::Window;
    const ENCODING: Encoding = Encoding::Base64;

    fn read<H: Headers + ?Sized>(
        headers: &H,
    ) -> Result<Signed<impl AsRef<[&str]>, impl Iterator<Item = &str>>, VerifyError> {
        let id = either(headers, ID_HEADER, SVIX_ID_HEADER)?;
        let ts_text = either(headers, TIMESTAMP_HEADER, SVIX_TIMESTAMP_HEADER)?;
        let signature = either(headers, SIGNATURE_HEADER, SVIX_SIGNATURE_HEADER)?;
        let timestamp = parse_timestamp(ts_text, TIMESTAMP_HEADER)?;
        Ok(Signed {
            timestamp: Some(timestamp),
            prefix: signed_prefix(id, ts_text),
            signatures: v1_signatures(signature),
        })
    }

    /// The HMAC key of a Standard Webhooks secret: base64 of the text after `whsec_` (or of the
    /// whole secret if it has no prefix). A secret that does not decode is a configuration fault.
    fn key(index: usize, secret: &WebhookSecret) -> Result<Cow<'_, [u8]>, VerifyError> {
        let text = secret.expose();
        let encoded = text.strip_prefix(SECRET_PREFIX.as_bytes()).unwrap_or(text);
        match STANDARD.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(Cow::Owned(key)),
            _ => Err(VerifyError::InvalidSecret { index }),
        }
    }
}

/// The `v1` signatures of a signature header value, still base64. Entries are separated by
/// spaces; other versions (`v1a`, ...) and entries without a comma are skipped.
fn v1_signatures(value: &str) -> impl Iterator<Item = &str> {
    value
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .map(|(_, signature)| signature)
}

/// Which header names [`signed_headers`] should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard,
    /// `svix-id`, `svix-timestamp`, `svix-signature`.
    Svix,
}

/// Verifies a Standard Webhooks (or Svix) request with the default tolerance (300 s both ways).
///
/// `body` is the raw request body exactly as received; `headers` are matched case-insensitively
/// (either spelling); `secrets` (`whsec_<base64>`) current first; `clock` says what "now" is.
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
    StandardWebhooks::verify_with_tolerance(body, headers, secrets, clock, tolerance)
}

/// Header `standard`, else header `svix`; missing is reported under the standard name.
fn either<'h, H: Headers + ?Sized>(
    headers: &'h H,
    standard: &'static str,
    svix: &'static str,
) -> Result<&'h str, VerifyError> {
    match required(headers, standard) {
        Err(VerifyError::MissingHeader(_)) => required(headers, svix).map_err(|e| match e {
            VerifyError::MissingHeader(_) => VerifyError::MissingHeader(standard),
            other => other,
        }),
        found => found,
    }
}

/// Produces the `webhook-signature` value for a message: one `v1,<base64>` entry per secret,
/// space-separated (as senders do during a rotation) — for tests, sample events and stand-ins.
///
/// Fails with [`VerifyError::InvalidSecret`] if a secret is not valid base64.
pub fn sign(
    body: &[u8],
    secrets: &[&WebhookSecret],
    msg_id: &str,
    timestamp: i64,
) -> Result<String, VerifyError> {
    let ts = timestamp.to_string();
    let prefix = signed_prefix(msg_id, &ts);
    let mut entries = Vec::with_capacity(secrets.len());
    for (index, secret) in secrets.iter().enumerate() {
        let signature = StandardWebhooks::signature(index, secret, &prefix, body)?;
        entries.push(format!("v1,{signature}"));
    }
    Ok(entries.join(" "))
}

/// The three headers of a signed message in the chosen [`Spelling`] — for tests and tools.
pub fn signed_headers(
    body: &[u8],
    secret: &WebhookSecret,
    msg_id: &str,
    timestamp: i64,
    spelling: Spelling,
) -> Result<Vec<(&'static str, String)>, VerifyError> {
    let (id, ts, sig) = match spelling {
        Spelling::Standard => (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER),
        Spelling::Svix => (SVIX_ID_HEADER, SVIX_TIMESTAMP_HEADER, SVIX_SIGNATURE_HEADER),
    };
    Ok(vec![
        (id, msg_id.to_string()),
        (ts, timestamp.to_string()),
        (sig, sign(body, &[secret], msg_id, timestamp)?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::FixedClock;

    // The published reference vector of the Standard Webhooks libraries: the JavaScript
    // reference implementation's test "sign function works" (standard-webhooks/standard-webhooks,
    // libraries/javascript/src/webhook.test.ts) expects this signature for this secret, id,
    // timestamp and body.
    const REF_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const REF_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const REF_TS: i64 = 1_614_265_330;
    const REF_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const REF_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(spelling: Spelling, sig: &str) -> Vec<(&'static str, String)> {
        let (i, t, s) = match spelling {
            Spelling::Standard => ("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"),
            Spelling::Svix => ("Svix-Id", "Svix-Timestamp", "Svix-Signature"),
        };
        vec![
            (i, REF_ID.to_string()),
            (t, REF_TS.to_string()),
            (s, sig.to_string()),
        ]
    }

    fn run(
        h: &[(&str, String)],
        body: &[u8],
        secrets: &SecretSet,
        now: i64,
    ) -> Result<Verified, VerifyError> {
        verify(body, h, secrets, &FixedClock(now))
    }

    fn ok(h: &[(&str, String)]) -> Result<Verified, VerifyError> {
        run(h, REF_BODY, &SecretSet::new(REF_SECRET), REF_TS)
    }

    #[test]
    fn reference_vector_reproduces() {
        let secret = WebhookSecret::new(REF_SECRET);
        assert_eq!(
            sign(REF_BODY, &[&secret], REF_ID, REF_TS).unwrap(),
            REF_SIGNATURE
        );
        assert_eq!(
            ok(&headers(Spelling::Standard, REF_SIGNATURE)),
            Ok(Verified {
                secret_index: 0,
                timestamp: Some(REF_TS)
            })
        );
    }

    #[test]
    fn svix_spelling_is_accepted() {
        assert!(ok(&headers(Spelling::Svix, REF_SIGNATURE)).is_ok());
        let h = signed_headers(
            REF_BODY,
            &WebhookSecret::new(REF_SECRET),
            REF_ID,
            REF_TS,
            Spelling::Svix,
        )
        .unwrap();
        assert!(h.iter().all(|(name, _)| name.starts_with("svix-")));
        assert!(ok(&h).is_ok());
    }

    #[test]
    fn secret_without_prefix_is_accepted() {
        let s = SecretSet::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert!(
            run(
                &headers(Spelling::Standard, REF_SIGNATURE),
                REF_BODY,
                &s,
                REF_TS
            )
            .is_ok()
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let s = SecretSet::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let r = run(
            &headers(Spelling::Standard, REF_SIGNATURE),
            REF_BODY,
            &s,
            REF_TS,
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn undecodable_secret_is_a_configuration_fault() {
        let s = SecretSet::new(REF_SECRET).with_previous("whsec_not base64!");
        let r = run(
            &headers(Spelling::Standard, REF_SIGNATURE),
            REF_BODY,
            &s,
            REF_TS,
        );
        assert_eq!(r, Err(VerifyError::InvalidSecret { index: 1 }));
        assert!(r.unwrap_err().is_configuration_fault());
    }

    #[test]
    fn one_changed_body_byte_is_refused() {
        let r = run(
            &headers(Spelling::Standard, REF_SIGNATURE),
            br#"{"test": 2432232315}"#,
            &SecretSet::new(REF_SECRET),
            REF_TS,
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn id_is_part_of_the_signed_content() {
        let mut h = headers(Spelling::Standard, REF_SIGNATURE);
        h[0].1 = "msg_other".to_string();
        assert_eq!(ok(&h), Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn missing_headers_are_refused() {
        let full = headers(Spelling::Standard, REF_SIGNATURE);
        for (drop, name) in [(0, ID_HEADER), (1, TIMESTAMP_HEADER), (2, SIGNATURE_HEADER)] {
            let mut h = full.clone();
            h.remove(drop);
            assert_eq!(ok(&h), Err(VerifyError::MissingHeader(name)));
        }
    }

    #[test]
    fn malformed_timestamp_is_refused() {
        let mut h = headers(Spelling::Standard, REF_SIGNATURE);
        h[1].1 = "1614265330.5".to_string();
        assert!(matches!(
            ok(&h),
            Err(VerifyError::MalformedHeader {
                header: TIMESTAMP_HEADER,
                ..
            })
        ));
    }

    #[test]
    fn malformed_or_foreign_signatures_are_no_match() {
        let sig = REF_SIGNATURE.trim_start_matches("v1,");
        for bad in [
            sig.to_string(),
            format!("v1a,{sig}"),
            format!("v2,{sig}"),
            "v1,???".into(),
            String::new(),
        ] {
            assert_eq!(
                ok(&headers(Spelling::Standard, &bad)),
                Err(VerifyError::NoMatchingSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn tolerance_edges_are_300_seconds_both_ways() {
        let h = headers(Spelling::Standard, REF_SIGNATURE);
        let s = SecretSet::new(REF_SECRET);
        assert!(run(&h, REF_BODY, &s, REF_TS + 300).is_ok());
        assert!(run(&h, REF_BODY, &s, REF_TS - 300).is_ok());
        assert!(matches!(
            run(&h, REF_BODY, &s, REF_TS + 301),
            Err(VerifyError::TimestampOutOfTolerance { .. })
        ));
        assert!(matches!(
            run(&h, REF_BODY, &s, REF_TS - 301),
            Err(VerifyError::TimestampOutOfTolerance { .. })
        ));
    }

    #[test]
    fn several_signatures_with_one_valid() {
        let other = WebhookSecret::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let both = sign(
            REF_BODY,
            &[&other, &WebhookSecret::new(REF_SECRET)],
            REF_ID,
            REF_TS,
        )
        .unwrap();
        assert_eq!(both.split(' ').count(), 2);
        let sig = format!("v1a,AAAA {both} junk");
        assert!(ok(&headers(Spelling::Standard, &sig)).is_ok());
    }

    #[test]
    fn previous_secret_matches_after_rotation() {
        let s = SecretSet::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").with_previous(REF_SECRET);
        let v = run(
            &headers(Spelling::Svix, REF_SIGNATURE),
            REF_BODY,
            &s,
            REF_TS,
        )
        .unwrap();
        assert_eq!(v.secret_index, 1);
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let lower: Vec<_> = headers(Spelling::Standard, REF_SIGNATURE)
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        assert!(
            verify(
                REF_BODY,
                &lower,
                &SecretSet::new(REF_SECRET),
                &FixedClock(REF_TS)
            )
            .is_ok()
        );
        let upper: Vec<_> = headers(Spelling::Svix, REF_SIGNATURE)
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect();
        assert!(
            verify(
                REF_BODY,
                &upper,
                &SecretSet::new(REF_SECRET),
                &FixedClock(REF_TS)
            )
            .is_ok()
        );
    }

    #[test]
    fn verifier_dispatches_with_injected_clock_and_tolerance() {
        use crate::webhook::{Scheme, Verifier};
        use std::sync::Arc;
        let v = Verifier::new(Scheme::StandardWebhooks, SecretSet::new(REF_SECRET))
            .with_clock(Arc::new(FixedClock(REF_TS + 301)));
        let h = headers(Spelling::Standard, REF_SIGNATURE);
        assert!(matches!(
            v.verify(REF_BODY, &h),
            Err(VerifyError::TimestampOutOfTolerance { .. })
        ));
        let v = v.with_tolerance(Duration::from_secs(301));
        assert!(v.verify(REF_BODY, &h).is_ok());
    }
}
