//! [`HttpConfig`]: the timeouts, limits and identity an [`HttpClient`](super::HttpClient) is
//! built with.

use std::time::Duration;

/// Timeouts and identity of an [`HttpClient`](super::HttpClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The integration's name, sent in the user agent (`switchyard/0.1.0 (+slack)`).
    pub integration: String,
    /// The longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// The longest a whole call may take, from connecting to the end of the response body.
    pub timeout: Duration,
    /// Idle pooled connections are dropped after this; shorter than the usual 60 s load
    /// balancer idle timeout, so a warm Lambda does not reuse a connection the server closed.
    pub pool_idle_timeout: Duration,
    /// The largest successful response body the `send_body`/`send_json` helpers buffer; a
    /// larger one is a permanent error rather than an out-of-memory Lambda.
    pub max_body_bytes: usize,
}

impl HttpConfig {
    /// The defaults for `integration`: 3 s to connect, 10 s per call, 50 s idle pool timeout,
    /// 8 MiB bodies.
    pub fn new(integration: impl Into<String>) -> Self {
        Self {
            integration: integration.into(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(50),
            max_body_bytes: 8 * 1024 * 1024,
        }
    }

    /// The user agent sent on every request: `switchyard/<crate version> (+<integration>)`.
    pub fn user_agent(&self) -> String {
        format!(
            "switchyard/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            self.integration
        )
    }
}
