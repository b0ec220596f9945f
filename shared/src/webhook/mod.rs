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
//! A provider file holds only what is that provider's own: its header names and how they are
//! parsed, what precedes the body in the signed content, how tags are encoded, how a secret
//! becomes a key. The steps every scheme shares — check the timestamp against an injected clock,
//! compute the MAC once per secret, compare it in constant time with every candidate signature —
//! are written once, in `verify.rs`, which each provider's `verify` functions delegate to.
//!
//! The other shared pieces, one file each:
//!
//! - [`Headers`] (`headers.rs`): a case-insensitive name → value lookup, implemented for
//!   [`lambda_http::http::HeaderMap`] and for slices / arrays / vectors of `(name, value)` pairs,
//!   so unit tests need no HTTP types. Function URL events lower-case header names; providers send
//!   them capitalised; both match.
//! - [`WebhookSecret`] and [`SecretSet`] (`secret.rs`): the signing secret(s). A set holds the
//!   current secret first and, while a secret rotates, the previous one(s); a match with any of
//!   them is accepted. Their `Debug` never shows the key material.
//! - [`Clock`] (`clock.rs`): where "now" comes from, injected so the tolerance edges can be tested
//!   ([`SystemClock`] in production, [`FixedClock`] in tests).
//! - [`DEFAULT_TOLERANCE`] (`freshness.rs`): how old a signed timestamp may be, and the parsing of
//!   one.
//! - `mac.rs`: HMAC-SHA256 over the signed content and the hex / base64 encodings of a tag.
//! - [`VerifyError`] (`error.rs`): why a request was refused, for logs only — a receiver answers
//!   401 without detail. It implements [`Classify`](crate::Classify).
//! - [`Scheme`] (`scheme.rs`) and [`Verifier`] (`verifier.rs`): a scheme chosen from
//!   configuration, bundled with its secrets, a clock and a tolerance, for a receiver that is
//!   configured once and verifies many requests.
//!
//! Verification never copies the body: the MAC is fed the signed parts in order, computed once per
//! secret and compared against every candidate signature of the request.

mod clock;
mod error;
mod freshness;
mod headers;
mod mac;
mod scheme;
mod secret;
mod verifier;
mod verify;

pub mod github;
pub mod shopify;
pub mod slack;
pub mod standard;
pub mod stripe;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::VerifyError;
pub use freshness::DEFAULT_TOLERANCE;
pub use headers::Headers;
pub use scheme::Scheme;
pub use secret::{SecretSet, WebhookSecret};
pub use verifier::Verifier;
pub use verify::Verified;
