//! The handlers: a fault first if one is queued, then the endpoint's own checks (for the CRM
//! ones: the bearer token, then the rolling window), the request recorded, the correlation id
//! and rate-limit headers added, the latency waited out.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::answer::{self, CorrelationIds, form_pairs, pair};
use super::contacts::{ContactStore, InvalidInputs, count_inputs};
use super::fault::{Endpoint, Fault, FaultQueue, RatePolicy};
use super::oauth::Tokens;
use super::owners::{Owner, OwnerQuery};
use super::rate_limit::{Standing, Window};
use super::record::{Outcome, Request};
use crate::connection::Connection;

/// Everything the handlers share with the test's handle.
#[derive(Debug)]
pub(super) struct Shared {
    /// `http://127.0.0.1:<port>`, for `paging.next.link`.
    pub(super) base_url: String,
    pub(super) correlation_ids: CorrelationIds,
    pub(super) tokens: Mutex<Tokens>,
    pub(super) owners: Mutex<Vec<Owner>>,
    pub(super) contacts: Mutex<ContactStore>,
    pub(super) window: Mutex<Window>,
    pub(super) latency: Mutex<Duration>,
    pub(super) invalid_inputs: Mutex<InvalidInputs>,
    pub(super) faults: Mutex<FaultQueue>,
    /// Faults at rates on upserts, after the queued ones (chaos runs).
    pub(super) chaos: Mutex<Option<crate::chaos::Dice>>,
    pub(super) requests: Mutex<Vec<Request>>,
    /// Upserts being answered now.
    pub(super) upserts_in_flight: crate::in_flight::InFlight,
}

/// What a request's record says besides its outcome.
#[derive(Debug, Default)]
struct Detail {
    owner_email: Option<String>,
    inputs: Option<usize>,
}

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    body: Bytes,
) -> Response {
    let process = |shared: &Shared, at: Instant, correlation_id: &str| {
        let form = form_pairs(std::str::from_utf8(&body).unwrap_or_default());
        match shared.tokens.lock().expect("lock").exchange(&form, at) {
            Ok(grant) => (Outcome::TokenIssued, answer::json(StatusCode::OK, grant)),
            Err(refusal) => (
                Outcome::TokenRefused(refusal.status().to_owned()),
                answer::json(StatusCode::BAD_REQUEST, refusal.body(correlation_id)),
            ),
        }
    };
    serve(
        &shared,
        &connection,
        Endpoint::Token,
        Detail::default(),
        process,
    )
    .await
}

pub(super) async fn owners(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let detail = Detail {
        owner_email: pair(&form_pairs(query), "email").map(str::to_owned),
        inputs: None,
    };
    let process = |shared: &Shared, at: Instant, correlation_id: &str| {
        shared.crm(&headers, at, correlation_id, || {
            match OwnerQuery::parse(query) {
                Ok(query) => {
                    let owners = shared.owners.lock().expect("lock");
                    let page = query.page(&owners, &shared.base_url);
                    (Outcome::OwnersListed, answer::json(StatusCode::OK, page))
                }
                Err(message) => (
                    Outcome::Invalid,
                    answer::error(
                        StatusCode::BAD_REQUEST,
                        "VALIDATION_ERROR",
                        &message,
                        correlation_id,
                    ),
                ),
            }
        })
    };
    serve(&shared, &connection, Endpoint::Owners, detail, process).await
}

pub(super) async fn upsert(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _handling = shared.upserts_in_flight.enter();
    let detail = Detail {
        owner_email: None,
        inputs: count_inputs(&body),
    };
    let process = |shared: &Shared, at: Instant, correlation_id: &str| {
        shared.crm(&headers, at, correlation_id, || {
            let owners = shared.owners.lock().expect("lock").clone();
            let is_owner = |id: &str| owners.iter().any(|o| o.id == id && !o.archived);
            let mode = *shared.invalid_inputs.lock().expect("lock");
            shared
                .contacts
                .lock()
                .expect("lock")
                .upsert(&body, is_owner, mode, correlation_id)
        })
    };
    serve(&shared, &connection, Endpoint::Upsert, detail, process).await
}

/// HubSpot's form of a chaos fault.
fn chaos_fault(roll: crate::chaos::Roll) -> Fault {
    use crate::chaos::Roll;
    match roll {
        Roll::ServerError(status) => Fault::status(status),
        Roll::Throttled(seconds) => Fault::RateLimited {
            policy: RatePolicy::TenSecondlyRolling,
            retry_after: Some(seconds),
        },
        Roll::Hang => Fault::Hang,
        Roll::Drop => Fault::Drop,
        Roll::LoseAnswer => Fault::LoseAnswer,
    }
}

/// Any other path: HubSpot's 404 body; not recorded.
pub(super) async fn not_found(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let correlation_id = shared.correlation_ids.next();
    let response = answer::error(
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        &format!("No route for {}", uri.path()),
        &correlation_id,
    );
    answer::with_headers(response, &correlation_id, None)
}

/// A request's common course: a queued fault or `process`, the record, the headers, the
/// latency (CRM endpoints only).
async fn serve(
    shared: &Shared,
    connection: &Connection,
    endpoint: Endpoint,
    detail: Detail,
    process: impl FnOnce(&Shared, Instant, &str) -> (Outcome, Response),
) -> Response {
    let at = Instant::now();
    let correlation_id = shared.correlation_ids.next();
    let queued = shared.faults.lock().expect("lock").take(endpoint);
    let fault = queued.or_else(|| {
        if endpoint != Endpoint::Upsert {
            return None;
        }
        let roll = shared.chaos.lock().expect("lock").as_ref()?.roll()?;
        Some(chaos_fault(roll))
    });
    let mut cut = false;
    let (outcome, response) = match fault {
        None => process(shared, at, &correlation_id),
        Some(Fault::LoseAnswer) => {
            let _ = process(shared, at, &correlation_id);
            cut = true;
            (Outcome::AnswerLost, StatusCode::OK.into_response())
        }
        Some(Fault::Drop) => {
            cut = true;
            (Outcome::Dropped, StatusCode::OK.into_response())
        }
        Some(Fault::Hang) => {
            shared.record(at, endpoint, correlation_id, detail, Outcome::Hung);
            return std::future::pending().await;
        }
        Some(Fault::Status {
            status,
            category,
            retry_after,
        }) => {
            let code = status_code(status);
            let response = answer::error(code, &category, fault_message(code), &correlation_id);
            (
                Outcome::Status(status),
                with_retry_after(response, retry_after),
            )
        }
        Some(Fault::Html { status }) => {
            (Outcome::Status(status), answer::html(status_code(status)))
        }
        Some(Fault::RateLimited {
            policy,
            retry_after,
        }) => {
            let response = answer::rate_limited(policy, &correlation_id);
            (
                Outcome::Status(429),
                with_retry_after(response, retry_after),
            )
        }
        Some(Fault::Expired) => {
            let response = answer::error(
                StatusCode::UNAUTHORIZED,
                "EXPIRED_AUTHENTICATION",
                "The OAuth token used to make this call expired 1 second(s) ago.",
                &correlation_id,
            );
            (Outcome::Status(401), response)
        }
    };
    shared.record(at, endpoint, correlation_id.clone(), detail, outcome);
    if cut {
        connection.cut();
        return response;
    }
    if endpoint == Endpoint::Token {
        return answer::with_headers(response, &correlation_id, None);
    }
    let standing = shared.window.lock().expect("lock").peek(at);
    let response = answer::with_headers(response, &correlation_id, standing);
    let latency = *shared.latency.lock().expect("lock");
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response
}

impl Shared {
    /// A CRM call: the bearer token, then the rolling window, then `then`; the answer carries
    /// the window's standing.
    fn crm(
        &self,
        headers: &HeaderMap,
        at: Instant,
        correlation_id: &str,
        then: impl FnOnce() -> (Outcome, Response),
    ) -> (Outcome, Response) {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let checked = self.tokens.lock().expect("lock").check(authorization, at);
        if let Err(failure) = checked {
            let category = failure.category();
            let response = answer::error(
                StatusCode::UNAUTHORIZED,
                category,
                &failure.message(),
                correlation_id,
            );
            return (Outcome::Unauthorized(category.to_owned()), response);
        }
        let standing = self.window.lock().expect("lock").admit(at);
        if let Some(standing) = standing
            && standing.limited
        {
            let response = answer::rate_limited(RatePolicy::TenSecondlyRolling, correlation_id);
            return (Outcome::RateLimited, with_standing(response, standing));
        }
        let (outcome, response) = then();
        match standing {
            Some(standing) => (outcome, with_standing(response, standing)),
            None => (outcome, response),
        }
    }

    fn record(
        &self,
        at: Instant,
        endpoint: Endpoint,
        correlation_id: String,
        detail: Detail,
        outcome: Outcome,
    ) {
        self.requests.lock().expect("lock").push(Request {
            at,
            endpoint,
            correlation_id,
            owner_email: detail.owner_email,
            inputs: detail.inputs,
            outcome,
        });
    }
}

fn with_standing(mut response: Response, standing: Standing) -> Response {
    answer::insert_rate_headers(response.headers_mut(), standing);
    response
}

fn with_retry_after(mut response: Response, retry_after: Option<u32>) -> Response {
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The `message` of an injected status's body.
fn fault_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        423 => "Locked: the record is being updated by another request; try again in 2 seconds",
        477 => "Migration in progress: the account is being migrated; try again later",
        _ => status.canonical_reason().unwrap_or("An error occurred"),
    }
}
