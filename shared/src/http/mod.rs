//! The outbound HTTP client every connector uses to call its SaaS API.
//!
//! Built once at cold start ([`HttpClient::new`]) and shared by every invocation, it gives each
//! call what an integration would otherwise forget:
//!
//! - a connect timeout and a total timeout on every request (3 s / 10 s by default), so a hung
//!   API cannot eat the Lambda's whole budget;
//! - a user agent `switchyard/<version> (+<integration>)`, so an API owner can tell who calls;
//! - a base URL per [`Destination`] that an environment variable overrides
//!   (`SLACK_API_BASE_URL=http://127.0.0.1:4010`), so the same binary talks to a local stand-in;
//! - one error type, [`HttpError`], classified by [`crate::http::classify`] from the status,
//!   `Retry-After`, the transport failure or a connector's [`BodyClassifier`](classify::BodyClassifier).
//!
//! An [`HttpError`] carries the destination's name, the status, the server's delay and a short
//! prefix of the response body. It never carries request headers, the request body or the URL
//! (any of them may hold a token).

pub mod classify;
mod client;
mod config;
mod destination;
mod error;

pub use self::client::{ERROR_BODY_LIMIT, HttpClient};
pub use self::config::HttpConfig;
pub use self::destination::Destination;
pub use self::error::{Failure, HttpError};
