//! The state machine: what a delivery of an event may do, given the record stored for its key
//! and the time.
//!
//! Two places decide, and they must agree: DynamoDB, atomically, through [`TAKE_CONDITION`]
//! (the condition of the lock's `UpdateItem`), and this module's [`decide`], in code, on the
//! record DynamoDB returns when it refuses the lock. The store's verdict is what makes two
//! concurrent deliveries safe; [`decide`] says *why* it refused (duplicate, mismatch, in
//! progress), and is what the unit tests pin down. Both read the same four facts of a record:
//! its status, its payload hash, when it was last written and, while in progress, when its lock
//! expires.

use std::time::Duration;

/// Where an event's record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// An invocation holds the lock and is delivering the event (or died doing so: see the
    /// lock's expiry).
    InProgress,
    /// Delivered (or skipped): redeliveries within the window are duplicates.
    Completed,
    /// The last attempt failed; the lock is free for the next one.
    Failed,
}

impl Status {
    /// The value stored in the `status` attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "INPROGRESS",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
        }
    }

    /// The status a stored `status` value names, if it names one.
    pub fn parse(value: &str) -> Option<Self> {
        [Status::InProgress, Status::Completed, Status::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A stored record's status, with the time that matters for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredState {
    /// Locked until `lock_expires_ms` (epoch ms); no expiry recorded counts as expired, so a
    /// damaged record cannot block its event for good.
    InProgress {
        /// When the lock expires (`in_progress_expiration`).
        lock_expires_ms: Option<u64>,
    },
    /// Completed at `completed_at_ms` (epoch ms).
    Completed {
        /// When the outcome was recorded (`completed_at`).
        completed_at_ms: u64,
    },
    /// The last attempt failed.
    Failed,
}

/// What the state machine reads of a stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored<'a> {
    /// Status and its time.
    pub state: StoredState,
    /// The payload hash the record was written with (`validation`).
    pub payload_hash: &'a str,
    /// When the record was last written (`updated_at`, epoch ms).
    pub updated_at_ms: u64,
    /// The invocation that last took the lock (`request_id`), if recorded.
    pub holder: Option<&'a str>,
}

/// What a delivery of the event may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The key is free: take the lock and deliver. No record, a failed attempt, an abandoned
    /// lock, or a completion older than the window.
    Take,
    /// Completed within the window with the same payload: acknowledge without delivering.
    Duplicate,
    /// The record within the window carries another payload: refuse, permanently.
    PayloadMismatch,
    /// Another invocation holds a live lock: hand the record back.
    InProgress {
        /// When that lock expires (epoch ms).
        lock_expires_ms: u64,
    },
}

/// Decides what a delivery carrying `payload_hash` may do at `now_ms` (epoch ms), given the
/// record stored for its key and the dedup `window`. See the module docs' table.
pub fn decide(
    stored: Option<&Stored<'_>>,
    payload_hash: &str,
    request_id: &str,
    now_ms: u64,
    window: Duration,
) -> Decision {
    let Some(stored) = stored else {
        return Decision::Take;
    };
    let window_start = now_ms.saturating_sub(millis(window));
    let same_payload = stored.payload_hash == payload_hash;
    // A record not written for the whole window is history: its key is free, whatever payload
    // it saw. Within the window, only the same payload may take it again.
    let free_unless_other_payload = if same_payload || stored.updated_at_ms < window_start {
        Decision::Take
    } else {
        Decision::PayloadMismatch
    };
    match stored.state {
        StoredState::Completed { completed_at_ms } if completed_at_ms < window_start => {
            Decision::Take
        }
        StoredState::Completed { .. } if same_payload => Decision::Duplicate,
        StoredState::Completed { .. } => Decision::PayloadMismatch,
        StoredState::Failed => free_unless_other_payload,
        // This invocation holds the lock already: an earlier attempt of its own at this record
        // was cut off before it could record anything, or the SDK retried this very write
        // after its answer was lost. Attempts at one key are sequential within an invocation
        // (copies in flight in the process wait for the first), so taking it again is safe;
        // refusing would leave the record waiting for its own lock until the deadline.
        StoredState::InProgress { .. } if same_payload && stored.holder == Some(request_id) => {
            Decision::Take
        }
        StoredState::InProgress {
            lock_expires_ms: Some(until),
        } if until > now_ms => {
            if same_payload {
                Decision::InProgress {
                    lock_expires_ms: until,
                }
            } else {
                Decision::PayloadMismatch
            }
        }
        StoredState::InProgress { .. } => free_unless_other_payload,
    }
}

/// [`decide`]'s [`Decision::Take`] as a DynamoDB condition, for the lock's `UpdateItem`.
///
/// Placeholders: `#id`, `#status`, `#completed_at`, `#validation`, `#updated_at`, `#lock`,
/// `#request_id` (the attribute names) and `:completed`, `:failed`, `:in_progress`, `:hash`,
/// `:request_id` (this invocation's), `:now` (epoch ms),
/// `:window_start` (`:now` minus the window, epoch ms). A comparison with a missing attribute is
/// false in DynamoDB, which is why a missing lock expiry is tested for explicitly.
pub const TAKE_CONDITION: &str = "attribute_not_exists(#id) \
    OR (#status = :completed AND #completed_at < :window_start) \
    OR (#status = :failed AND (#validation = :hash OR #updated_at < :window_start)) \
    OR (#status = :in_progress AND (attribute_not_exists(#lock) OR #lock <= :now) \
        AND (#validation = :hash OR #updated_at < :window_start)) \
    OR (#status = :in_progress AND #request_id = :request_id AND #validation = :hash)";

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;
    const WINDOW: Duration = Duration::from_secs(72 * 3600);
    const NOW: u64 = 1_800_000_000_000;

    fn stored(state: StoredState, hash: &str, updated_at_ms: u64) -> Stored<'_> {
        Stored {
            state,
            payload_hash: hash,
            updated_at_ms,
            holder: Some("req-earlier"),
        }
    }

    fn decide_at(s: &Stored<'_>, hash: &str) -> Decision {
        decide(Some(s), hash, "req-now", NOW, WINDOW)
    }

    #[test]
    fn a_key_without_a_record_is_free() {
        assert_eq!(decide(None, "h", "req-now", NOW, WINDOW), Decision::Take);
    }

    #[test]
    fn a_lock_held_by_a_live_invocation_is_not_taken() {
        let live = stored(
            StoredState::InProgress {
                lock_expires_ms: Some(NOW + 1),
            },
            "h",
            NOW - 10,
        );
        assert_eq!(
            decide_at(&live, "h"),
            Decision::InProgress {
                lock_expires_ms: NOW + 1
            }
        );
        assert_eq!(decide_at(&live, "other"), Decision::PayloadMismatch);
    }

    /// Found by the chaos run: an attempt cut off mid-call (or the SDK retrying the lock's own
    /// write after its answer was lost) left this invocation's lock in place, and every later
    /// attempt of the same invocation was refused as "another invocation is delivering" until
    /// the deadline. The invocation that holds the lock may take it again; no other may.
    #[test]
    fn the_invocation_holding_the_lock_may_take_it_again() {
        let mine = Stored {
            holder: Some("req-now"),
            ..stored(
                StoredState::InProgress {
                    lock_expires_ms: Some(NOW + HOUR),
                },
                "h",
                NOW - 10,
            )
        };
        assert_eq!(decide_at(&mine, "h"), Decision::Take);
        assert_eq!(decide_at(&mine, "other"), Decision::PayloadMismatch);
        let theirs = Stored {
            holder: Some("req-other"),
            ..mine
        };
        assert_eq!(
            decide_at(&theirs, "h"),
            Decision::InProgress {
                lock_expires_ms: NOW + HOUR
            }
        );
    }

    #[test]
    fn an_abandoned_lock_is_taken_again() {
        for expiry in [Some(NOW), Some(NOW - HOUR), None] {
            let abandoned = stored(
                StoredState::InProgress {
                    lock_expires_ms: expiry,
                },
                "h",
                NOW - HOUR,
            );
            assert_eq!(decide_at(&abandoned, "h"), Decision::Take, "{expiry:?}");
            assert_eq!(decide_at(&abandoned, "other"), Decision::PayloadMismatch);
        }
        let ancient = stored(
            StoredState::InProgress {
                lock_expires_ms: Some(NOW - 80 * HOUR),
            },
            "h",
            NOW - 80 * HOUR,
        );
        assert_eq!(decide_at(&ancient, "other"), Decision::Take, "history");
    }

    #[test]
    fn a_completion_within_the_window_is_a_duplicate() {
        let done = stored(
            StoredState::Completed {
                completed_at_ms: NOW - 71 * HOUR,
            },
            "h",
            NOW - 71 * HOUR,
        );
        assert_eq!(decide_at(&done, "h"), Decision::Duplicate);
        let edge = stored(
            StoredState::Completed {
                completed_at_ms: NOW - 72 * HOUR,
            },
            "h",
            NOW - 72 * HOUR,
        );
        assert_eq!(
            decide_at(&edge, "h"),
            Decision::Duplicate,
            "window inclusive"
        );
    }

    #[test]
    fn a_completion_past_the_window_is_a_new_delivery() {
        let old = stored(
            StoredState::Completed {
                completed_at_ms: NOW - 72 * HOUR - 1,
            },
            "h",
            NOW - 72 * HOUR - 1,
        );
        assert_eq!(decide_at(&old, "h"), Decision::Take);
        assert_eq!(decide_at(&old, "other"), Decision::Take);
    }

    #[test]
    fn another_payload_for_the_same_event_is_refused() {
        let done = stored(
            StoredState::Completed {
                completed_at_ms: NOW - HOUR,
            },
            "h",
            NOW - HOUR,
        );
        assert_eq!(decide_at(&done, "other"), Decision::PayloadMismatch);
        let failed = stored(StoredState::Failed, "h", NOW - HOUR);
        assert_eq!(decide_at(&failed, "other"), Decision::PayloadMismatch);
    }

    #[test]
    fn a_failed_attempt_allows_a_retry() {
        let failed = stored(StoredState::Failed, "h", NOW - 1);
        assert_eq!(decide_at(&failed, "h"), Decision::Take);
        let old = stored(StoredState::Failed, "h", NOW - 100 * HOUR);
        assert_eq!(decide_at(&old, "other"), Decision::Take, "history");
    }

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for s in [Status::InProgress, Status::Completed, Status::Failed] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("EXPIRED"), None);
        assert_eq!(Status::InProgress.as_str(), "INPROGRESS");
    }

    #[test]
    fn the_condition_names_every_placeholder_it_needs() {
        for placeholder in [
            "#id",
            "#status",
            "#completed_at",
            "#validation",
            "#updated_at",
            "#lock",
            ":completed",
            ":failed",
            ":in_progress",
            ":hash",
            ":now",
            ":window_start",
        ] {
            assert!(TAKE_CONDITION.contains(placeholder), "{placeholder}");
        }
    }
}
