//! How old a signed timestamp may be: parsing it, and checking it against now.
//!
//! A signed timestamp is what stops a captured request from being replayed later. Schemes differ
//! in what they bound — Stripe only the age, Slack and Standard Webhooks both directions, GitHub
//! and Shopify sign no timestamp at all — so each scheme states its [`Freshness`] and the shared
//! verification applies it.

use std::time::Duration;

use super::VerifyError;

/// The default timestamp tolerance of every scheme that has one: five minutes, as in the
/// providers' SDKs and the Standard Webhooks reference libraries.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// How a scheme bounds its signed timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// The scheme signs no timestamp: replays are caught by deduplicating on the delivery id.
    Unsigned,
    /// At most the tolerance old; a timestamp ahead of now is accepted, as Stripe's SDKs do, so a
    /// sender whose clock runs fast does not lose events.
    MaxAge,
    /// Within the tolerance of now in either direction.
    Window,
}

impl Freshness {
    /// The tolerance a verifier applies unless told otherwise; `None` for a scheme without a
    /// timestamp.
    pub(crate) fn default_tolerance(self) -> Option<Duration> {
        match self {
            Freshness::Unsigned => None,
            Freshness::MaxAge | Freshness::Window => Some(DEFAULT_TOLERANCE),
        }
    }

    /// Checks a signed `timestamp` against `now` with `tolerance`, the way this scheme bounds it.
    pub(crate) fn check(
        self,
        timestamp: i64,
        now: i64,
        tolerance: Duration,
    ) -> Result<(), VerifyError> {
        match self {
            Freshness::Unsigned => Ok(()),
            Freshness::MaxAge => check_timestamp(timestamp, now, tolerance, None),
            Freshness::Window => check_timestamp(timestamp, now, tolerance, Some(tolerance)),
        }
    }
}

/// Parses a signed timestamp: unix seconds, ASCII digits only (no sign, no fraction).
pub(crate) fn parse_timestamp(text: &str, header: &'static str) -> Result<i64, VerifyError> {
    let malformed = VerifyError::MalformedHeader {
        header,
        reason: "timestamp is not unix seconds",
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    text.parse().map_err(|_| malformed)
}

/// Checks `timestamp` against `now`: at most `past` seconds old and, if `future` is given, at most
/// that far ahead. The edges are inclusive: exactly the tolerance is accepted.
fn check_timestamp(
    timestamp: i64,
    now: i64,
    past: Duration,
    future: Option<Duration>,
) -> Result<(), VerifyError> {
    let age = i128::from(now) - i128::from(timestamp);
    let too_old = age > i128::from(past.as_secs());
    let too_new = future.is_some_and(|f| -age > i128::from(f.as_secs()));
    if too_old || too_new {
        let tolerance = if too_old {
            past
        } else {
            future.unwrap_or(past)
        };
        return Err(VerifyError::TimestampOutOfTolerance {
            timestamp,
            now,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_edges_are_inclusive() {
        let t = DEFAULT_TOLERANCE;
        assert!(check_timestamp(1000, 1300, t, Some(t)).is_ok());
        assert!(check_timestamp(1000, 1301, t, Some(t)).is_err());
        assert!(check_timestamp(1300, 1000, t, Some(t)).is_ok());
        assert!(check_timestamp(1301, 1000, t, Some(t)).is_err());
        // No future bound: anything ahead is fine.
        assert!(check_timestamp(i64::MAX, i64::MIN, t, None).is_ok());
        assert!(check_timestamp(0, i64::MAX, t, None).is_err());
    }

    #[test]
    fn timestamps_must_be_plain_digits() {
        assert_eq!(parse_timestamp("1614265330", "h"), Ok(1_614_265_330));
        for bad in ["", "-5", "+5", "1.5", "12a", "99999999999999999999"] {
            assert!(parse_timestamp(bad, "h").is_err(), "{bad}");
        }
    }

    #[test]
    fn each_freshness_bounds_what_it_says() {
        let t = Duration::from_secs(10);
        // Max age: the past is bounded, the future is not.
        assert!(Freshness::MaxAge.check(100, 110, t).is_ok());
        assert!(Freshness::MaxAge.check(100, 111, t).is_err());
        assert!(Freshness::MaxAge.check(1_000, 0, t).is_ok());
        // Window: both directions, the custom tolerance reported.
        assert!(Freshness::Window.check(111, 100, t).is_err());
        assert_eq!(
            Freshness::Window.check(100, 111, t),
            Err(VerifyError::TimestampOutOfTolerance {
                timestamp: 100,
                now: 111,
                tolerance_secs: 10
            })
        );
        // Unsigned: nothing to bound.
        assert!(Freshness::Unsigned.check(0, i64::MAX, t).is_ok());
        assert_eq!(Freshness::Unsigned.default_tolerance(), None);
        assert_eq!(
            Freshness::Window.default_tolerance(),
            Some(DEFAULT_TOLERANCE)
        );
    }
}

/// Property tests: any timestamp text, any distance between the timestamp and now.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::fuzz_config())]

        /// A timestamp parses exactly when it is ASCII digits that fit an `i64`.
        #[test]
        fn timestamps_parse_only_as_plain_digits(text in "[+ -]?[0-9]{0,22}|\\PC{0,12}") {
            let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            match parse_timestamp(&text, "h") {
                Ok(t) => {
                    prop_assert!(plain);
                    prop_assert_eq!(text.parse::<i64>(), Ok(t));
                }
                Err(_) => prop_assert!(!plain || text.parse::<i64>().is_err()),
            }
        }

        /// Every freshness answers for any timestamp, now and tolerance (no overflow), as the
        /// arithmetic in 128 bits says.
        #[test]
        fn checks_never_overflow(timestamp in any::<i64>(), now in any::<i64>(), tolerance in any::<u64>()) {
            let age = i128::from(now) - i128::from(timestamp);
            let tol = i128::from(tolerance);
            let tolerance = Duration::from_secs(tolerance);
            prop_assert!(Freshness::Unsigned.check(timestamp, now, tolerance).is_ok());
            prop_assert_eq!(Freshness::MaxAge.check(timestamp, now, tolerance).is_ok(), age <= tol);
            prop_assert_eq!(
                Freshness::Window.check(timestamp, now, tolerance).is_ok(),
                age.abs() <= tol
            );
        }
    }
}
