//! What a handler says happened to a record, short of failing.
//!
//! A handler answers per record with `Result<Outcome, Error>`: an [`Outcome`] when the record is
//! done with (SQS may delete it), an [`Error`](crate::Error) whose classification decides what
//! the runner does next when it is not. The three outcomes are told apart in logs and metrics
//! because they mean different things to an operator: `delivered` made something at the
//! destination, `skipped` had nothing to do (no mapping rule wanted the event), `duplicate` was
//! already delivered by an earlier attempt (idempotency caught a redelivery).

use std::borrow::Cow;

/// A record the handler is done with: SQS deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered to the destination, with the id of what it made there when the destination
    /// returns one (Slack's message `ts`, a CRM's contact id): the delivery ledger keeps it.
    Delivered {
        /// The destination's id for what the delivery created or updated, if any.
        destination_id: Option<String>,
        /// What the delivery left out and why, when it was partial by design (a CRM owner
        /// that could not be resolved, so the field stayed unset): the ledger keeps it. Must
        /// not quote payload values.
        note: Option<Cow<'static, str>>,
    },
    /// Nothing to do for this record (e.g. no mapping rule selects its event type). Not an
    /// error and not dead-lettered: the record is acknowledged and counted `skipped`.
    Skipped {
        /// Why there was nothing to do; logged. Must not quote payload values.
        reason: Cow<'static, str>,
    },
    /// Already delivered by an earlier attempt (an at-least-once redelivery caught by
    /// idempotency): acknowledged without calling the destination, counted `deduped`.
    Duplicate,
}

impl Outcome {
    /// Delivered, with no destination id to report.
    pub const fn delivered() -> Self {
        Outcome::Delivered {
            destination_id: None,
            note: None,
        }
    }

    /// Delivered, and the destination calls what it made `id`.
    pub fn delivered_as(id: impl Into<String>) -> Self {
        Outcome::Delivered {
            destination_id: Some(id.into()),
            note: None,
        }
    }

    /// This outcome with a note on what the delivery left out (see [`Outcome::Delivered`]);
    /// other outcomes are returned unchanged.
    #[must_use]
    pub fn with_note(self, note: impl Into<Cow<'static, str>>) -> Self {
        match self {
            Outcome::Delivered { destination_id, .. } => Outcome::Delivered {
                destination_id,
                note: Some(note.into()),
            },
            other => other,
        }
    }

    /// The note of a delivery that has one.
    pub fn note(&self) -> Option<&str> {
        match self {
            Outcome::Delivered { note, .. } => note.as_deref(),
            _ => None,
        }
    }

    /// Nothing to do, for `reason`.
    pub fn skipped(reason: impl Into<Cow<'static, str>>) -> Self {
        Outcome::Skipped {
            reason: reason.into(),
        }
    }

    /// The name used in logs (`outcome=…`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Duplicate => "duplicate",
        }
    }

    /// The destination's id, for a delivery that reported one.
    pub fn destination_id(&self) -> Option<&str> {
        match self {
            Outcome::Delivered { destination_id, .. } => destination_id.as_deref(),
            _ => None,
        }
    }
}

impl From<()> for Outcome {
    /// `Ok(())` from a handler means delivered: the simplest handlers need not name outcomes.
    fn from((): ()) -> Self {
        Outcome::delivered()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_name_themselves_and_keep_the_destination_id() {
        assert_eq!(Outcome::delivered().as_str(), "delivered");
        assert_eq!(Outcome::delivered().destination_id(), None);
        let made = Outcome::delivered_as("1763700000.000100");
        assert_eq!(made.destination_id(), Some("1763700000.000100"));
        assert_eq!(Outcome::skipped("no rule").as_str(), "skipped");
        assert_eq!(Outcome::Duplicate.as_str(), "duplicate");
        assert_eq!(Outcome::Duplicate.destination_id(), None);
        assert_eq!(Outcome::from(()), Outcome::delivered());
        let noted = Outcome::delivered_as("42").with_note("owner not found for the e-mail");
        assert_eq!(noted.destination_id(), Some("42"));
        assert_eq!(noted.note(), Some("owner not found for the e-mail"));
        assert_eq!(Outcome::Duplicate.with_note("x").note(), None);
    }
}
