//! [`HttpResponse`]: a successful response, its body already read within the client's bound.

use std::fmt;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// A successful (2xx or 3xx) response whose body has been read, up to
/// [`HttpConfig::max_body_bytes`](super::HttpConfig::max_body_bytes).
///
/// The client hands back bytes rather than a streaming `reqwest::Response` so that no caller
/// can read an unbounded body by accident: a misbehaving API could otherwise make a Lambda with
/// a few hundred MiB of memory buffer a gigabyte. A larger body is the permanent
/// [`Failure::TooLarge`](super::Failure::TooLarge) instead.
///
/// Its `Debug` shows the status, header names and body length only: a body may hold customer
/// data and header values may hold tokens (`Set-Cookie`).
#[derive(Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpResponse {
    pub(super) fn new(status: StatusCode, headers: HeaderMap, body: Vec<u8>) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The whole body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, without copying it.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, SET_COOKIE};

    #[test]
    fn debug_shows_neither_the_body_nor_header_values() {
        let mut headers = HeaderMap::new();
        headers.insert(SET_COOKIE, HeaderValue::from_static("session=s3cr3t"));
        let r = HttpResponse::new(StatusCode::OK, headers, b"jane@example.com".to_vec());
        let debug = format!("{r:?}");
        assert!(
            debug.contains("set-cookie") && debug.contains("body_len: 16"),
            "{debug}"
        );
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("jane"),
            "{debug}"
        );
        assert_eq!(r.clone().into_body(), b"jane@example.com");
    }
}
