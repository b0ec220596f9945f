//! A Slack Web API stand-in: `POST {base}/chat.postMessage` answered the way Slack answers it,
//! on a free loopback port, with faults on demand.
//!
//! What it checks, in Slack's order as far as it is known (docs.slack.dev
//! `reference/methods/chat.postMessage`, `apis/web-api/rate-limits`; see
//! `shared/design/destinations.md`):
//!
//! | request | answer |
//! |---|---|
//! | no `Authorization: Bearer` header (a token in the JSON body does not count) | 200 `not_authed` |
//! | another token, or the token switched invalid ([`SlackStandIn::set_token_valid`]) | 200 `invalid_auth` |
//! | a body that is not JSON / not a JSON object | 200 `invalid_json` / `json_not_object` |
//! | no `channel`, or one it does not know | 200 `channel_not_found` |
//! | `text` not a string | 200 `invalid_arguments` |
//! | neither `text` (non-empty) nor `blocks` | 200 `no_text` |
//! | `text` over 40,000 characters | 200 `msg_too_long` |
//! | `blocks` not an array of 1–50 objects, each with a string `type` | 200 `invalid_blocks` |
//! | the channel's rate exceeded (default 1/s, burst 4) | **429** `ratelimited` + `Retry-After` |
//! | otherwise | 200 `{"ok":true,"channel","ts","message"}`, the message recorded |
//!
//! Every answer is JSON with `ok`, as Slack's are, and 200 unless rate limited. A JSON body sent
//! without `; charset=utf-8` gets Slack's `"warning":"missing_charset"` with its success.
//! Another method under the base answers `unknown_method`.
//!
//! Two liberties, both on the safe side for tests: Slack documents truncating text beyond
//! 40,000 characters as well as the `msg_too_long` error, and the stand-in always answers the
//! error, so a deliverer's handling of it can be exercised; and only valid posts count against
//! a channel's rate (Slack's own order is not documented), so reject-path tests never trip it.
//! The workspace-wide limit Slack keeps besides the per-channel one is not modelled.
//!
//! Faults ([`Fault`]) are queued and consumed one per request, before anything else is looked
//! at: an `ok:false` code, an HTTP status (with or without `Retry-After`), a hang, a dropped
//! connection, and the case Slack's lack of idempotency makes matter — the post happened but
//! the answer was lost ([`Fault::LoseAnswer`]).
//!
//! Dropping a connection needs the server to stop mid-exchange, which a handler cannot do by
//! itself: the listener wraps every accepted connection so that a handler can cut it (its
//! next write fails, hyper drops the socket, the client sees the connection close without an
//! answer).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::connection::{Connection, CuttableListener};
use tokio::net::TcpListener;

/// The bot token the stand-in accepts unless told otherwise.
pub const TOKEN: &str = "xoxb-switchyard-test-token";
/// The channels it knows unless told otherwise: `#general`, `#alerts`, `#sales`.
pub const CHANNELS: [&str; 3] = ["C0GENERAL01", "C0ALERTS002", "C0SALES0003"];
/// The longest `text` it accepts, in characters.
pub const MAX_TEXT_CHARS: usize = 40_000;
/// The most blocks it accepts in one message.
pub const MAX_BLOCKS: usize = 50;

/// A per-channel rate: `burst` posts at once after a quiet spell, then one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelRate {
    /// The spacing of posts beyond the burst.
    pub interval: Duration,
    /// Posts allowed back to back.
    pub burst: u32,
}

impl ChannelRate {
    /// `per_second` posts a second, `burst` at once.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            burst: burst.max(1),
        }
    }
}

impl Default for ChannelRate {
    /// One post a second per channel, as Slack documents, with a burst of 4: Slack allows
    /// "short bursts" without saying how long, and one more than the kit's usual Slack setting
    /// (burst 3) keeps network jitter between a client that keeps to 1/s and this server from
    /// showing as a 429 (the first request, which opens the connection, arrives later than the
    /// ones after it).
    fn default() -> Self {
        Self::per_second(1, 4)
    }
}

/// How the stand-in starts.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// The valid bot token.
    pub token: String,
    /// The channel ids it knows.
    pub channels: Vec<String>,
    /// The per-channel rate; `None`: no limit.
    pub rate: Option<ChannelRate>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            token: TOKEN.to_owned(),
            channels: CHANNELS.iter().map(|c| (*c).to_owned()).collect(),
            rate: Some(ChannelRate::default()),
        }
    }
}

/// A fault to answer one request with, instead of processing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 200 `{"ok":false,"error":"<code>"}`, any code (`invalid_auth`, `token_revoked`,
    /// `is_archived`, `internal_error`, `fatal_error`, `rate_limited`, ...). Nothing recorded.
    Error(String),
    /// This status with `Retry-After: <seconds>` when given; a 429 has Slack's
    /// `{"ok":false,"error":"ratelimited"}` body, another status an HTML page, as a proxy in
    /// front of Slack would answer. Nothing recorded.
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u32>,
    },
    /// Never answers: the client's timeout fires. Nothing recorded.
    Hang,
    /// Closes the connection without answering. Nothing recorded.
    Drop,
    /// Processes the request as usual — a valid post is recorded, with its `ts` — then closes
    /// the connection instead of answering: the post happened, the client cannot know.
    LoseAnswer,
    /// Processes the request as usual — a valid post is recorded — then answers HTTP 200
    /// `{"ok":false,"error":"<code>"}`: Slack's `fatal_error`, which "may have partly
    /// succeeded". The post happened; the client was told it failed.
    PostThenError(String),
}

impl Fault {
    /// `{"ok":false,"error":"<code>"}` with HTTP 200.
    pub fn error(code: &str) -> Self {
        Fault::Error(code.to_owned())
    }

    /// This status, without `Retry-After`.
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// This status with `Retry-After: <seconds>`.
    pub fn status_retry_after(status: u16, seconds: u32) -> Self {
        Fault::Status {
            status,
            retry_after: Some(seconds),
        }
    }
}

/// How one request was answered: the counters' key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// `ok:true`, the message recorded.
    Posted,
    /// HTTP 200 `ok:false` with this code (checked or injected).
    Error(String),
    /// HTTP 429 `ratelimited`: the channel's rate was exceeded.
    RateLimited,
    /// An injected status.
    Status(u16),
    /// An injected hang.
    Hung,
    /// An injected dropped connection.
    Dropped,
    /// An injected lost answer (the post recorded if it was valid).
    AnswerLost,
}

/// A message the stand-in accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    /// The channel id.
    pub channel: String,
    /// The `text`, if any.
    pub text: Option<String>,
    /// The `blocks`, if any.
    pub blocks: Option<Value>,
    /// The `thread_ts`, if any.
    pub thread_ts: Option<String>,
    /// The `ts` it was given (unique).
    pub ts: String,
    /// When the request arrived.
    pub at: Instant,
    /// Whether the client was not told of the post: its answer was lost
    /// ([`Fault::LoseAnswer`]) or said it failed ([`Fault::PostThenError`]).
    pub answer_lost: bool,
}

/// One request, as the stand-in saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// When it arrived.
    pub at: Instant,
    /// The `channel` of its body, when it had one.
    pub channel: Option<String>,
    /// The `text` of its body, when it had one (which message a 429 refused).
    pub text: Option<String>,
    /// How it was answered.
    pub outcome: Outcome,
}

#[derive(Debug)]
struct Shared {
    token: Mutex<String>,
    token_valid: AtomicBool,
    channels: Mutex<HashSet<String>>,
    rate: Mutex<Option<ChannelRate>>,
    /// Per channel, GCRA's theoretical arrival time of the next post.
    buckets: Mutex<HashMap<String, Instant>>,
    faults: Mutex<VecDeque<Fault>>,
    /// Faults at rates, after the queued ones (chaos runs).
    chaos: Mutex<Option<crate::chaos::Dice>>,
    posted: Mutex<Vec<Posted>>,
    requests: Mutex<Vec<Request>>,
    last_ts: Mutex<u128>,
    /// `chat.postMessage` requests being handled now.
    in_flight: crate::in_flight::InFlight,
}

/// The running stand-in; dropping it stops serving.
pub struct SlackStandIn {
    /// `http://127.0.0.1:<port>/api`: what `SLACK_API_BASE_URL` should be.
    pub base_url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl SlackStandIn {
    /// Starts with the default token, channels and rate.
    pub async fn start() -> SlackStandIn {
        Self::start_with(SlackConfig::default()).await
    }

    /// Starts with `config`, on a free loopback port.
    pub async fn start_with(config: SlackConfig) -> SlackStandIn {
        Self::start_on(0, config).await
    }

    /// Starts with `config` on `127.0.0.1:port` (0: a free port), for a stand-in that tools and
    /// people reach at a known address (`switchyard-standins`).
    pub async fn start_on(port: u16, config: SlackConfig) -> SlackStandIn {
        let shared = Arc::new(Shared {
            token: Mutex::new(config.token),
            token_valid: AtomicBool::new(true),
            channels: Mutex::new(config.channels.into_iter().collect()),
            rate: Mutex::new(config.rate),
            buckets: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            chaos: Mutex::new(None),
            posted: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            last_ts: Mutex::new(0),
            in_flight: Default::default(),
        });
        let app = Router::new()
            .route("/api/chat.postMessage", post(post_message))
            .route("/api/{method}", post(unknown_method))
            .route(
                "/_standin/faults",
                post(control_push)
                    .delete(control_clear)
                    .get(control_pending),
            )
            .route("/_standin/messages", get(control_messages))
            .route(
                "/_standin/channels/{channel}",
                put(control_add_channel).delete(control_remove_channel),
            )
            .with_state(shared.clone());
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind slack stand-in");
        let base_url = format!("http://{}/api", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<Connection>();
            let _ = axum::serve(CuttableListener(listener), service).await;
        });
        SlackStandIn {
            base_url,
            shared,
            server,
        }
    }

    /// `{base}/chat.postMessage`.
    pub fn post_message_url(&self) -> String {
        format!("{}/chat.postMessage", self.base_url)
    }

    /// Queues a fault for the next request without one.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.faults.lock().expect("lock").push_back(fault);
    }

    /// Queues faults, one per request, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.faults.lock().expect("lock").extend(faults);
    }

    /// Faults not consumed yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.lock().expect("lock").len()
    }

    /// Answers a share of posts with faults ([`crate::chaos::Dice`]) after any queued ones;
    /// `None`: no more.
    pub fn set_chaos(&self, dice: Option<crate::chaos::Dice>) {
        *self.shared.chaos.lock().expect("lock") = dice;
    }

    /// Makes the token valid or not from now on (an invalid one answers `invalid_auth`).
    pub fn set_token_valid(&self, valid: bool) {
        self.shared.token_valid.store(valid, Ordering::SeqCst);
    }

    /// Replaces the valid token (a rotation): the old one answers `invalid_auth` from now on.
    pub fn rotate_token(&self, token: &str) {
        *self.shared.token.lock().expect("lock") = token.to_owned();
        self.set_token_valid(true);
    }

    /// Makes `channel` known.
    pub fn add_channel(&self, channel: &str) {
        self.shared
            .channels
            .lock()
            .expect("lock")
            .insert(channel.to_owned());
    }

    /// Makes `channel` unknown (deleted): posts to it answer `channel_not_found`.
    pub fn remove_channel(&self, channel: &str) {
        self.shared.channels.lock().expect("lock").remove(channel);
    }

    /// The channels it knows, sorted.
    pub fn channels(&self) -> Vec<String> {
        let mut channels: Vec<_> = self
            .shared
            .channels
            .lock()
            .expect("lock")
            .iter()
            .cloned()
            .collect();
        channels.sort();
        channels
    }

    /// Changes the per-channel rate (`None`: no limit), with every channel's bucket full.
    pub fn set_rate(&self, rate: Option<ChannelRate>) {
        *self.shared.rate.lock().expect("lock") = rate;
        self.shared.buckets.lock().expect("lock").clear();
    }

    /// `chat.postMessage` calls being answered right now (a hung one counts until the client
    /// gives up).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.count()
    }

    /// The messages accepted so far, in arrival order (lost answers included).
    pub fn posted(&self) -> Vec<Posted> {
        self.shared.posted.lock().expect("lock").clone()
    }

    /// The messages accepted in `channel`, in arrival order.
    pub fn posted_in(&self, channel: &str) -> Vec<Posted> {
        self.posted()
            .into_iter()
            .filter(|p| p.channel == channel)
            .collect()
    }

    /// Every request to `chat.postMessage` so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// Requests per outcome.
    pub fn counts(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for request in self.shared.requests.lock().expect("lock").iter() {
            *counts.entry(request.outcome.clone()).or_default() += 1;
        }
        counts
    }

    /// Requests answered with `outcome`.
    pub fn count(&self, outcome: &Outcome) -> usize {
        self.counts().get(outcome).copied().unwrap_or(0)
    }
}

impl Drop for SlackStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A Slack answer: JSON, HTTP 200 unless said otherwise.
fn slack_json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn slack_error(code: &str) -> Response {
    slack_json(StatusCode::OK, json!({"ok": false, "error": code}))
}

async fn unknown_method(Path(_method): Path<String>) -> Response {
    slack_error("unknown_method")
}

/// Slack's form of a chaos fault.
fn chaos_fault(roll: crate::chaos::Roll) -> Fault {
    use crate::chaos::Roll;
    match roll {
        Roll::ServerError(status) => Fault::status(status),
        Roll::Throttled(seconds) => Fault::status_retry_after(429, seconds),
        Roll::Hang => Fault::Hang,
        Roll::Drop => Fault::Drop,
        Roll::LoseAnswer => Fault::LoseAnswer,
    }
}

// The control endpoint (`crate::control`): not Slack's, for people driving `make dev`.

async fn control_push(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let order =
        match crate::control::FaultOrder::parse(&body).and_then(|o| Ok((o.slack()?, o.count()))) {
            Ok(order) => order,
            Err(e) => {
                return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e}))).into_response();
            }
        };
    let (fault, count) = order;
    let mut faults = shared.faults.lock().expect("lock");
    faults.extend(std::iter::repeat_n(fault, count));
    axum::Json(crate::control::queued(count, faults.len())).into_response()
}

async fn control_clear(State(shared): State<Arc<Shared>>) -> Response {
    let mut faults = shared.faults.lock().expect("lock");
    let cleared = faults.len();
    faults.clear();
    axum::Json(json!({"cleared": cleared})).into_response()
}

async fn control_pending(State(shared): State<Arc<Shared>>) -> Response {
    let pending = shared.faults.lock().expect("lock").len();
    axum::Json(json!({"pending": pending})).into_response()
}

async fn control_messages(State(shared): State<Arc<Shared>>) -> Response {
    let posted = shared.posted.lock().expect("lock");
    let messages: Vec<Value> = posted
        .iter()
        .map(|p| json!({"channel": p.channel, "ts": p.ts, "text": p.text, "answer_lost": p.answer_lost}))
        .collect();
    axum::Json(Value::Array(messages)).into_response()
}

async fn control_add_channel(
    State(shared): State<Arc<Shared>>,
    Path(channel): Path<String>,
) -> Response {
    shared
        .channels
        .lock()
        .expect("lock")
        .insert(channel.clone());
    axum::Json(json!({"channel": channel, "known": true})).into_response()
}

async fn control_remove_channel(
    State(shared): State<Arc<Shared>>,
    Path(channel): Path<String>,
) -> Response {
    shared.channels.lock().expect("lock").remove(&channel);
    axum::Json(json!({"channel": channel, "known": false})).into_response()
}

async fn post_message(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _handling = shared.in_flight.enter();
    let at = Instant::now();
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let channel = (field("channel"), field("text"));
    let queued = shared.faults.lock().expect("lock").pop_front();
    let fault = queued.or_else(|| {
        let roll = shared.chaos.lock().expect("lock").as_ref()?.roll()?;
        Some(chaos_fault(roll))
    });
    let (outcome, response) = match fault {
        None => shared.answer(&headers, parsed.as_ref(), at, false),
        Some(Fault::LoseAnswer) => {
            let _ = shared.answer(&headers, parsed.as_ref(), at, true);
            connection.cut();
            (Outcome::AnswerLost, StatusCode::OK.into_response())
        }
        Some(Fault::PostThenError(code)) => {
            match shared.answer(&headers, parsed.as_ref(), at, true) {
                (Outcome::Posted, _) => (Outcome::Error(code.clone()), slack_error(&code)),
                refused => refused,
            }
        }
        Some(Fault::Drop) => {
            connection.cut();
            (Outcome::Dropped, StatusCode::OK.into_response())
        }
        Some(Fault::Hang) => {
            shared.record(at, channel, Outcome::Hung);
            return std::future::pending().await;
        }
        Some(Fault::Error(code)) => (Outcome::Error(code.clone()), slack_error(&code)),
        Some(Fault::Status {
            status,
            retry_after,
        }) => (Outcome::Status(status), status_answer(status, retry_after)),
    };
    shared.record(at, channel, outcome);
    response
}

/// An injected status: Slack's JSON for a 429, an HTML page otherwise.
fn status_answer(status: u16, retry_after: Option<u32>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = if status == StatusCode::TOO_MANY_REQUESTS {
        slack_json(status, json!({"ok": false, "error": "ratelimited"}))
    } else {
        let page = format!("<html><body><h1>{status}</h1></body></html>");
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    };
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A request's `channel` and `text`.
type Said = (Option<String>, Option<String>);

impl Shared {
    fn record(&self, at: Instant, (channel, text): Said, outcome: Outcome) {
        self.requests.lock().expect("lock").push(Request {
            at,
            channel,
            text,
            outcome,
        });
    }

    /// Checks and answers a post as Slack would, recording it when accepted.
    fn answer(
        &self,
        headers: &HeaderMap,
        body: Option<&Value>,
        at: Instant,
        answer_lost: bool,
    ) -> (Outcome, Response) {
        match self.check(headers, body, at) {
            Ok(message) => {
                let ts = self.next_ts();
                let answer = success(headers, &message, &ts);
                self.posted.lock().expect("lock").push(Posted {
                    channel: message.channel,
                    text: message.text,
                    blocks: message.blocks,
                    thread_ts: message.thread_ts,
                    ts,
                    at,
                    answer_lost,
                });
                (Outcome::Posted, answer)
            }
            Err(Rejection::RateLimited { retry_after }) => {
                let mut response = slack_json(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"ok": false, "error": "ratelimited"}),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                (Outcome::RateLimited, response)
            }
            Err(Rejection::Error(code)) => (Outcome::Error(code.to_owned()), slack_error(code)),
        }
    }

    fn check(
        &self,
        headers: &HeaderMap,
        body: Option<&Value>,
        at: Instant,
    ) -> Result<Message, Rejection> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let token = bearer.ok_or(Rejection::Error("not_authed"))?;
        let valid =
            *self.token.lock().expect("lock") == token && self.token_valid.load(Ordering::SeqCst);
        if !valid {
            return Err(Rejection::Error("invalid_auth"));
        }
        let body = body.ok_or(Rejection::Error("invalid_json"))?;
        let body = body
            .as_object()
            .ok_or(Rejection::Error("json_not_object"))?;
        let channel = body
            .get("channel")
            .and_then(Value::as_str)
            .filter(|c| self.channels.lock().expect("lock").contains(*c))
            .ok_or(Rejection::Error("channel_not_found"))?;
        let text = match body.get("text") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => return Err(Rejection::Error("invalid_arguments")),
        };
        let blocks = body.get("blocks").filter(|b| !b.is_null());
        if text.as_deref().is_none_or(str::is_empty) && blocks.is_none() {
            return Err(Rejection::Error("no_text"));
        }
        if text
            .as_deref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(Rejection::Error("msg_too_long"));
        }
        if let Some(blocks) = blocks
            && !valid_blocks(blocks)
        {
            return Err(Rejection::Error("invalid_blocks"));
        }
        self.take_permit(channel, at)?;
        Ok(Message {
            channel: channel.to_owned(),
            text,
            blocks: blocks.cloned(),
            thread_ts: body
                .get("thread_ts")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// GCRA per channel: a post at `at` goes if it is no earlier than the channel's next
    /// theoretical arrival time minus the burst's tolerance.
    fn take_permit(&self, channel: &str, at: Instant) -> Result<(), Rejection> {
        let Some(rate) = *self.rate.lock().expect("lock") else {
            return Ok(());
        };
        let tolerance = rate.interval * rate.burst.saturating_sub(1);
        let mut buckets = self.buckets.lock().expect("lock");
        let tat = buckets.get(channel).copied().unwrap_or(at).max(at);
        let earliest = tat.checked_sub(tolerance).unwrap_or(at);
        if at < earliest {
            // Slack's Retry-After is whole seconds; at least one.
            let wait = earliest - at;
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(Rejection::RateLimited {
                retry_after: u32::try_from(seconds.max(1)).unwrap_or(u32::MAX),
            });
        }
        buckets.insert(channel.to_owned(), tat + rate.interval);
        Ok(())
    }

    /// A unique `ts` shaped like Slack's (`1763700000.000100`): the time in microseconds,
    /// moved on by one when two posts share a microsecond.
    fn next_ts(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let mut last = self.last_ts.lock().expect("lock");
        *last = (*last + 1).max(now);
        format!("{}.{:06}", *last / 1_000_000, *last % 1_000_000)
    }
}

/// Why a post is not accepted.
enum Rejection {
    Error(&'static str),
    RateLimited { retry_after: u32 },
}

/// A post that passed the checks.
struct Message {
    channel: String,
    text: Option<String>,
    blocks: Option<Value>,
    thread_ts: Option<String>,
}

/// 1 to 50 objects, each with a string `type`.
fn valid_blocks(blocks: &Value) -> bool {
    blocks.as_array().is_some_and(|blocks| {
        (1..=MAX_BLOCKS).contains(&blocks.len())
            && blocks
                .iter()
                .all(|b| b.get("type").is_some_and(Value::is_string))
    })
}

/// Slack's success: the channel, the `ts`, the message as stored; `missing_charset` when the
/// JSON came without its charset.
fn success(headers: &HeaderMap, message: &Message, ts: &str) -> Response {
    let mut stored = json!({
        "type": "message",
        "subtype": "bot_message",
        "user": "U0STANDIN01",
        "bot_id": "B0STANDIN01",
        "ts": ts,
        "text": message.text.clone().unwrap_or_default(),
    });
    if let Some(blocks) = &message.blocks {
        stored["blocks"] = blocks.clone();
    }
    if let Some(thread_ts) = &message.thread_ts {
        stored["thread_ts"] = json!(thread_ts);
    }
    let mut answer = json!({
        "ok": true,
        "channel": message.channel,
        "ts": ts,
        "message": stored,
    });
    let charset = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("charset="));
    if !charset {
        answer["warning"] = json!("missing_charset");
        answer["response_metadata"] = json!({"warnings": ["missing_charset"]});
    }
    slack_json(StatusCode::OK, answer)
}
