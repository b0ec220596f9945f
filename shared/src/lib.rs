//! # Switchyard — the kit every integration function is built on
//!
//! A Switchyard function is thin: wiring plus one integration's own mapping and API calls. The
//! shared machinery lives here, one concept a module:
//!
//! | module | concept |
//! |---|---|
//! | [`taxonomy`] | the failure taxonomy (throttled / transient / permanent / auth) every caller uses; a leaf module |
//! | [`error`] | the kit's error type, gathering each module's error, each classified |
//! | [`http`] | the outbound HTTP client: timeouts on every call, user agent, base-URL override, per-destination policies (rate limit, circuit breaker); [`http::classify`]: status, `Retry-After`, transport and body-level errors → a [`Classification`] |
//! | [`invocation`] | the Lambda invocation work runs in: request id, deadline, and the reserve kept free before it |
//! | [`mask`] | masking personal values for logs (Powertools' data masking as the model): erase, keep an e-mail's domain, keep the last digits; named per field by the mapping file; a leaf module |
//! | [`redact`] | what may be said about untrusted text in logs and dead-letter attributes: serde error summaries, identifier-shaped error codes; a leaf module |
//! | [`receiver`] | the receiver runtime: Function URL webhook → verify → envelope → SQS |
//! | [`retry`] | jittered exponential backoff that honours `Retry-After` and the Lambda deadline |
//! | [`secrets`] | Secrets Manager, cached in process with a TTL, typed, redacted |
//! | [`envelope`] | the CloudEvents 1.0 JSON envelope that travels on the queues |
//! | [`batch`] | the SQS batch runner for deliverers: outcomes per record, per-record and batch handlers, deadlines, the redelivery schedule, partial batch failures, DLQ, FIFO |
//! | [`lookup`] | fetch-before-write lookups for deliverers (an owner id for an e-mail): one match, none or several, cached for a TTL in a bounded LRU, one fetch per key at a time, and a per-field policy for no single match |
//! | [`idempotency`] | idempotency for deliverers as a layer around any handler (DynamoDB lock, dedup window, payload check) and the delivery ledger |
//! | [`deliverer`] | the deliverer runtime: SQS batch → handler → partial batch response, per invocation |
//! | [`shutdown`] | graceful shutdown: on SIGTERM/SIGINT stop starting records, finish and answer the invocation in flight, flush metrics and logs, exit 0 |
//! | [`telemetry`] | JSON logs with the event id on every line, CloudWatch EMF metrics |
//! | [`aws`] | the AWS SDK configuration (honours `AWS_ENDPOINT_URL`, bounded timeouts) and the classification of SDK failures |
//! | [`routing`] | which queues an accepted webhook event goes to, by event type |
//! | [`oauth`] | OAuth2 access tokens from a secret (refresh-token flow or a static token): cached until shortly before expiry, one request for concurrent callers, renewed once when an API refuses them |
//! | [`mapping`] | declarative field mapping: TOML rules (paths, transforms, minijinja templates) from an event to a destination's fields, checked against the destination's schema at cold start |
//! | [`unknown_outcome`] | calls whose outcome is unknown (a timeout after sending, an answer lost), counted per delivery attempt so the ledger can mark a delivery "possibly delivered twice" |
//! | [`webhook`] | webhook signature schemes, one file per provider |

pub mod aws;
pub mod batch;
pub mod deliverer;
pub mod envelope;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod invocation;
pub mod lookup;
pub mod mapping;
pub mod mask;
pub mod oauth;
pub mod receiver;
pub mod redact;
pub mod retry;
pub mod routing;
pub mod secrets;
pub mod shutdown;
pub mod taxonomy;
pub mod telemetry;
pub mod unknown_outcome;
pub mod webhook;

pub use error::Error;
pub use taxonomy::{Classification, Classify, ErrorClass};

/// The configuration of the kit's inline property tests (modules named `fuzz`), the same as
/// `tests/fuzz.rs`'s: `FUZZ_CASES` cases (256 by default) from a fixed seed (`FUZZ_SEED`
/// overrides it), no failure files.
#[cfg(test)]
pub(crate) fn fuzz_config() -> proptest::test_runner::Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
    proptest::test_runner::Config {
        cases: env("FUZZ_CASES").map_or(256, |c: u64| u32::try_from(c).unwrap_or(u32::MAX)),
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            env("FUZZ_SEED").unwrap_or(0x5717_c4ad_f022_2026),
        ),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
