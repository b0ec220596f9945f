//! The control endpoint (`crate::control`): not HubSpot's, for people driving `make dev`:
//! `POST/DELETE/GET /_standin/faults` and `GET /_standin/contacts`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::server::Shared;
use crate::control::{FaultOrder, queued};

pub(super) async fn push(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let order = FaultOrder::parse(&body).and_then(|o| Ok((o.hubspot()?, o.count())));
    let ((endpoint, fault), count) = match order {
        Ok(order) => order,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    };
    let mut faults = shared.faults.lock().expect("lock");
    for _ in 0..count {
        faults.push(endpoint, fault.clone());
    }
    Json(queued(count, faults.len())).into_response()
}

pub(super) async fn clear(State(shared): State<Arc<Shared>>) -> Response {
    let mut faults = shared.faults.lock().expect("lock");
    let cleared = faults.len();
    *faults = Default::default();
    Json(json!({"cleared": cleared})).into_response()
}

pub(super) async fn pending(State(shared): State<Arc<Shared>>) -> Response {
    let pending = shared.faults.lock().expect("lock").len();
    Json(json!({"pending": pending})).into_response()
}

pub(super) async fn contacts(State(shared): State<Arc<Shared>>) -> Response {
    let contacts: Vec<Value> = shared
        .contacts
        .lock()
        .expect("lock")
        .all()
        .into_iter()
        .map(|c| json!({"id": c.id, "email": c.email, "properties": c.properties, "writes": c.writes}))
        .collect();
    Json(Value::Array(contacts)).into_response()
}
