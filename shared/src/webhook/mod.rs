//! Verifying (and, for tests and tools, producing) webhook signatures, one file per scheme.
//!
//! A receiver must prove a request came from the provider before it queues anything. Every scheme
//! here is an HMAC-SHA256 over the raw body bytes (plus, for most, a timestamp and an id), checked
//! in constant time against one or more signatures in the request headers:
//!
//! | scheme | module | timestamp tolerance |
//! |---|---|---|
//! | Stripe | [`stripe`] | 300 s into the past; future timestamps accepted (as the SDKs do) |
//! | GitHub | [`github`] | none (dedupe on `X-GitHub-Delivery`) |
//! | Slack | [`slack`] | 300 s both ways |
//! | Shopify | [`shopify`] | none (dedupe on `X-Shopify-Event-Id`) |
//! | Standard Webhooks / Svix | [`standard`] | 300 s both ways |
//!
//! The pieces every scheme shares live in this file:
//!
//! - [`Headers`]: a case-insensitive name → value lookup, implemented for
//!   [`lambda_http::http::HeaderMap`] and for slices / arrays / vectors of `(name, value)` pairs,
//!   so unit tests need no HTTP types. Function URL events lower-case header names; providers send
//!   them capitalised; both match.
//! - [`WebhookSecret`] and [`SecretSet`]: the signing secret(s). A set holds the current secret
//!   first and, while a secret rotates, the previous one(s); a match with any of them is accepted.
//!   Their `Debug` never shows the key material.
//! - [`Clock`]: where "now" comes from, injected so the tolerance edges can be tested
//!   ([`SystemClock`] in production, [`FixedClock`] in tests).
//! - [`VerifyError`]: why a request was refused, for logs only — a receiver answers 401 without
//!   detail. It implements [`Classify`].
//! - [`Verifier`]: a scheme, its secrets, a clock and a tolerance bundled as one value, for a
//!   receiver that is configured once and verifies many requests.
//!
//! Verification never copies the body: the MAC is fed the signed parts in order, computed once per
//! secret and compared against every candidate signature of the request.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

use crate::taxonomy::{Classification, Classify};

pub mod github;
pub mod shopify;
pub mod slack;
pub mod standard;
pub mod stripe;

/// The default timestamp tolerance of every scheme that has one: five minutes, as in the
/// providers' SDKs and the Standard Webhooks reference libraries.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Length in bytes of an HMAC-SHA256 tag; a candidate signature of any other length cannot match.
const TAG_LEN: usize = 32;

/// An HMAC-SHA256 tag, as decoded from a header or computed here.
type Tag = [u8; TAG_LEN];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a webhook request was refused.
///
/// The message is for logs only: a receiver answers 401 (or 500 for a configuration fault, see
/// [`Classify`] below) without detail, so a caller probing the endpoint learns nothing. Variants
/// name headers but never echo header values, and never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header the scheme requires is absent. Holds the header's canonical (lower-case) name.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but cannot be parsed (not UTF-8, no timestamp, wrong prefix, ...).
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        /// The header's canonical (lower-case) name.
        header: &'static str,
        /// What is wrong with it; a fixed text, never the value itself.
        reason: &'static str,
    },
    /// The signed timestamp is too far from now: a replay, or a badly skewed clock.
    #[error(
        "timestamp {timestamp} is outside the tolerance of {tolerance_secs} s around now ({now})"
    )]
    TimestampOutOfTolerance {
        /// The request's timestamp (unix seconds).
        timestamp: i64,
        /// The verifier's clock (unix seconds).
        now: i64,
        /// The tolerance that was applied, in seconds.
        tolerance_secs: u64,
    },
    /// No signature of the request matches any of the secrets: forged, tampered with, or signed
    /// with a secret we do not (yet) have.
    #[error("no matching signature")]
    NoMatchingSignature,
    /// The secret set is empty: the receiver is misconfigured.
    #[error("no webhook secret configured")]
    NoSecret,
    /// A configured secret cannot be used by this scheme (e.g. a Standard Webhooks secret that is
    /// not base64). Holds the secret's position in the [`SecretSet`], never its value.
    #[error("webhook secret #{index} is not valid for this scheme")]
    InvalidSecret {
        /// Position of the offending secret in the set (0 = current).
        index: usize,
    },
}

impl VerifyError {
    /// Whether the fault is ours (no usable secret) rather than the request's.
    ///
    /// A receiver answers 500 for these, so the provider retries once the configuration is fixed,
    /// and alerts; every other failure is answered 401.
    pub fn is_configuration_fault(&self) -> bool {
        matches!(
            self,
            VerifyError::NoSecret | VerifyError::InvalidSecret { .. }
        )
    }
}

impl Classify for VerifyError {
    /// A request that fails verification is [`ErrorClass::Auth`](crate::ErrorClass::Auth): its
    /// credentials (the signature) were refused, it is not retryable as such, and the only thing
    /// that can change the verdict for the same bytes is a fresh secret (a rotation we have not
    /// picked up yet) — exactly what `Auth` means to the kit. A configuration fault
    /// ([`VerifyError::is_configuration_fault`]) is [`ErrorClass::Permanent`](crate::ErrorClass::Permanent):
    /// nothing the request or a retry does can fix it.
    fn classification(&self) -> Classification {
        if self.is_configuration_fault() {
            Classification::permanent()
        } else {
            Classification::auth()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

/// A case-insensitive header lookup: the one thing the verifiers need from a request.
///
/// Implemented for [`lambda_http::http::HeaderMap`] (what receivers get) and for slices, arrays
/// and vectors of `(name, value)` pairs (what unit tests and tools write). Names are passed in
/// lower case; an implementation must match them regardless of the case the request used.
pub trait Headers {
    /// The raw bytes of the first value of header `name` (lower case), if present.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<T: Headers + ?Sized> Headers for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

impl Headers for lambda_http::http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        // `HeaderMap` stores names lower-cased and lower-cases the looked-up name.
        self.get(name).map(|v| v.as_bytes())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

/// The value of header `name` as text, or [`VerifyError::MissingHeader`] /
/// [`VerifyError::MalformedHeader`] (not UTF-8). Surrounding whitespace is trimmed.
pub(crate) fn required<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    optional(headers, name)?.ok_or(VerifyError::MissingHeader(name))
}

/// Like [`required`], but an absent header is `Ok(None)`.
pub(crate) fn optional<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &'static str,
) -> Result<Option<&'h str>, VerifyError> {
    match headers.header(name) {
        None => Ok(None),
        Some(bytes) => std::str::from_utf8(bytes)
            .map(|s| Some(s.trim()))
            .map_err(|_| VerifyError::MalformedHeader {
                header: name,
                reason: "not UTF-8",
            }),
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/// One webhook signing secret, exactly as the provider shows it (e.g. Stripe's whole `whsec_…`
/// string, Slack's signing secret, a Standard Webhooks `whsec_<base64>`).
///
/// Each scheme derives its HMAC key from this text its own way. `Debug` is redacted and there is
/// no `Display`, so a secret cannot end up in a log line by accident.
#[derive(Clone)]
pub struct WebhookSecret(Box<[u8]>);

impl WebhookSecret {
    /// Wraps a secret as the provider shows it.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().into_bytes().into_boxed_slice())
    }

    /// Wraps a secret given as raw bytes (for a scheme whose key is the secret's bytes).
    pub fn from_bytes(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into().into_boxed_slice())
    }

    /// The secret's bytes, for deriving a key. Kept crate-private so key material is only
    /// handled here.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl From<&str> for WebhookSecret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<String> for WebhookSecret {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

/// The secrets a request may be signed with: the current one first, then any previous ones kept
/// while a secret rotates. A signature that matches any of them is accepted, and [`Verified`]
/// says which one did, so the operator knows when the old secret can be retired.
#[derive(Clone, Default)]
pub struct SecretSet(Vec<WebhookSecret>);

impl SecretSet {
    /// A set with just the current secret.
    pub fn new(current: impl Into<WebhookSecret>) -> Self {
        Self(vec![current.into()])
    }

    /// Adds a previous secret, still accepted during a rotation. Returns the set for chaining.
    pub fn with_previous(mut self, previous: impl Into<WebhookSecret>) -> Self {
        self.0.push(previous.into());
        self
    }

    /// Appends a secret (after the ones already in the set).
    pub fn push(&mut self, secret: impl Into<WebhookSecret>) {
        self.0.push(secret.into());
    }

    /// The secrets, current first.
    pub fn as_slice(&self) -> &[WebhookSecret] {
        &self.0
    }

    /// How many secrets the set holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty (verification then fails with [`VerifyError::NoSecret`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSet")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl<S: Into<WebhookSecret>> FromIterator<S> for SecretSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

impl From<WebhookSecret> for SecretSet {
    fn from(secret: WebhookSecret) -> Self {
        Self(vec![secret])
    }
}

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

/// Where "now" comes from when checking a signed timestamp.
///
/// Injected rather than read from the system so the tolerance edges (exactly 300 s accepted,
/// 301 s refused) can be tested.
pub trait Clock: Send + Sync {
    /// The current time in unix seconds.
    fn unix_now(&self) -> i64;
}

/// The system clock: what receivers use in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
        }
    }
}

/// A clock stopped at a given unix second: for tests and for replaying a recorded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn unix_now(&self) -> i64 {
        self.0
    }
}

/// Parses a signed timestamp: unix seconds, ASCII digits only (no sign, no fraction).
pub(crate) fn parse_timestamp(text: &str, header: &'static str) -> Result<i64, VerifyError> {
    let malformed = VerifyError::MalformedHeader {
        header,
        reason: "timestamp is not unix seconds",
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    text.parse().map_err(|_| malformed)
}

/// Checks `timestamp` against `now`: at most `past` seconds old and, if `future` is given, at most
/// that far ahead. The edges are inclusive: exactly the tolerance is accepted.
pub(crate) fn check_timestamp(
    timestamp: i64,
    now: i64,
    past: Duration,
    future: Option<Duration>,
) -> Result<(), VerifyError> {
    let age = i128::from(now) - i128::from(timestamp);
    let too_old = age > i128::from(past.as_secs());
    let too_new = future.is_some_and(|f| -age > i128::from(f.as_secs()));
    if too_old || too_new {
        let tolerance = if too_old {
            past
        } else {
            future.unwrap_or(past)
        };
        return Err(VerifyError::TimestampOutOfTolerance {
            timestamp,
            now,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// MAC computation and comparison
// ---------------------------------------------------------------------------------------------

/// HMAC-SHA256 of the concatenation of `parts` under `key`, without concatenating them.
/// `None` only if the MAC refuses the key, which HMAC never does (any length is valid).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Option<Tag> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(mac.finalize().into_bytes().into())
}

/// A lower-hex signature decoded to a tag; `None` (a non-match) if it is not 64 hex digits.
pub(crate) fn decode_hex_tag(text: &str) -> Option<Tag> {
    let mut tag = [0u8; TAG_LEN];
    hex::decode_to_slice(text, &mut tag).ok()?;
    Some(tag)
}

/// A standard (padded) base64 signature decoded to a tag; `None` (a non-match) if it does not
/// decode to exactly 32 bytes.
pub(crate) fn decode_b64_tag(text: &str) -> Option<Tag> {
    use base64::Engine as _;
    let mut buf = [0u8; TAG_LEN + 16];
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(text, &mut buf)
        .ok()?;
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(buf.get(..TAG_LEN).filter(|_| len == TAG_LEN)?);
    Some(tag)
}

/// Computes the MAC over `parts` once per key and compares it in constant time with every
/// candidate; returns the index of the first key that matches any candidate.
///
/// `key_for` derives the HMAC key from a secret (or refuses it with an error). The secrets are
/// tried in order, so the current secret costs one MAC and a previous one only two.
pub(crate) fn match_any(
    secrets: &SecretSet,
    key_for: impl Fn(usize, &WebhookSecret) -> Result<Vec<u8>, VerifyError>,
    parts: &[&[u8]],
    candidates: &[Tag],
) -> Result<usize, VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    // Derive every key first, so a bad secret is reported whatever the request holds.
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
        let expected = hmac_sha256(key, parts).ok_or(VerifyError::InvalidSecret { index })?;
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

/// The key for schemes whose HMAC key is the secret's bytes as given.
pub(crate) fn raw_key(_index: usize, secret: &WebhookSecret) -> Result<Vec<u8>, VerifyError> {
    Ok(secret.expose().to_vec())
}

// ---------------------------------------------------------------------------------------------
// Outcome and the scheme-agnostic verifier
// ---------------------------------------------------------------------------------------------

/// A request that passed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Which secret of the [`SecretSet`] matched: 0 is the current one; anything else means the
    /// sender still signs with a previous secret (log it: the rotation is not finished).
    pub secret_index: usize,
    /// The signed timestamp (unix seconds), for schemes that have one.
    pub timestamp: Option<i64>,
}

/// The signature schemes this module knows, for choosing one from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Stripe: `Stripe-Signature: t=…,v1=…`. See [`stripe`].
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=…`. See [`github`].
    GitHub,
    /// Slack: `X-Slack-Signature: v0=…` with `X-Slack-Request-Timestamp`. See [`slack`].
    Slack,
    /// Shopify: `X-Shopify-Hmac-Sha256` (or `Shopify-Hmac-Sha256`). See [`shopify`].
    Shopify,
    /// Standard Webhooks, including the Svix spelling (`svix-*` headers). See [`standard`].
    StandardWebhooks,
}

impl Scheme {
    /// The scheme's default timestamp tolerance, or `None` if it signs no timestamp.
    pub fn default_tolerance(self) -> Option<Duration> {
        match self {
            Scheme::Stripe | Scheme::Slack | Scheme::StandardWebhooks => Some(DEFAULT_TOLERANCE),
            Scheme::GitHub | Scheme::Shopify => None,
        }
    }

    /// A stable lower-case name for logs and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Stripe => "stripe",
            Scheme::GitHub => "github",
            Scheme::Slack => "slack",
            Scheme::Shopify => "shopify",
            Scheme::StandardWebhooks => "standard-webhooks",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scheme, its secrets, a clock and a tolerance: what a receiver builds once at start-up and
/// then calls for every request.
///
/// `Debug` shows the scheme and tolerance and how many secrets there are, never the secrets.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    secrets: SecretSet,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// A verifier with the system clock and the scheme's default tolerance (300 s).
    pub fn new(scheme: Scheme, secrets: SecretSet) -> Self {
        Self {
            scheme,
            secrets,
            tolerance: scheme.default_tolerance().unwrap_or(DEFAULT_TOLERANCE),
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock (tests, replays).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the timestamp tolerance (ignored by schemes without a timestamp).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Replaces the secrets, e.g. after re-reading them from Secrets Manager on a rotation.
    pub fn set_secrets(&mut self, secrets: SecretSet) {
        self.secrets = secrets;
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Verifies one request: its raw body bytes, exactly as received, and its headers.
    pub fn verify<H: Headers + ?Sized>(
        &self,
        body: &[u8],
        headers: &H,
    ) -> Result<Verified, VerifyError> {
        let clock = self.clock.as_ref();
        match self.scheme {
            Scheme::Stripe => {
                stripe::verify_with_tolerance(body, headers, &self.secrets, clock, self.tolerance)
            }
            Scheme::GitHub => github::verify(body, headers, &self.secrets),
            Scheme::Slack => {
                slack::verify_with_tolerance(body, headers, &self.secrets, clock, self.tolerance)
            }
            Scheme::Shopify => shopify::verify(body, headers, &self.secrets),
            Scheme::StandardWebhooks => {
                standard::verify_with_tolerance(body, headers, &self.secrets, clock, self.tolerance)
            }
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("secrets", &self.secrets)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorClass;

    #[test]
    fn secrets_never_show_in_debug() {
        let set = SecretSet::new("whsec_supersecret").with_previous("old-secret-value");
        let text = format!("{set:?} {:?}", set.as_slice());
        assert!(!text.contains("supersecret"), "{text}");
        assert!(!text.contains("old-secret-value"), "{text}");
        let v = Verifier::new(Scheme::Stripe, set);
        let text = format!("{v:?}");
        assert!(!text.contains("supersecret"), "{text}");
        assert!(text.contains("Stripe"), "{text}");
    }

    #[test]
    fn errors_classify_as_auth_except_configuration_faults() {
        assert_eq!(VerifyError::NoMatchingSignature.class(), ErrorClass::Auth);
        assert_eq!(VerifyError::MissingHeader("x").class(), ErrorClass::Auth);
        let e = VerifyError::TimestampOutOfTolerance {
            timestamp: 1,
            now: 400,
            tolerance_secs: 300,
        };
        assert_eq!(e.class(), ErrorClass::Auth);
        assert_eq!(VerifyError::NoSecret.class(), ErrorClass::Permanent);
        assert_eq!(
            VerifyError::InvalidSecret { index: 1 }.class(),
            ErrorClass::Permanent
        );
        assert!(!ErrorClass::Auth.is_retryable());
    }

    #[test]
    fn header_lookup_is_case_insensitive_for_pairs_and_header_map() {
        let pairs = [("Stripe-Signature", "a"), ("X-Other", "b")];
        assert_eq!(pairs.header("stripe-signature"), Some(&b"a"[..]));
        assert_eq!(pairs.header("x-missing"), None);
        let owned = vec![("X-UPPER".to_string(), "v".to_string())];
        assert_eq!(owned.header("x-upper"), Some(&b"v"[..]));

        let mut map = lambda_http::http::HeaderMap::new();
        map.insert(
            lambda_http::http::header::HeaderName::from_static("x-hub-signature-256"),
            lambda_http::http::HeaderValue::from_static("sha256=00"),
        );
        assert_eq!(map.header("x-hub-signature-256"), Some(&b"sha256=00"[..]));
        assert_eq!(map.header("X-Hub-Signature-256"), Some(&b"sha256=00"[..]));
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        let pairs: [(&str, &[u8]); 1] = [("x-a", &[0xff, 0xfe])];
        assert!(matches!(
            required(&pairs, "x-a"),
            Err(VerifyError::MalformedHeader { header: "x-a", .. })
        ));
        assert_eq!(
            required(&pairs, "x-b"),
            Err(VerifyError::MissingHeader("x-b"))
        );
    }

    #[test]
    fn timestamp_edges_are_inclusive() {
        let t = DEFAULT_TOLERANCE;
        assert!(check_timestamp(1000, 1300, t, Some(t)).is_ok());
        assert!(check_timestamp(1000, 1301, t, Some(t)).is_err());
        assert!(check_timestamp(1300, 1000, t, Some(t)).is_ok());
        assert!(check_timestamp(1301, 1000, t, Some(t)).is_err());
        // No future bound: anything ahead is fine.
        assert!(check_timestamp(i64::MAX, i64::MIN, t, None).is_ok());
        assert!(check_timestamp(0, i64::MAX, t, None).is_err());
    }

    #[test]
    fn timestamps_must_be_plain_digits() {
        assert_eq!(parse_timestamp("1614265330", "h"), Ok(1_614_265_330));
        for bad in ["", "-5", "+5", "1.5", "12a", "99999999999999999999"] {
            assert!(parse_timestamp(bad, "h").is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_decode_only_at_full_length() {
        assert!(decode_hex_tag(&"ab".repeat(32)).is_some());
        assert!(decode_hex_tag(&"ab".repeat(31)).is_none());
        assert!(decode_hex_tag(&"zz".repeat(32)).is_none());
        assert!(decode_b64_tag("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=").is_some());
        assert!(decode_b64_tag("AAAA").is_none());
        assert!(decode_b64_tag("not base64!").is_none());
    }

    #[test]
    fn empty_secret_set_is_no_secret() {
        assert_eq!(
            match_any(&SecretSet::default(), raw_key, &[b"x"], &[[0; 32]]),
            Err(VerifyError::NoSecret)
        );
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.unix_now() > 1_577_836_800);
    }
}
