//! Rate limiting per destination: [`RateLimiter`], a [`CallPolicy`](super::CallPolicy) that
//! holds a destination's calls to a [`RateLimit`] — waiting for a permit when it comes before
//! the invocation's cutoff, refusing the call as throttled when it does not.
//!
//! Why a client-side limit when APIs answer 429 anyway: a 429 costs a round trip, may come
//! with a `Retry-After` longer than the pace we could have kept, and APIs that see an app keep
//! past their limits throttle it harder (Slack's rate-limit page warns that an app that keeps
//! sending after being limited risks being disabled). Keeping to the documented rate — Slack's `chat.postMessage` about one message per
//! second per channel with short bursts, HubSpot's 100 requests per 10 s — avoids most of
//! them; the 429s that still come are classified as throttled as before.
//!
//! # The wait-or-refuse rule
//!
//! A call without a free permit waits only if its turn comes within the limiter's max wait and
//! before the invocation's cutoff ([`CallInfo::cutoff`](super::CallInfo::cutoff)) minus a
//! margin for the call itself. Otherwise it is refused before sending, with
//! [`HttpError::refused`](super::HttpError::refused),
//! [`Classification::throttled`](crate::Classification::throttled) and the wait as
//! `retry_after`: the batch runner hands
//! the record back with that visibility, and it comes back when its turn has come. The wait is
//! decided up front: a call that would be refused is refused at once, without waiting first.
//!
//! # Why governor
//!
//! [`governor`](https://docs.rs/governor) implements GCRA (the generic cell rate algorithm, a
//! token bucket computed from one "theoretical arrival time" per bucket): exact spacing and
//! bursts with no background refill task, and an answer that says *when* the next permit
//! comes, which is what the wait-or-refuse rule needs. It is widely used (`tower_governor`,
//! `actix-governor` and many API clients build on it), maintained (0.10.x), and has a keyed
//! limiter whose idle keys can be swept. tower's `RateLimit` was the alternative already in the tree:
//! a fixed window reset at each period (so up to twice the rate across a window boundary),
//! with back-pressure through `poll_ready` and no notion of a cutoff to refuse against.
//!
//! Two choices on top of it, each explained where it is made: governor reads tokio's clock
//! rather than its default `quanta` clock (`clock.rs`: one clock for measuring and sleeping,
//! no calibration at cold start, virtual time in tests), and calls waiting for one bucket form
//! a line served in arrival order (`lines.rs`: governor keeps no places).
//!
//! # Per key
//!
//! [`RateLimiter::per_key`] keeps one bucket per key, the key being set around the call with
//! [`with_rate_key`] (`with_rate_key(channel, http.send(...))`): Slack limits posts per
//! channel, so one busy channel must not slow the others.
//!
//! # Configuration
//!
//! The rate comes from the function's environment, e.g. `RATE_LIMIT="1/s burst 3"` or
//! `RATE_LIMIT="100/10s"` ([`RateLimit`] documents the form, [`RateLimit::from_env`] reads
//! it); the max wait and the margin are set in code ([`RateLimiter::with_max_wait`],
//! [`RateLimiter::with_margin`]).
//!
//! | file | concept |
//! |---|---|
//! | `config.rs` | [`RateLimit`]: count per period and burst, its text form, the environment |
//! | `limiter.rs` | [`RateLimiter`]: the policy, the wait-or-refuse rule |
//! | `lines.rs` | the callers waiting for a bucket, in arrival order |
//! | `key.rs` | [`with_rate_key`]: the key of a call for a per-key limiter |
//! | `clock.rs` | governor on tokio's clock |

mod clock;
mod config;
mod key;
mod limiter;
mod lines;

pub use self::config::{ParseRateLimitError, RateLimit, RateLimitEnvError};
pub use self::key::{current_rate_key, with_rate_key};
pub use self::limiter::{DEFAULT_MARGIN, DEFAULT_MAX_WAIT, RateLimiter};
