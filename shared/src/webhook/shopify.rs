//! Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 of the raw body under the app's client
//! secret, standard base64.
//!
//! Newer deliveries may spell the header without the `X-` (`Shopify-Hmac-Sha256`); both are read,
//! and if both are present either may match. Shopify signs no timestamp; receivers dedupe on
//! `X-Shopify-Event-Id`. A rotation is handled by a previous secret in the [`SecretSet`].

use super::freshness::{DEFAULT_TOLERANCE, Freshness};
use super::headers::optional;
use super::mac::Encoding;
use super::verify::{SignatureScheme, Signed};
use super::{Headers, SecretSet, SystemClock, Verified, VerifyError, WebhookSecret};

/// The signature header (canonical lower-case name).
pub const SIGNATURE_HEADER: &str = "x-shopify-hmac-sha256";
/// The unprefixed spelling of the signature header sent by newer deliveries.
pub const SIGNATURE_HEADER_UNPREFIXED: &str = "shopify-hmac-sha256";

/// The Shopify scheme, as the shared verification needs it described.
pub(crate) struct Shopify;

impl SignatureScheme for Shopify {
    const FRESHNESS: Freshness = Freshness::Unsigned;
    const ENCODING: Encoding = Encoding::Base64;

    /// The body alone is signed; either spelling of the header may carry the signature.
    fn read<H: Headers + ?Sized>(
        headers: &H,
    ) -> Result<Signed<impl AsRef<[&str]>, impl Iterator<Item = &str>>, VerifyError> {
        let prefixed = optional(headers, SIGNATURE_HEADER)?;
        let unprefixed = optional(headers, SIGNATURE_HEADER_UNPREFIXED)?;
        if prefixed.is_none() && unprefixed.is_none() {
            return Err(VerifyError::MissingHeader(SIGNATURE_HEADER));
        }
        Ok(Signed {
            timestamp: None,
            prefix: [],
            signatures: [prefixed, unprefixed].into_iter().flatten(),
        })
    }
}

/// Verifies a Shopify webhook: `body` exactly as received, `headers` matched case-insensitively
/// (either spelling of the header), `secrets` current first. There is no timestamp, hence no
/// clock.
pub fn verify<H: Headers + ?Sized>(
    body: &[u8],
    headers: &H,
    secrets: &SecretSet,
) -> Result<Verified, VerifyError> {
    // No timestamp is signed, so the clock and tolerance are never consulted.
    Shopify::verify_with_tolerance(body, headers, secrets, &SystemClock, DEFAULT_TOLERANCE)
}

/// Produces the `X-Shopify-Hmac-Sha256` value (base64) for `body` — for tests, sample events and
/// stand-ins.
pub fn sign(body: &[u8], secret: &WebhookSecret) -> String {
    Shopify::signature(0, secret, &[], body).unwrap_or_default()
}

/// The headers of a signed Shopify delivery: `[("x-shopify-hmac-sha256", …)]` — for tests and
/// tools.
pub fn signed_headers(body: &[u8], secret: &WebhookSecret) -> Vec<(&'static str, String)> {
    vec![(SIGNATURE_HEADER, sign(body, secret))]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "shpss_test_secret";
    const BODY: &[u8] = br#"{"id":820982911946154508}"#;
    // Computed outside the kit:
    //   printf '%s' '{"id":820982911946154508}' \
    //     | openssl dgst -sha256 -hmac shpss_test_secret -binary | base64
    const SIGNATURE: &str = "AU5n5C4JV1EbE8g4yEzV+ZHbqkXpM29HXkzNAa5zicA=";

    // Shopify's own published value: its official API library's test suite (Shopify/shopify-app-js,
    // packages/apps/shopify-api/lib/webhooks/__tests__/validate.test.ts, "returns true for valid
    // request") expects this HMAC header for the raw body below and the test configuration's
    // apiSecretKey "test_secret_key" (packages/apps/shopify-api/lib/__tests__/test-config.ts).
    const PUBLISHED_SECRET: &str = "test_secret_key";
    const PUBLISHED_BODY: &[u8] = br#"{"foo": "bar"}"#;
    const PUBLISHED_SIGNATURE: &str = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=";

    fn run(
        pairs: &[(&str, &str)],
        body: &[u8],
        secrets: &SecretSet,
    ) -> Result<Verified, VerifyError> {
        verify(body, pairs, secrets)
    }

    #[test]
    fn published_vector_from_shopify_api_library_verifies() {
        assert_eq!(
            sign(PUBLISHED_BODY, &WebhookSecret::new(PUBLISHED_SECRET)),
            PUBLISHED_SIGNATURE
        );
        let secrets = SecretSet::new(PUBLISHED_SECRET);
        assert_eq!(
            run(
                &[("X-Shopify-Hmac-Sha256", PUBLISHED_SIGNATURE)],
                PUBLISHED_BODY,
                &secrets
            ),
            Ok(Verified {
                secret_index: 0,
                timestamp: None
            })
        );
        // The library's negative case: a wrong HMAC for the same body.
        assert_eq!(
            run(
                &[("X-Shopify-Hmac-Sha256", SIGNATURE)],
                PUBLISHED_BODY,
                &secrets
            ),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn known_answer_computed_independently() {
        assert_eq!(sign(BODY, &WebhookSecret::new(SECRET)), SIGNATURE);
        let v = run(
            &[("X-Shopify-Hmac-Sha256", SIGNATURE)],
            BODY,
            &SecretSet::new(SECRET),
        );
        assert_eq!(
            v,
            Ok(Verified {
                secret_index: 0,
                timestamp: None
            })
        );
    }

    #[test]
    fn unprefixed_header_is_accepted() {
        assert!(
            run(
                &[("Shopify-Hmac-Sha256", SIGNATURE)],
                BODY,
                &SecretSet::new(SECRET)
            )
            .is_ok()
        );
    }

    #[test]
    fn either_spelling_may_carry_the_valid_signature() {
        let junk = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let both = [
            ("X-Shopify-Hmac-Sha256", junk),
            ("Shopify-Hmac-Sha256", SIGNATURE),
        ];
        assert!(run(&both, BODY, &SecretSet::new(SECRET)).is_ok());
    }

    #[test]
    fn wrong_secret_is_refused() {
        let r = run(
            &[("X-Shopify-Hmac-Sha256", SIGNATURE)],
            BODY,
            &SecretSet::new("other"),
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn one_changed_body_byte_is_refused() {
        let r = run(
            &[("X-Shopify-Hmac-Sha256", SIGNATURE)],
            br#"{"id":820982911946154509}"#,
            &SecretSet::new(SECRET),
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn missing_header_is_refused() {
        let r = run(
            &[("X-Shopify-Topic", "orders/create")],
            BODY,
            &SecretSet::new(SECRET),
        );
        assert_eq!(r, Err(VerifyError::MissingHeader(SIGNATURE_HEADER)));
    }

    #[test]
    fn undecodable_signature_is_no_match() {
        for bad in ["not base64!", "", "AU5n5C4J", &SIGNATURE.to_lowercase()] {
            let r = run(
                &[("X-Shopify-Hmac-Sha256", bad)],
                BODY,
                &SecretSet::new(SECRET),
            );
            assert_eq!(r, Err(VerifyError::NoMatchingSignature), "{bad}");
        }
    }

    #[test]
    fn previous_secret_matches_after_rotation() {
        let s = SecretSet::new("shpss_new").with_previous(SECRET);
        assert_eq!(
            run(&[("x-shopify-hmac-sha256", SIGNATURE)], BODY, &s)
                .unwrap()
                .secret_index,
            1
        );
    }

    #[test]
    fn header_name_is_case_insensitive() {
        for name in [
            "x-shopify-hmac-sha256",
            "X-SHOPIFY-HMAC-SHA256",
            "SHOPIFY-HMAC-SHA256",
        ] {
            assert!(
                run(&[(name, SIGNATURE)], BODY, &SecretSet::new(SECRET)).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn signed_headers_round_trip() {
        let secret = WebhookSecret::new("k");
        let headers = signed_headers(b"[]", &secret);
        assert!(verify(b"[]", &headers, &SecretSet::from(secret)).is_ok());
    }
}
