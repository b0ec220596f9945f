//! A HubSpot CRM API stand-in: the OAuth token endpoint, the owners list and the contacts
//! batch upsert, answered the way HubSpot answers them, on a free loopback port, with faults on
//! demand. For the tests and benchmarks of the `hubspot-contacts` deliverer.
//!
//! What it answers (developers.hubspot.com `api-reference/error-handling`, the OAuth tokens
//! and owners guides, `crm-contacts-v3` batch upsert, `usage-guidelines`; see
//! `shared/design/destinations.md`):
//!
//! | request | answer |
//! |---|---|
//! | `POST /oauth/v1/token`, form `grant_type=refresh_token&client_id&client_secret&refresh_token` | 200 `{"token_type":"bearer","access_token","refresh_token","expires_in":1800}`, a new access token each time |
//! | … `grant_type` other than `refresh_token` | 400 `BAD_GRANT_TYPE` / `unsupported_grant_type` |
//! | … another client id / secret | 400 `BAD_CLIENT_ID` / `BAD_CLIENT_SECRET`, `invalid_client` |
//! | … another refresh token (or one revoked, or replaced by a rotation) | 400 `BAD_REFRESH_TOKEN`, `invalid_grant` |
//! | a CRM call without `Authorization: Bearer`, or with a token never issued | 401 `INVALID_AUTHENTICATION` |
//! | … with an issued access token past `expires_in` (or [`HubSpotStandIn::expire_tokens`]) | 401 `EXPIRED_AUTHENTICATION` |
//! | … beyond the rolling window (default 100 / 10 s) | 429 `RATE_LIMIT`, `policyName` `TEN_SECONDLY_ROLLING`, no `Retry-After` |
//! | `GET /crm/v3/owners/?email&limit&after&archived` (slash optional) | 200 `{"results":[owner…],"paging":{"next":{"after","link"}}}`, `paging` only when more follow |
//! | … `limit` outside 1–500, a malformed `after` or `archived` | 400 `VALIDATION_ERROR` |
//! | `POST /crm/v3/objects/contacts/batch/upsert` all valid | 200 `{"status":"COMPLETE","results":[{id,properties,createdAt,updatedAt,archived,new}]}` |
//! | … some inputs with a bad e-mail `id` or an unknown `hubspot_owner_id` | **207**, the others written, `numErrors` and an `errors` entry per bad input (`VALIDATION_ERROR`, `Property values were not valid: …INVALID_EMAIL…`, `context.ids`) — or 400 naming them, nothing written, with [`InvalidInputs::WholeBatch`] |
//! | … unreadable JSON, over 100 inputs, an input without `id` or `properties`, `idProperty` not `email`, a property neither string nor null, one e-mail twice | 400 `VALIDATION_ERROR`, nothing written |
//! | any other path | 404 `OBJECT_NOT_FOUND` (not recorded) |
//!
//! Every answer carries `X-HubSpot-Correlation-Id` (the body's `correlationId` too, when it
//! has one); every CRM answer carries `X-HubSpot-RateLimit-Max`, `-Remaining` and
//! `-Interval-Milliseconds` while a window is set. A configurable latency is added to every
//! CRM answer, after the request is processed (a batch is written at once, its answer waits),
//! but not to the token endpoint's answers nor to a dropped connection.
//!
//! Contacts are kept by e-mail (case-insensitive, stored lower-cased): a second upsert of one
//! e-mail updates the same record (`new:false`), a `null` property clears it. Tests read what
//! HubSpot would hold ([`HubSpotStandIn::contact`]), how often each contact was written, and
//! every request's endpoint, outcome, owner e-mail and batch size.
//!
//! Liberties, each on the side that makes a deliverer's handling testable:
//! - the window counts every authenticated CRM request, valid or not, but not a refused one,
//!   nor a faulted one, nor a token call (HubSpot's order and the OAuth endpoint's own limits
//!   are not documented); one window for the app, whichever token is used; no daily quota
//!   (a [`Fault::daily_limit`] stands in for it), no `-Daily` headers;
//! - HubSpot may answer 207 or a whole-batch 400 for invalid inputs (unconfirmed): both are
//!   here, 207 by default; e-mails are checked by syntax only;
//! - a rotated refresh token replaces the old one at once (HubSpot's v1 tokens do not rotate;
//!   the switch is for deliverers that must keep the newest one);
//! - the categories of 423, 477 and 5xx bodies are the stand-in's own;
//! - `idProperty` must be `email`: contacts are upserted by e-mail only.
//!
//! Faults ([`Fault`]) are queued and consumed one per request, before anything else is looked
//! at, each for any endpoint or one ([`HubSpotStandIn::push_fault_for`]): a status with
//! HubSpot's JSON body, an HTML page (Cloudflare), a 429 with or without `Retry-After`, a 401
//! expired, a hang, a dropped connection, and a lost answer — the batch written (the token
//! issued), the answer never sent ([`Fault::LoseAnswer`]).
//!
//! Built on axum (already the harness's server) like the Slack stand-in, with the same
//! connection-cutting listener; no new crate but `time` (already the kit's) for HubSpot's
//! timestamps.

mod answer;
mod contacts;
mod control;
mod fault;
mod oauth;
mod owners;
mod rate_limit;
mod record;
mod server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use answer::{
    APP_ID, CORRELATION_ID, RATE_LIMIT_INTERVAL, RATE_LIMIT_MAX, RATE_LIMIT_REMAINING,
};
pub use contacts::{Contact, InvalidInputs, MAX_BATCH_INPUTS};
pub use fault::{Endpoint, Fault, RatePolicy, category_for};
pub use oauth::{CLIENT_ID, CLIENT_SECRET, DEFAULT_EXPIRES_IN, PRIVATE_APP_TOKEN, REFRESH_TOKEN};
pub use owners::{DEFAULT_OWNER_LIMIT, MAX_OWNER_LIMIT, Owner, default_owners};
pub use rate_limit::RollingWindow;
pub use record::{Outcome, Request};

use crate::connection::{Connection, CuttableListener};
use answer::CorrelationIds;
use contacts::ContactStore;
use fault::FaultQueue;
use oauth::Tokens;
use rate_limit::Window;
use server::Shared;

/// How the stand-in starts.
#[derive(Debug, Clone)]
pub struct HubSpotConfig {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
    /// The refresh token accepted at first.
    pub refresh_token: String,
    /// A private-app token accepted on CRM calls (never expires); `None`: OAuth tokens only.
    pub private_app_token: Option<String>,
    /// The lifetime of an issued access token, in seconds (`expires_in`).
    pub expires_in: u64,
    /// Whether each refresh answers a new refresh token, which replaces the old one.
    pub rotate_refresh_token: bool,
    /// The portal's owners.
    pub owners: Vec<Owner>,
    /// The app's rolling window; `None`: no limit.
    pub rate: Option<RollingWindow>,
    /// Added to every CRM answer.
    pub latency: Duration,
    /// How a batch with invalid inputs is answered.
    pub invalid_inputs: InvalidInputs,
}

impl Default for HubSpotConfig {
    fn default() -> Self {
        Self {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            refresh_token: REFRESH_TOKEN.to_owned(),
            private_app_token: Some(PRIVATE_APP_TOKEN.to_owned()),
            expires_in: DEFAULT_EXPIRES_IN,
            rotate_refresh_token: false,
            owners: default_owners(),
            rate: Some(RollingWindow::default()),
            latency: Duration::ZERO,
            invalid_inputs: InvalidInputs::default(),
        }
    }
}

/// The running stand-in; dropping it stops serving.
pub struct HubSpotStandIn {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl HubSpotStandIn {
    /// Starts with the default credentials, owners and window.
    pub async fn start() -> HubSpotStandIn {
        Self::start_with(HubSpotConfig::default()).await
    }

    /// Starts with `config`, on a free loopback port.
    pub async fn start_with(config: HubSpotConfig) -> HubSpotStandIn {
        Self::start_on(0, config).await
    }

    /// Starts with `config` on `127.0.0.1:port` (0: a free port), for a stand-in that tools and
    /// people reach at a known address (`switchyard-standins`).
    pub async fn start_on(port: u16, config: HubSpotConfig) -> HubSpotStandIn {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind hubspot stand-in");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let mut tokens = Tokens::new(
            config.client_id,
            config.client_secret,
            config.refresh_token,
            config.private_app_token,
        );
        tokens.expires_in = config.expires_in;
        tokens.rotate_refresh_token = config.rotate_refresh_token;
        let shared = Arc::new(Shared {
            base_url,
            correlation_ids: CorrelationIds::new(),
            tokens: Mutex::new(tokens),
            owners: Mutex::new(config.owners),
            contacts: Mutex::new(ContactStore::default()),
            window: Mutex::new(Window::new(config.rate)),
            latency: Mutex::new(config.latency),
            invalid_inputs: Mutex::new(config.invalid_inputs),
            faults: Mutex::new(FaultQueue::default()),
            chaos: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            upserts_in_flight: Default::default(),
        });
        let app = Router::new()
            .route("/oauth/v1/token", post(server::token))
            .route("/crm/v3/owners", get(server::owners))
            .route("/crm/v3/owners/", get(server::owners))
            .route(
                "/crm/v3/objects/contacts/batch/upsert",
                post(server::upsert),
            )
            .route(
                "/_standin/faults",
                post(control::push)
                    .delete(control::clear)
                    .get(control::pending),
            )
            .route("/_standin/contacts", get(control::contacts))
            .fallback(server::not_found)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<Connection>();
            let _ = axum::serve(CuttableListener(listener), service).await;
        });
        HubSpotStandIn { shared, server }
    }

    /// `http://127.0.0.1:<port>`: what the deliverer's HubSpot base URL (for both the token
    /// and the CRM calls, as `https://api.hubapi.com`) should be.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// `{base}/oauth/v1/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/v1/token", self.base_url())
    }

    /// `{base}/crm/v3/owners/`.
    pub fn owners_url(&self) -> String {
        format!("{}/crm/v3/owners/", self.base_url())
    }

    /// `{base}/crm/v3/objects/contacts/batch/upsert`.
    pub fn upsert_url(&self) -> String {
        format!("{}/crm/v3/objects/contacts/batch/upsert", self.base_url())
    }

    /// Queues a fault for the next request, whichever its endpoint.
    pub fn push_fault(&self, fault: Fault) {
        self.faults().push(None, fault);
    }

    /// Queues a fault for the next request to `endpoint`; requests elsewhere pass it by.
    pub fn push_fault_for(&self, endpoint: Endpoint, fault: Fault) {
        self.faults().push(Some(endpoint), fault);
    }

    /// Queues faults for any endpoint, one per request, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut queue = self.faults();
        for fault in faults {
            queue.push(None, fault);
        }
    }

    /// Answers a share of upserts with faults ([`crate::chaos::Dice`]) after any queued ones;
    /// `None`: no more.
    pub fn set_chaos(&self, dice: Option<crate::chaos::Dice>) {
        *self.shared.chaos.lock().expect("lock") = dice;
    }

    /// Faults not consumed yet.
    pub fn pending_faults(&self) -> usize {
        self.faults().len()
    }

    /// Every access token issued so far expires now (tokens issued later are valid).
    pub fn expire_tokens(&self) {
        self.tokens().expire_all(std::time::Instant::now());
    }

    /// The lifetime of access tokens issued from now on, in seconds.
    pub fn set_expires_in(&self, seconds: u64) {
        self.tokens().expires_in = seconds;
    }

    /// Whether each refresh from now on answers a new refresh token that replaces the old.
    pub fn set_rotate_refresh_token(&self, rotate: bool) {
        self.tokens().rotate_refresh_token = rotate;
    }

    /// The refresh token accepted now (`None` once revoked).
    pub fn refresh_token(&self) -> Option<String> {
        self.tokens().refresh_token().map(str::to_owned)
    }

    /// Revokes the refresh token (the app was uninstalled): every refresh answers
    /// `BAD_REFRESH_TOKEN`. Access tokens already issued stay valid until they expire.
    pub fn revoke_refresh_token(&self) {
        self.tokens().set_refresh_token(None);
    }

    /// Access tokens issued so far.
    pub fn access_tokens_issued(&self) -> usize {
        self.tokens().issued()
    }

    /// Replaces the portal's owners.
    pub fn set_owners(&self, owners: Vec<Owner>) {
        *self.shared.owners.lock().expect("lock") = owners;
    }

    /// Adds an owner.
    pub fn add_owner(&self, owner: Owner) {
        self.shared.owners.lock().expect("lock").push(owner);
    }

    /// The portal's owners.
    pub fn owners(&self) -> Vec<Owner> {
        self.shared.owners.lock().expect("lock").clone()
    }

    /// Changes the rolling window (`None`: no limit), empty from now on.
    pub fn set_rate(&self, rate: Option<RollingWindow>) {
        self.shared.window.lock().expect("lock").set(rate);
    }

    /// Changes the latency added to every CRM answer.
    pub fn set_latency(&self, latency: Duration) {
        *self.shared.latency.lock().expect("lock") = latency;
    }

    /// Changes how a batch with invalid inputs is answered.
    pub fn set_invalid_inputs(&self, mode: InvalidInputs) {
        *self.shared.invalid_inputs.lock().expect("lock") = mode;
    }

    /// The contact HubSpot holds for `email` (any case).
    pub fn contact(&self, email: &str) -> Option<Contact> {
        self.shared
            .contacts
            .lock()
            .expect("lock")
            .get(email)
            .cloned()
    }

    /// Every contact, in the order they were created.
    pub fn contacts(&self) -> Vec<Contact> {
        self.shared.contacts.lock().expect("lock").all()
    }

    /// Every request so far (not those to unknown paths), in arrival order.
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

    /// Requests to the token endpoint, however answered.
    pub fn token_calls(&self) -> usize {
        self.calls_to(Endpoint::Token).len()
    }

    /// Requests to the owners endpoint filtering on `email` (any case), however answered.
    pub fn owner_calls(&self, email: &str) -> usize {
        self.calls_to(Endpoint::Owners)
            .iter()
            .filter(|r| {
                r.owner_email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .count()
    }

    /// Upsert calls being answered right now (a hung one counts until the client gives up).
    pub fn upserts_in_flight(&self) -> usize {
        self.shared.upserts_in_flight.count()
    }

    /// Requests to the upsert endpoint, however answered.
    pub fn upsert_calls(&self) -> usize {
        self.calls_to(Endpoint::Upsert).len()
    }

    /// The number of inputs of each upsert request, in arrival order (0 for a body without
    /// an `inputs` array).
    pub fn upsert_batch_sizes(&self) -> Vec<usize> {
        self.calls_to(Endpoint::Upsert)
            .iter()
            .map(|r| r.inputs.unwrap_or(0))
            .collect()
    }

    fn calls_to(&self, endpoint: Endpoint) -> Vec<Request> {
        self.shared
            .requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .cloned()
            .collect()
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, FaultQueue> {
        self.shared.faults.lock().expect("lock")
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.shared.tokens.lock().expect("lock")
    }
}

impl Drop for HubSpotStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}
