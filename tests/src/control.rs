//! The stand-ins' control endpoint: failures injected by hand, over HTTP, while `make dev`
//! runs — the same faults the tests queue through the Rust API ([`crate::slack::Fault`],
//! [`crate::hubspot::Fault`]).
//!
//! `POST {stand-in}/_standin/faults` with a JSON order queues `count` (default 1) faults, one per
//! request to come; `DELETE /_standin/faults` clears them; `GET /_standin/faults` says how many
//! are pending. An order:
//!
//! | `fault` | other fields | the next request(s) get |
//! |---|---|---|
//! | `status` | `status` (100–599), `retry_after` (seconds), HubSpot: `category` | that status (Slack: 429 `ratelimited` or an HTML page; HubSpot: its error JSON) |
//! | `error` (Slack) | `error`: a Slack error code | 200 `{"ok":false,"error":…}` |
//! | `rate_limited` (HubSpot) | `retry_after`, `daily` (bool) | 429 `RATE_LIMIT` |
//! | `hang`, `drop`, `lose_answer` | | no answer / a closed connection / done but the answer lost |
//!
//! HubSpot orders may name an `endpoint` (`token`, `owners`, `upsert`); other requests pass it
//! by. A malformed order is answered 400 with what is wrong, and queues nothing.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{hubspot, slack};

/// The most faults one order may queue.
pub const MAX_COUNT: usize = 1000;

/// One order, as posted.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FaultOrder {
    /// The kind of fault.
    pub fault: String,
    /// `status`: the HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` in seconds.
    #[serde(default)]
    pub retry_after: Option<u32>,
    /// Slack `error`: the error code.
    #[serde(default)]
    pub error: Option<String>,
    /// HubSpot `status`: the error category.
    #[serde(default)]
    pub category: Option<String>,
    /// HubSpot `rate_limited`: the daily limit rather than the ten-second one.
    #[serde(default)]
    pub daily: bool,
    /// HubSpot: the one endpoint the faults are for.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// How many requests get it (default 1).
    #[serde(default)]
    pub count: Option<usize>,
}

impl FaultOrder {
    /// Reads an order from a request body.
    pub fn parse(body: &[u8]) -> Result<FaultOrder, String> {
        let order: FaultOrder =
            serde_json::from_slice(body).map_err(|e| format!("not a fault order: {e}"))?;
        match order.count {
            Some(0) => return Err("count must be at least 1".into()),
            Some(n) if n > MAX_COUNT => return Err(format!("count must be at most {MAX_COUNT}")),
            _ => {}
        }
        if let Some(status) = order.status
            && !(100..=599).contains(&status)
        {
            return Err(format!("status {status} is not an HTTP status"));
        }
        Ok(order)
    }

    /// How many requests get the fault.
    pub fn count(&self) -> usize {
        self.count.unwrap_or(1)
    }

    fn status(&self) -> Result<u16, String> {
        self.status
            .ok_or_else(|| format!("fault `{}` needs `status`", self.fault))
    }

    /// The Slack fault this order asks for.
    pub fn slack(&self) -> Result<slack::Fault, String> {
        self.only_for("Slack", &["category", "endpoint"])?;
        Ok(match self.fault.as_str() {
            "status" => slack::Fault::Status {
                status: self.status()?,
                retry_after: self.retry_after,
            },
            "error" => slack::Fault::Error(
                self.error
                    .clone()
                    .filter(|e| !e.is_empty())
                    .ok_or("fault `error` needs `error`: a Slack error code")?,
            ),
            "hang" => slack::Fault::Hang,
            "drop" => slack::Fault::Drop,
            "lose_answer" => slack::Fault::LoseAnswer,
            other => {
                return Err(format!(
                    "unknown Slack fault `{other}` (status, error, hang, drop, lose_answer)"
                ));
            }
        })
    }

    /// The HubSpot fault this order asks for, and the endpoint it is for (`None`: any).
    pub fn hubspot(&self) -> Result<(Option<hubspot::Endpoint>, hubspot::Fault), String> {
        self.only_for("HubSpot", &["error"])?;
        let endpoint = match self.endpoint.as_deref() {
            None => None,
            Some("token") => Some(hubspot::Endpoint::Token),
            Some("owners") => Some(hubspot::Endpoint::Owners),
            Some("upsert") => Some(hubspot::Endpoint::Upsert),
            Some(other) => {
                return Err(format!(
                    "unknown endpoint `{other}` (token, owners, upsert)"
                ));
            }
        };
        let fault = match self.fault.as_str() {
            "status" => {
                let status = self.status()?;
                hubspot::Fault::Status {
                    status,
                    category: self
                        .category
                        .clone()
                        .unwrap_or_else(|| hubspot::category_for(status).to_owned()),
                    retry_after: self.retry_after,
                }
            }
            "rate_limited" => hubspot::Fault::RateLimited {
                policy: if self.daily {
                    hubspot::RatePolicy::Daily
                } else {
                    hubspot::RatePolicy::TenSecondlyRolling
                },
                retry_after: self.retry_after,
            },
            "hang" => hubspot::Fault::Hang,
            "drop" => hubspot::Fault::Drop,
            "lose_answer" => hubspot::Fault::LoseAnswer,
            other => {
                return Err(format!(
                    "unknown HubSpot fault `{other}` (status, rate_limited, hang, drop, lose_answer)"
                ));
            }
        };
        Ok((endpoint, fault))
    }

    /// Refuses fields the other stand-in's faults use, rather than ignoring them.
    fn only_for(&self, who: &str, foreign: &[&str]) -> Result<(), String> {
        let set = |name: &str| match name {
            "category" => self.category.is_some(),
            "endpoint" => self.endpoint.is_some(),
            "error" => self.error.is_some(),
            _ => false,
        };
        match foreign.iter().find(|f| set(f)) {
            Some(field) => Err(format!("`{field}` is not a {who} fault field")),
            None => Ok(()),
        }
    }
}

/// The answer to an accepted order.
pub fn queued(count: usize, pending: usize) -> Value {
    json!({"queued": count, "pending": pending})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_become_the_stand_ins_faults() {
        let order =
            FaultOrder::parse(br#"{"fault":"status","status":429,"retry_after":5,"count":3}"#)
                .unwrap();
        assert_eq!(order.count(), 3);
        assert_eq!(
            order.slack().unwrap(),
            slack::Fault::status_retry_after(429, 5)
        );
        assert_eq!(
            order.hubspot().unwrap(),
            (None, hubspot::Fault::status_retry_after(429, 5))
        );
        let order = FaultOrder::parse(br#"{"fault":"error","error":"channel_not_found"}"#).unwrap();
        assert_eq!(
            order.slack().unwrap(),
            slack::Fault::error("channel_not_found")
        );
        let order =
            FaultOrder::parse(br#"{"fault":"rate_limited","daily":true,"endpoint":"upsert"}"#)
                .unwrap();
        assert_eq!(
            order.hubspot().unwrap(),
            (
                Some(hubspot::Endpoint::Upsert),
                hubspot::Fault::daily_limit()
            )
        );
        for (kind, fault) in [
            ("hang", slack::Fault::Hang),
            ("drop", slack::Fault::Drop),
            ("lose_answer", slack::Fault::LoseAnswer),
        ] {
            let order = FaultOrder::parse(format!(r#"{{"fault":"{kind}"}}"#).as_bytes()).unwrap();
            assert_eq!(order.slack().unwrap(), fault);
        }
    }

    #[test]
    fn bad_orders_say_what_is_wrong() {
        let bad = |body: &str| {
            FaultOrder::parse(body.as_bytes())
                .and_then(|o| o.slack().map(|_| ()))
                .unwrap_err()
        };
        assert!(bad("nope").contains("not a fault order"));
        assert!(bad(r#"{"fault":"status"}"#).contains("needs `status`"));
        assert!(bad(r#"{"fault":"status","status":42}"#).contains("not an HTTP status"));
        assert!(bad(r#"{"fault":"error"}"#).contains("needs `error`"));
        assert!(bad(r#"{"fault":"hang","count":0}"#).contains("at least 1"));
        assert!(bad(r#"{"fault":"hang","count":100000}"#).contains("at most"));
        assert!(bad(r#"{"fault":"explode"}"#).contains("unknown Slack fault"));
        assert!(bad(r#"{"fault":"hang","colour":"red"}"#).contains("unknown field"));
        assert!(bad(r#"{"fault":"hang","endpoint":"upsert"}"#).contains("not a Slack fault field"));
        let hubspot = |body: &str| {
            FaultOrder::parse(body.as_bytes())
                .unwrap()
                .hubspot()
                .unwrap_err()
        };
        assert!(hubspot(r#"{"fault":"error","error":"x"}"#).contains("not a HubSpot fault field"));
        assert!(hubspot(r#"{"fault":"hang","endpoint":"deals"}"#).contains("unknown endpoint"));
        assert!(hubspot(r#"{"fault":"explode"}"#).contains("unknown HubSpot fault"));
    }
}
