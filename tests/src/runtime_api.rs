//! A Lambda Runtime API stand-in, to drive the real function binaries over the real protocol.
//!
//! Lambda runs a function as a process that long-polls
//! `GET /2018-06-01/runtime/invocation/next` on `AWS_LAMBDA_RUNTIME_API` and posts each result to
//! `/invocation/{id}/response` (or `/error`). This module serves that API on a free loopback
//! port, hands out events, and collects the answers, so an end-to-end test runs the same binary
//! that ships, with nothing mocked inside it. It also records when the process first polled for
//! work — the end of its cold start — for the benchmarks.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Notify, oneshot};

use crate::moto::workspace_root;

/// What a function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`: the handler's return value.
    Response(serde_json::Value),
    /// `POST /invocation/{id}/error`: the runtime's error document.
    Error(serde_json::Value),
}

impl Outcome {
    /// The response, or a panic naming the error (for tests that expect success).
    pub fn expect_response(self) -> serde_json::Value {
        match self {
            Outcome::Response(v) => v,
            Outcome::Error(e) => panic!("function returned an error: {e}"),
        }
    }
}

struct Pending {
    id: String,
    event: Bytes,
    deadline_ms: u64,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Pending>>,
    ready: Notify,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: OnceLock<Instant>,
    init_error: Mutex<Option<serde_json::Value>>,
}

/// The Runtime API server. Dropping it stops serving.
pub struct RuntimeApi {
    address: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts serving on a free `127.0.0.1` port.
    pub async fn start() -> RuntimeApi {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime api");
        let address = listener.local_addr().expect("local addr").to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            address,
            shared,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Queues one invocation and waits for its answer.
    pub async fn invoke(&self, event: &serde_json::Value, timeout: Duration) -> Outcome {
        let id = uuid_like();
        let (tx, rx) = oneshot::channel();
        self.shared
            .answers
            .lock()
            .expect("lock")
            .insert(id.clone(), tx);
        let deadline_ms = SystemTime::now()
            .checked_add(timeout)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64);
        self.shared.queue.lock().expect("lock").push_back(Pending {
            id: id.clone(),
            event: Bytes::from(serde_json::to_vec(event).expect("event json")),
            deadline_ms,
        });
        self.shared.ready.notify_one();
        match tokio::time::timeout(timeout + Duration::from_secs(5), rx).await {
            Ok(Ok(outcome)) => outcome,
            _ => {
                let init = self.shared.init_error.lock().expect("lock").clone();
                panic!("invocation {id} got no answer within {timeout:?} (init error: {init:?})")
            }
        }
    }

    /// When the function first asked for work (its cold start ended), if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.first_poll.get().copied()
    }

    /// Waits until the function first asks for work.
    pub async fn wait_first_poll(&self, timeout: Duration) -> Option<Instant> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Some(t) = self.first_poll() {
                return Some(t);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        None
    }

    /// The document the function posted to `/init/error`, if it failed to start.
    pub fn init_error(&self) -> Option<serde_json::Value> {
        self.shared.init_error.lock().expect("lock").clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn uuid_like() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012}")
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let _ = shared.first_poll.set(Instant::now());
    loop {
        let notified = shared.ready.notified();
        if let Some(p) = shared.queue.lock().expect("lock").pop_front() {
            let mut headers = HeaderMap::new();
            let mut put = |k: &'static str, v: String| {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    headers.insert(k, v);
                }
            };
            put("lambda-runtime-aws-request-id", p.id);
            put("lambda-runtime-deadline-ms", p.deadline_ms.to_string());
            put(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test".into(),
            );
            put(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
            );
            put("content-type", "application/json".into());
            return (StatusCode::OK, headers, p.event);
        }
        notified.await;
    }
}

fn answer(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.answers.lock().expect("lock").remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_or_string(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Response(json_or_string(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Error(json_or_string(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().expect("lock") = Some(json_or_string(&body));
    StatusCode::ACCEPTED
}

/// Where `cargo build` puts a workspace binary (`$CARGO_TARGET_DIR` or `target/`, debug), built
/// or not.
pub fn debug_binary(name: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("debug")
        .join(name)
}

/// Builds a workspace binary (once per test process) and returns its path.
///
/// Tests run the same debug binary `cargo build` makes; building here keeps a single test
/// runnable on its own (`cargo nextest run --test x`) without a separate build step.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().expect("lock");
    let path = debug_binary(name);
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args(["build", "--quiet", "--bin", name])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
        built.push(name.to_string());
    }
    path
}

/// A function process attached to a [`RuntimeApi`]; its output is captured line by line.
pub struct FunctionProcess {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    /// When the process was spawned (for cold-start measurements).
    pub started: Instant,
}

impl FunctionProcess {
    /// Starts `binary` as Lambda would, with the Lambda variables set and `env` added.
    pub fn start(binary: &std::path::Path, api: &RuntimeApi, env: &[(String, String)]) -> Self {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn function");
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().expect("lock").push(line);
                }
            });
        }
        FunctionProcess {
            child,
            output,
            started,
        }
    }

    /// Everything the function printed so far (stdout and stderr lines).
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("lock").clone()
    }

    /// The operating system's id of the process (e.g. to read `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How the process exited, once it has (the status stays readable after that).
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to exit by itself; true if it did.
    pub async fn wait_exit(&mut self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if !self.is_running() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        !self.is_running()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
