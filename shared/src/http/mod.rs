//! The outbound HTTP client every connector uses to call its SaaS API.
//!
//! Built once at cold start ([`HttpClient::new`]) and shared by every invocation, it gives each
//! call what an integration would otherwise forget:
//!
//! - a connect timeout and a total timeout on every request (3 s / 10 s by default), so a hung
//!   API cannot eat the Lambda's whole budget;
//! - bounded bodies: a success body is read up to [`HttpConfig::max_body_bytes`] (8 MiB by
//!   default; more is the permanent [`Failure::TooLarge`]) and handed back as bytes in an
//!   [`HttpResponse`], an error body up to [`ERROR_BODY_LIMIT`], so no caller can buffer an
//!   unbounded body by accident;
//! - a user agent `switchyard/<version> (+<integration>)`, so an API owner can tell who calls;
//! - TLS by rustls with aws-lc-rs (the SDK's stack) and Mozilla's roots compiled in, so
//!   building the client reads no certificate store (see `tls.rs`);
//! - a base URL per [`Destination`] that an environment variable overrides
//!   (`SLACK_API_BASE_URL=http://127.0.0.1:4010`), so the same binary talks to a local stand-in;
//! - the destination's [`CallPolicy`]s run around every call (see below);
//! - one error type, [`HttpError`], classified by [`crate::http::classify`] from the status,
//!   `Retry-After`, the transport failure or a connector's
//!   [`BodyClassifier`](classify::BodyClassifier).
//!
//! | file | concept |
//! |---|---|
//! | `config.rs` | [`HttpConfig`]: timeouts, body limit, user agent |
//! | `destination.rs` | [`Destination`]: name, base URL, policies |
//! | `client.rs` | [`HttpClient`]: sending, bounded body reading, classification |
//! | `response.rs` | [`HttpResponse`]: a success with its body read |
//! | `error.rs` | [`HttpError`] and [`Failure`] |
//! | `error_body.rs` | [`ErrorBody`]: the safe parts of an error body |
//! | `policy.rs` | [`CallPolicy`], [`CallInfo`], [`CallOutcome`] |
//! | `rate_limit.rs` | [`RateLimiter`]: a policy holding calls to a [`RateLimit`] (governor's GCRA), per destination or per key; waits within the cutoff, else refuses as throttled |
//! | `circuit_breaker.rs` | [`CircuitBreaker`]: a policy that stops calling a destination after transient failures in a row, refuses at once while open, and lets one probe call through to close it |
//! | `tls.rs` | the rustls configuration: aws-lc-rs, compiled-in roots, ALPN |
//! | `classify.rs` | status, `Retry-After`, transport and body-level errors → a classification |
//!
//! # What an error carries
//!
//! An [`HttpError`] carries the destination's name, its classification (class and
//! `Retry-After`), what failed ([`Failure`]) and, when there was a response, its status and an
//! [`ErrorBody`]. Its message goes to logs and dead-letter attributes, so it never carries
//! request headers, the request body or the URL (any of them may hold a token), nor the
//! response body's text, which often echoes the request (`invalid email jane@example.com`).
//!
//! The redaction rule ([`crate::redact`]): of an error body only the values of code fields are
//! kept, and only when they look like codes (1–64 characters of `A-Za-z0-9_.:-`, at least one
//! letter). The fields are [`redact::DEFAULT_ERROR_FIELDS`](crate::redact::DEFAULT_ERROR_FIELDS)
//! (`error`, `code`, `category`, `type`, `status`, `error.code`, ...; never `message`) unless the
//! connector's classifier names its own with
//! [`BodyClassifier::safe_fields`](classify::BodyClassifier::safe_fields)
//! (or [`SafeFields`](classify::SafeFields) when it only needs that). A body that is not JSON
//! keeps its media type and length. A body-level error keeps the connector's code under the
//! same shape rule, and a body that does not decode keeps serde's position and field name,
//! never its text. [`HttpError::body_snippet`] and [`HttpError::error_code`] follow the same
//! rule.
//!
//! # Per-destination policies
//!
//! Rate limiters, circuit breakers and retry budgets wrap each call to a destination as
//! [`CallPolicy`]s, attached with [`Destination::with_policy`]. Several stack in the order
//! added, the first outermost. A policy's `before` may wait (within the invocation's cutoff,
//! [`CallInfo::cutoff`]) or refuse the call with [`HttpError::refused`] — the destination is
//! then never called; its `after` sees the classified outcome, or
//! [`CallOutcome::Cancelled`] when the call was dropped (so a breaker's probe slot is always
//! given back).
//!
//! Why a trait rather than tower's `Layer`/`Service` (0.5 is already in the dependency tree
//! through reqwest), which was the model: each destination could own a boxed service stack
//! wrapping the client, but a policy would then pay for what it does not need — `poll_ready`
//! back-pressure, owning and forwarding the request, a boxed stack per destination — and could
//! bypass the client's body bounds and classification. A limiter or a breaker needs two calls
//! around the exchange, the destination's name, the invocation's cutoff and the classified
//! outcome; a two-method trait object gives exactly that and leaves `HttpClient`'s signatures
//! as they were.

pub mod circuit_breaker;
pub mod classify;
mod client;
mod config;
mod destination;
mod error;
mod error_body;
mod policy;
pub mod rate_limit;
mod response;
mod tls;

pub use self::circuit_breaker::{
    CircuitBreaker, CircuitBreakerConfig, CircuitBreakerEnvError, CircuitState,
};
pub use self::client::{ERROR_BODY_LIMIT, HttpClient};
pub use self::config::HttpConfig;
pub use self::destination::Destination;
pub use self::error::{Failure, HttpError};
pub use self::error_body::ErrorBody;
pub use self::policy::{CallInfo, CallOutcome, CallPolicy, PolicyFuture};
pub use self::rate_limit::{RateLimit, RateLimiter, with_rate_key};
pub use self::response::HttpResponse;
