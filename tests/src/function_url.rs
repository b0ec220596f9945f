//! Lambda Function URL events (API Gateway HTTP API payload 2.0), as Lambda delivers them to a
//! function, and the response documents functions give back.

use base64::Engine as _;
use serde_json::{Value, json};

/// A Function URL invocation event for one HTTP request. Header names are lower-cased, as
/// Function URLs do. With `base64`, the body is sent base64-encoded and flagged so.
pub fn event(method: &str, headers: &[(&str, &str)], body: &[u8], base64: bool) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in headers {
        map.insert(k.to_ascii_lowercase(), Value::String((*v).to_string()));
    }
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).expect("text body (use base64 for bytes)")
    };
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": map,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz",
            "domainName": "abcdefghijklmnopqrstuvwxyz.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz",
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "switchyard-tests"
            },
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:06:00:00 +0000",
            "timeEpoch": 1795240800000u64
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

/// A function's HTTP answer, read from its response document.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    /// `statusCode`.
    pub status: u16,
    /// `body`, parsed as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
    /// `headers`.
    pub headers: Value,
}

/// Reads a Function URL response document.
pub fn answer(response: &Value) -> HttpAnswer {
    let body = response["body"].as_str().unwrap_or_default();
    let body = if response["isBase64Encoded"].as_bool().unwrap_or(false) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("base64 body");
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    } else {
        serde_json::from_str(body).unwrap_or(Value::Null)
    };
    HttpAnswer {
        status: response["statusCode"].as_u64().expect("statusCode") as u16,
        body,
        headers: response["headers"].clone(),
    }
}
