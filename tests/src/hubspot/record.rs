//! What the stand-in remembers of each request: the counters' raw material.

use std::time::Instant;

use super::fault::Endpoint;

/// How one request was answered: the counters' key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// 200 from the token endpoint: an access token issued.
    TokenIssued,
    /// 400 from the token endpoint with this `status` (`BAD_REFRESH_TOKEN`, `BAD_CLIENT_ID`,
    /// `BAD_CLIENT_SECRET`, `BAD_GRANT_TYPE`).
    TokenRefused(String),
    /// 401 with this `category` (`EXPIRED_AUTHENTICATION`, `INVALID_AUTHENTICATION`).
    Unauthorized(String),
    /// 429 from the rolling window.
    RateLimited,
    /// 200 from the owners endpoint.
    OwnersListed,
    /// 200 from the upsert: every input written.
    Upserted,
    /// 207 from the upsert: the valid inputs written, the others in `errors`.
    PartlyUpserted,
    /// 400 `VALIDATION_ERROR`: nothing written.
    Invalid,
    /// An injected status (a [`Fault::Status`](super::Fault::Status), `Html`, `RateLimited`
    /// or `Expired`).
    Status(u16),
    /// An injected hang.
    Hung,
    /// An injected dropped connection.
    Dropped,
    /// An injected lost answer (the request processed all the same).
    AnswerLost,
}

/// One request, as the stand-in saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// When it arrived.
    pub at: Instant,
    /// Where it went.
    pub endpoint: Endpoint,
    /// The `X-HubSpot-Correlation-Id` it was answered with.
    pub correlation_id: String,
    /// The `email` an owners query filtered on, if any.
    pub owner_email: Option<String>,
    /// The number of `inputs` of an upsert whose body had an `inputs` array.
    pub inputs: Option<usize>,
    /// How it was answered.
    pub outcome: Outcome,
}
