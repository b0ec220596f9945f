//! The verification every scheme shares, written once: a scheme describes only what is its own
//! (where its signatures and timestamp are, what precedes the body in the signed content, how
//! tags are encoded, how a secret becomes a key) and [`SignatureScheme::verify_with_tolerance`]
//! does the rest.
//!
//! The order of the checks is part of the behaviour and is the same for every scheme: read and
//! parse the headers (missing or malformed → refused), check the timestamp's freshness, derive
//! every key (a secret the scheme cannot use is reported whatever the request holds), then compute
//! the MAC once per secret, current first, and compare it in constant time with every candidate
//! signature of the request.

use std::borrow::Cow;
use std::time::Duration;

use subtle::{Choice, ConstantTimeEq};

use super::freshness::Freshness;
use super::mac::{Encoding, Tag, hmac_sha256};
use super::{Clock, Headers, SecretSet, VerifyError, WebhookSecret};

/// A request that passed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Which secret of the [`SecretSet`] matched: 0 is the current one; anything else means the
    /// sender still signs with a previous secret (log it: the rotation is not finished).
    pub secret_index: usize,
    /// The signed timestamp (unix seconds), for schemes that have one.
    pub timestamp: Option<i64>,
}

/// What a scheme reads from a request's headers: everything the shared verification needs.
///
/// Borrowed from the header values: reading a request copies no header text and never the body.
pub(crate) struct Signed<P, S> {
    /// The signed timestamp (unix seconds), for schemes that sign one.
    pub(crate) timestamp: Option<i64>,
    /// The signed content that precedes the body, piece by piece, exactly as sent (e.g. Stripe's
    /// `[t, "."]`). Empty for schemes that sign the body alone.
    pub(crate) prefix: P,
    /// The candidate signatures, still encoded; one that does not decode simply cannot match.
    pub(crate) signatures: S,
}

/// One webhook signature scheme, as a description the shared verification is driven by.
///
/// Implemented by a unit type in each provider file; the provider's public `verify` functions
/// delegate to the provided [`verify_with_tolerance`](Self::verify_with_tolerance).
pub(crate) trait SignatureScheme {
    /// How the signed timestamp is bounded ([`Freshness::Unsigned`] if there is none).
    const FRESHNESS: Freshness;
    /// How tags are written in the signature header.
    const ENCODING: Encoding;

    /// Reads the signature(s), the timestamp and the signed prefix from the headers, refusing a
    /// request whose headers are missing or malformed.
    fn read<H: Headers + ?Sized>(
        headers: &H,
    ) -> Result<Signed<impl AsRef<[&str]>, impl Iterator<Item = &str>>, VerifyError>;

    /// The HMAC key of secret #`index`: by default the secret's bytes as given. A scheme that
    /// cannot use the secret answers [`VerifyError::InvalidSecret`].
    fn key(_index: usize, secret: &WebhookSecret) -> Result<Cow<'_, [u8]>, VerifyError> {
        Ok(Cow::Borrowed(secret.expose()))
    }

    /// Verifies one request: `body` exactly as received, `headers` matched case-insensitively,
    /// `secrets` current first, `clock` and `tolerance` for the signed timestamp (unused by a
    /// scheme without one).
    fn verify_with_tolerance<H: Headers + ?Sized>(
        body: &[u8],
        headers: &H,
        secrets: &SecretSet,
        clock: &dyn Clock,
        tolerance: Duration,
    ) -> Result<Verified, VerifyError> {
        let signed = Self::read(headers)?;
        if let Some(timestamp) = signed.timestamp {
            Self::FRESHNESS.check(timestamp, clock.unix_now(), tolerance)?;
        }
        // One allocation per request for the decoded candidates, none per candidate.
        let candidates: Vec<Tag> = signed
            .signatures
            .filter_map(|text| Self::ENCODING.decode(text))
            .collect();
        let secret_index = match_any(
            secrets,
            Self::key,
            signed.prefix.as_ref(),
            body,
            &candidates,
        )?;
        Ok(Verified {
            secret_index,
            timestamp: signed.timestamp,
        })
    }

    /// The encoded tag a sender holding secret #`index` puts in its header for `body` preceded by
    /// `prefix` (without the header's own decoration such as `sha256=`) — for tests, sample events
    /// and stand-ins.
    fn signature(
        index: usize,
        secret: &WebhookSecret,
        prefix: &[&str],
        body: &[u8],
    ) -> Result<String, VerifyError> {
        let key = Self::key(index, secret)?;
        let tag = hmac_sha256(&key, prefix, body).ok_or(VerifyError::InvalidSecret { index })?;
        Ok(Self::ENCODING.encode(&tag))
    }
}

/// Computes the MAC of `prefix` + `body` once per secret and compares it in constant time with
/// every candidate; returns the index of the first secret that matches any candidate.
///
/// The secrets are tried in order, so the current secret costs one MAC and a previous one two.
fn match_any<'s>(
    secrets: &'s SecretSet,
    key_for: impl Fn(usize, &'s WebhookSecret) -> Result<Cow<'s, [u8]>, VerifyError>,
    prefix: &[&str],
    body: &[u8],
    candidates: &[Tag],
) -> Result<usize, VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    // Derive every key first, so a bad secret is reported whatever the request holds. Keys that
    // are the secret's own bytes are borrowed, not copied.
    let keys = secrets
        .as_slice()
        .iter()
        .enumerate()
        .map(|(i, s)| key_for(i, s))
        .collect::<Result<Vec<_>, _>>()?;
    if candidates.is_empty() {
        return Err(VerifyError::NoMatchingSignature);
    }
    for (index, key) in keys.iter().enumerate() {
        let expected =
            hmac_sha256(key, prefix, body).ok_or(VerifyError::InvalidSecret { index })?;
        let mut matched = Choice::from(0);
        for candidate in candidates {
            matched |= expected.ct_eq(candidate);
        }
        if bool::from(matched) {
            return Ok(index);
        }
    }
    Err(VerifyError::NoMatchingSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::freshness::parse_timestamp;
    use crate::webhook::headers::required;
    use crate::webhook::{DEFAULT_TOLERANCE, FixedClock};

    /// A scheme made up for these tests, so the shared steps are checked apart from any
    /// provider: `x-sig: <hex>` over `{x-ts}:{body}`, `x-ts` bounded both ways.
    struct Toy;

    impl SignatureScheme for Toy {
        const FRESHNESS: Freshness = Freshness::Window;
        const ENCODING: Encoding = Encoding::Hex;

        fn read<H: Headers + ?Sized>(
            headers: &H,
        ) -> Result<Signed<impl AsRef<[&str]>, impl Iterator<Item = &str>>, VerifyError> {
            let ts = required(headers, "x-ts")?;
            let sig = required(headers, "x-sig")?;
            Ok(Signed {
                timestamp: Some(parse_timestamp(ts, "x-ts")?),
                prefix: [ts, ":"],
                signatures: sig.split(' '),
            })
        }
    }

    fn toy(body: &[u8], sig: &str, ts: i64, secrets: &SecretSet) -> Result<Verified, VerifyError> {
        let ts = ts.to_string();
        let headers = [("x-ts", ts.as_str()), ("x-sig", sig)];
        Toy::verify_with_tolerance(
            body,
            &headers,
            secrets,
            &FixedClock(1_000),
            Duration::from_secs(10),
        )
    }

    fn toy_sig(secret: &str, ts: i64, body: &[u8]) -> String {
        Toy::signature(0, &secret.into(), &[&ts.to_string(), ":"], body).unwrap()
    }

    #[test]
    fn signature_is_the_encoded_mac_of_prefix_then_body() {
        // printf '%s' '1000:{}' | openssl dgst -sha256 -hmac k
        assert_eq!(
            toy_sig("k", 1_000, b"{}"),
            "3fe1961cb4161cf5a56436524aee0b1bda0b7ead98a73c06c0bc6865c1384549"
        );
    }

    #[test]
    fn any_candidate_under_any_secret_matches_and_the_secret_is_named() {
        let sig = toy_sig("old", 1_000, b"{}");
        let secrets = SecretSet::new("new").with_previous("old");
        let v = toy(
            b"{}",
            &format!("nothex {} {sig}", "00".repeat(32)),
            1_000,
            &secrets,
        );
        assert_eq!(
            v,
            Ok(Verified {
                secret_index: 1,
                timestamp: Some(1_000)
            })
        );
    }

    #[test]
    fn checks_run_in_order_headers_freshness_keys_then_mac() {
        let good = toy_sig("k", 1_000, b"{}");
        let none: [(&str, &str); 0] = [];
        let empty = SecretSet::default();
        // Headers first: even with no secret, a request without headers is the request's fault.
        assert_eq!(
            Toy::verify_with_tolerance(b"{}", &none, &empty, &FixedClock(0), DEFAULT_TOLERANCE),
            Err(VerifyError::MissingHeader("x-ts"))
        );
        // Freshness before secrets: a stale request is refused as stale.
        assert!(matches!(
            toy(b"{}", &good, 989, &empty),
            Err(VerifyError::TimestampOutOfTolerance {
                tolerance_secs: 10,
                ..
            })
        ));
        // No secret is reported even when no candidate decodes.
        assert_eq!(toy(b"{}", "zz", 1_000, &empty), Err(VerifyError::NoSecret));
        assert_eq!(
            toy(b"{}", "zz", 1_000, &SecretSet::new("k")),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            toy(b"{!", &good, 1_000, &SecretSet::new("k")),
            Err(VerifyError::NoMatchingSignature)
        );
        // The edge of the window is inclusive.
        let edge = toy_sig("k", 990, b"{}");
        assert!(toy(b"{}", &edge, 990, &SecretSet::new("k")).is_ok());
    }

    #[test]
    fn empty_secret_set_is_no_secret() {
        assert_eq!(
            match_any(&SecretSet::default(), Toy::key, &["x"], b"", &[[0; 32]]),
            Err(VerifyError::NoSecret)
        );
    }
}
