//! GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body under the hook's
//! secret.
//!
//! The legacy `X-Hub-Signature: sha1=…` header is never enough: a request that carries only it is
//! refused as missing `x-hub-signature-256`. GitHub signs no timestamp; receivers dedupe on
//! `X-GitHub-Delivery` instead. Rotation: GitHub sends one signature, so a previous secret is
//! tried from the [`SecretSet`].

use super::freshness::{DEFAULT_TOLERANCE, Freshness};
use super::headers::required;
use super::mac::Encoding;
use super::verify::{SignatureScheme, Signed};
use super::{Headers, SecretSet, SystemClock, Verified, VerifyError, WebhookSecret};

/// The signature header (canonical lower-case name).
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The prefix of the signature header's value.
const PREFIX: &str = "sha256=";

/// The GitHub scheme, as the shared verification needs it described.
pub(crate) struct GitHub;

impl SignatureScheme for GitHub {
    const FRESHNESS: Freshness = Freshness::Unsigned;
    const ENCODING: Encoding = Encoding::Hex;

    /// The body alone is signed; the one signature follows `sha256=`.
    fn read<H: Headers + ?Sized>(
        headers: &H,
    ) -> Result<Signed<impl AsRef<[&str]>, impl Iterator<Item = &str>>, VerifyError> {
        let value = required(headers, SIGNATURE_HEADER)?;
        let hex = value
            .strip_prefix(PREFIX)
            .ok_or(VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                reason: "no sha256= prefix",
            })?;
        Ok(Signed {
            timestamp: None,
            prefix: [],
            signatures: std::iter::once(hex),
        })
    }
}

/// Verifies a GitHub webhook: `body` exactly as received, `headers` matched case-insensitively,
/// `secrets` current first. There is no timestamp, hence no clock.
pub fn verify<H: Headers + ?Sized>(
    body: &[u8],
    headers: &H,
    secrets: &SecretSet,
) -> Result<Verified, VerifyError> {
    // No timestamp is signed, so the clock and tolerance are never consulted.
    GitHub::verify_with_tolerance(body, headers, secrets, &SystemClock, DEFAULT_TOLERANCE)
}

/// Produces the `X-Hub-Signature-256` value (`sha256=<hex>`) for `body` — for tests, sample events
/// and stand-ins.
pub fn sign(body: &[u8], secret: &WebhookSecret) -> String {
    let hex = GitHub::signature(0, secret, &[], body).unwrap_or_default();
    format!("{PREFIX}{hex}")
}

/// The headers of a signed GitHub delivery: `[("x-hub-signature-256", …)]` — for tests and tools.
pub fn signed_headers(body: &[u8], secret: &WebhookSecret) -> Vec<(&'static str, String)> {
    vec![(SIGNATURE_HEADER, sign(body, secret))]
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's published example: docs.github.com, "Validating webhook deliveries", section
    // "Testing the webhook payload validation"
    // (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries; source
    // github/docs, content/webhooks/using-webhooks/validating-webhook-deliveries.md).
    const DOC_SECRET: &str = "It's a Secret to Everybody";
    const DOC_BODY: &[u8] = b"Hello, World!";
    const DOC_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn run(
        pairs: &[(&str, &str)],
        body: &[u8],
        secrets: &SecretSet,
    ) -> Result<Verified, VerifyError> {
        verify(body, pairs, secrets)
    }

    #[test]
    fn published_known_answer_reproduces() {
        assert_eq!(
            sign(DOC_BODY, &WebhookSecret::new(DOC_SECRET)),
            DOC_SIGNATURE
        );
        let v = run(
            &[("X-Hub-Signature-256", DOC_SIGNATURE)],
            DOC_BODY,
            &SecretSet::new(DOC_SECRET),
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
    fn wrong_secret_is_refused() {
        let r = run(
            &[("X-Hub-Signature-256", DOC_SIGNATURE)],
            DOC_BODY,
            &SecretSet::new("nope"),
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn one_changed_body_byte_is_refused() {
        let r = run(
            &[("X-Hub-Signature-256", DOC_SIGNATURE)],
            b"Hello, World?",
            &SecretSet::new(DOC_SECRET),
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn legacy_sha1_header_alone_is_refused() {
        // The correct sha1 signature of the doc example (not published; computed outside the
        // kit with `printf '%s' 'Hello, World!' | openssl dgst -sha1 -hmac "It's a Secret to
        // Everybody"`); still not enough.
        let r = run(
            &[(
                "X-Hub-Signature",
                "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
            )],
            DOC_BODY,
            &SecretSet::new(DOC_SECRET),
        );
        assert_eq!(r, Err(VerifyError::MissingHeader("x-hub-signature-256")));
    }

    #[test]
    fn malformed_header_is_refused() {
        let hex = DOC_SIGNATURE.trim_start_matches("sha256=");
        for bad in [hex, "sha1=abc", "SHA256=abc", ""] {
            let r = run(
                &[("X-Hub-Signature-256", bad)],
                DOC_BODY,
                &SecretSet::new(DOC_SECRET),
            );
            assert!(
                matches!(r, Err(VerifyError::MalformedHeader { .. })),
                "{bad}"
            );
        }
        // A well-prefixed value that is not 64 hex digits is just a non-match.
        let r = run(
            &[("X-Hub-Signature-256", "sha256=xyz")],
            DOC_BODY,
            &SecretSet::new(DOC_SECRET),
        );
        assert_eq!(r, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn previous_secret_matches_after_rotation() {
        let s = SecretSet::new("new secret").with_previous(DOC_SECRET);
        let v = run(&[("x-hub-signature-256", DOC_SIGNATURE)], DOC_BODY, &s).unwrap();
        assert_eq!(v.secret_index, 1);
    }

    #[test]
    fn header_name_is_case_insensitive() {
        for name in ["x-hub-signature-256", "X-HUB-SIGNATURE-256"] {
            assert!(
                run(
                    &[(name, DOC_SIGNATURE)],
                    DOC_BODY,
                    &SecretSet::new(DOC_SECRET)
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn signed_headers_round_trip() {
        let secret = WebhookSecret::new("s3cr3t");
        let headers = signed_headers(b"{}", &secret);
        assert!(verify(b"{}", &headers, &SecretSet::from(secret)).is_ok());
    }
}
