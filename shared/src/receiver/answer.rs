//! The receiver's HTTP answers: small JSON bodies, no detail on authentication failures.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

/// An HTTP answer to a webhook request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The status code.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
    /// `Allow`, for 405 answers.
    pub allow: Option<&'static str>,
}

impl Answer {
    fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            allow: None,
        }
    }

    /// 200: queued.
    pub fn accepted(id: &str, queues: usize) -> Self {
        Self::new(
            StatusCode::OK,
            json!({"status": "accepted", "id": id, "queues": queues}),
        )
    }

    /// 200: verified, but no route wants this type (providers disable endpoints that fail).
    pub fn ignored(id: &str) -> Self {
        Self::new(StatusCode::OK, json!({"status": "ignored", "id": id}))
    }

    /// 200 with a provider-specific body (handshakes, pings).
    pub fn direct(body: Value) -> Self {
        Self::new(StatusCode::OK, body)
    }

    /// 400: verified but unreadable. The reason is safe to show: the caller proved who it is.
    pub fn bad_request(reason: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": "bad request", "reason": reason}),
        )
    }

    /// 401: never says why (the reason goes to the log only).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"}))
    }

    /// 405: only POST carries webhooks.
    pub fn method_not_allowed() -> Self {
        Self {
            allow: Some("POST"),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "method not allowed"}),
            )
        }
    }

    /// 413: over the configured body limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "payload too large", "limit_bytes": limit}),
        )
    }

    /// 413: the queue refused the envelope as larger than its `MaximumMessageSize`.
    pub fn envelope_too_large(envelope_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "payload too large for the queue", "envelope_bytes": envelope_bytes}),
        )
    }

    /// 500: our configuration is broken (no usable secret); the provider will retry later.
    pub fn misconfigured() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "receiver misconfigured"}),
        )
    }

    /// 503: the event could not be queued; the provider should retry.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "temporarily unavailable, retry later"}),
        )
    }

    /// The Lambda HTTP response.
    pub fn into_response(self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status)
            .header("content-type", "application/json");
        if let Some(allow) = self.allow {
            builder = builder.header("allow", allow);
        }
        builder
            .body(Body::Text(self.body.to_string()))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}
