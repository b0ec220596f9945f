//! Faults: answers a test queues up in place of the stand-in's own, consumed one per request,
//! each for any endpoint or for one.

use std::collections::VecDeque;

/// The endpoints the stand-in serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /oauth/v1/token`.
    Token,
    /// `GET /crm/v3/owners/`.
    Owners,
    /// `POST /crm/v3/objects/contacts/batch/upsert`.
    Upsert,
}

/// The policy a 429 names: the ten-second burst limit or the daily quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatePolicy {
    /// `TEN_SECONDLY_ROLLING`: wait for the window to roll on.
    TenSecondlyRolling,
    /// `DAILY`: the day's quota is spent.
    Daily,
}

impl RatePolicy {
    /// The `policyName` HubSpot puts in the body.
    pub fn name(self) -> &'static str {
        match self {
            RatePolicy::TenSecondlyRolling => "TEN_SECONDLY_ROLLING",
            RatePolicy::Daily => "DAILY",
        }
    }
}

/// A fault to answer one request with, instead of processing it. Nothing is written unless
/// said otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// This status with HubSpot's JSON error body `{"status":"error","message",
    /// "correlationId","category"}`, and `Retry-After: <seconds>` when given.
    Status {
        /// The HTTP status (423 locked, 477 migration in progress, 500, 503, ...).
        status: u16,
        /// The body's `category`.
        category: String,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u32>,
    },
    /// This status with an HTML page, as Cloudflare in front of HubSpot answers a 502 or 52x.
    Html {
        /// The HTTP status.
        status: u16,
    },
    /// 429 with HubSpot's `RATE_LIMIT` body naming `policy`; `Retry-After` only when given
    /// (HubSpot documents none).
    RateLimited {
        /// The policy named.
        policy: RatePolicy,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u32>,
    },
    /// 401 `EXPIRED_AUTHENTICATION`, whatever the token.
    Expired,
    /// Never answers: the client's timeout fires (or it drops the request).
    Hang,
    /// Closes the connection without answering.
    Drop,
    /// Processes the request as usual — an upsert is written, a token issued (and a rotated
    /// refresh token replaced) — then closes the connection instead of answering.
    LoseAnswer,
}

impl Fault {
    /// This status with HubSpot's JSON body and the category HubSpot gives it (see
    /// [`category_for`]), without `Retry-After`.
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            category: category_for(status).to_owned(),
            retry_after: None,
        }
    }

    /// This status with HubSpot's JSON body and `category`.
    pub fn status_category(status: u16, category: &str) -> Self {
        Fault::Status {
            status,
            category: category.to_owned(),
            retry_after: None,
        }
    }

    /// This status with HubSpot's JSON body and `Retry-After: <seconds>`.
    pub fn status_retry_after(status: u16, seconds: u32) -> Self {
        Fault::Status {
            status,
            category: category_for(status).to_owned(),
            retry_after: Some(seconds),
        }
    }

    /// This status with an HTML page (a 502 or 52x from Cloudflare).
    pub fn html(status: u16) -> Self {
        Fault::Html { status }
    }

    /// 429 `TEN_SECONDLY_ROLLING` without `Retry-After`, as HubSpot answers.
    pub fn rate_limited() -> Self {
        Fault::RateLimited {
            policy: RatePolicy::TenSecondlyRolling,
            retry_after: None,
        }
    }

    /// 429 `TEN_SECONDLY_ROLLING` with `Retry-After: <seconds>`.
    pub fn rate_limited_retry_after(seconds: u32) -> Self {
        Fault::RateLimited {
            policy: RatePolicy::TenSecondlyRolling,
            retry_after: Some(seconds),
        }
    }

    /// 429 `DAILY`: the day's quota is spent.
    pub fn daily_limit() -> Self {
        Fault::RateLimited {
            policy: RatePolicy::Daily,
            retry_after: None,
        }
    }
}

/// The `category` of HubSpot's error body for a status. HubSpot documents the 4xx ones; the
/// categories of 423, 477 and 5xx are the stand-in's (HubSpot documents the statuses, not
/// their bodies).
pub fn category_for(status: u16) -> &'static str {
    match status {
        400 => "VALIDATION_ERROR",
        401 => "INVALID_AUTHENTICATION",
        403 => "MISSING_SCOPES",
        404 => "OBJECT_NOT_FOUND",
        409 => "CONFLICT",
        423 => "LOCKED",
        429 => "RATE_LIMITS",
        477 => "MIGRATION_IN_PROGRESS",
        500..=599 => "INTERNAL_ERROR",
        _ => "ERROR",
    }
}

/// Queued faults, each for any endpoint (`None`) or one.
#[derive(Debug, Default)]
pub(super) struct FaultQueue(VecDeque<(Option<Endpoint>, Fault)>);

impl FaultQueue {
    pub(super) fn push(&mut self, endpoint: Option<Endpoint>, fault: Fault) {
        self.0.push_back((endpoint, fault));
    }

    /// The first fault queued for `endpoint` or for any, removed from the queue.
    pub(super) fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let index = self
            .0
            .iter()
            .position(|(e, _)| e.is_none_or(|e| e == endpoint))?;
        self.0.remove(index).map(|(_, fault)| fault)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_for_one_endpoint_waits_for_it_while_others_pass() {
        let mut queue = FaultQueue::default();
        queue.push(Some(Endpoint::Upsert), Fault::status(503));
        queue.push(None, Fault::Drop);
        queue.push(Some(Endpoint::Token), Fault::Hang);
        assert_eq!(queue.take(Endpoint::Owners), Some(Fault::Drop));
        assert_eq!(queue.take(Endpoint::Owners), None);
        assert_eq!(queue.take(Endpoint::Token), Some(Fault::Hang));
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.take(Endpoint::Upsert), Some(Fault::status(503)));
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn statuses_get_hubspots_categories() {
        assert_eq!(category_for(400), "VALIDATION_ERROR");
        assert_eq!(category_for(403), "MISSING_SCOPES");
        assert_eq!(category_for(502), "INTERNAL_ERROR");
        assert_eq!(
            Fault::status_retry_after(423, 2),
            Fault::Status {
                status: 423,
                category: "LOCKED".into(),
                retry_after: Some(2)
            }
        );
    }
}
