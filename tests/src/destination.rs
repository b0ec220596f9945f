//! A switchable HTTP destination: answers `POST /deliver` with 200 while up, with a chosen
//! failure while down, and records every body it accepted.
//!
//! A generic stand-in for the runner's tests (the Slack and HubSpot stand-ins speak their APIs;
//! this one only needs to be up or down): an outage is a switch, so a test can run a real
//! pipeline through one and watch what comes out the other side.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;

/// How the destination answers right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// 200, body recorded.
    Up,
    /// This status (e.g. 503, 401) with a JSON error body, nothing recorded.
    Down(u16),
    /// 429 with `Retry-After: <seconds>`, nothing recorded.
    Throttling(u32),
    /// 400 whose body echoes the request, as CRMs do for invalid input.
    EchoBadRequest,
}

#[derive(Debug)]
struct Shared {
    mode: Mutex<Mode>,
    delivered: Mutex<Vec<String>>,
    calls: Mutex<usize>,
}

/// The running destination; dropping it stops serving.
pub struct Destination {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Destination {
    /// Starts serving on a free loopback port, in `mode`.
    pub async fn start(mode: Mode) -> Destination {
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            delivered: Mutex::new(Vec::new()),
            calls: Mutex::new(0),
        });
        let app = Router::new()
            .route("/deliver", post(deliver))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind destination");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Destination {
            url,
            shared,
            server,
        }
    }

    /// Switches how it answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    /// The bodies accepted so far, in arrival order.
    pub fn delivered(&self) -> Vec<String> {
        self.shared.delivered.lock().expect("lock").clone()
    }

    /// How many requests arrived, answered any way.
    pub fn calls(&self) -> usize {
        *self.shared.calls.lock().expect("lock")
    }
}

impl Drop for Destination {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn deliver(State(shared): State<Arc<Shared>>, body: String) -> impl IntoResponse {
    *shared.calls.lock().expect("lock") += 1;
    let mode = shared.mode.lock().expect("lock").clone();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    match mode {
        Mode::Up => {
            shared.delivered.lock().expect("lock").push(body);
            (StatusCode::OK, headers, r#"{"ok":true}"#.to_string())
        }
        Mode::Down(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            headers,
            r#"{"status":"error","category":"UNAVAILABLE"}"#.to_string(),
        ),
        Mode::Throttling(seconds) => {
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                headers.insert("retry-after", v);
            }
            (
                StatusCode::TOO_MANY_REQUESTS,
                headers,
                r#"{"status":"error","category":"RATE_LIMIT"}"#.to_string(),
            )
        }
        Mode::EchoBadRequest => (
            StatusCode::BAD_REQUEST,
            headers,
            serde_json::json!({
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": format!("Property values were not valid: {body}"),
            })
            .to_string(),
        ),
    }
}
