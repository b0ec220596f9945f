//! [`RateLimit`]: how many calls per period, with what burst, read from a function's
//! environment (`RATE_LIMIT="1/s burst 3"`).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::Quota;

/// A rate: `count` calls per `per`, evenly spaced, with up to `burst` calls at once after a
/// quiet spell.
///
/// The limiter spaces calls one [`interval`](Self::interval) (`per / count`) apart and lets
/// `burst` of them through back to back when the destination has been left alone for
/// `burst × interval` (GCRA, the continuous form of a token bucket of `burst` tokens refilled
/// one per interval).
///
/// **The burst defaults to 1**: `"100/10s"` means one call every 100 ms, never more than the
/// rate in any window. A larger burst opts into more: with `"100/10s burst 100"`, 100 calls can
/// go at once and then one per 100 ms, i.e. up to 199 in some 10-second windows, which a
/// rolling-window limit like HubSpot's "100 per 10 s" would answer with 429s. (governor's own
/// `Quota::per_second(n)` sets the burst to `n`; the safer reading is the one an operator
/// writing "100 per 10 s" expects.)
///
/// With burst 1 every call waits a whole interval after the previous one *went*, so a wake-up
/// that comes late (tokio's timer has millisecond resolution) is lost each time: a backlog runs
/// about a millisecond per call slower than the rate — a tenth of a percent at 1/s, a few
/// percent at 20/s (`make bench`, `rate_limit`). A burst of 2 or more absorbs it.
///
/// # Text form
///
/// `<count>/<period>`, then optionally `burst <n>`, separated by spaces:
///
/// | text | meaning |
/// |---|---|
/// | `1/s` | one call per second, no burst (`s`, `m`/`min`, `h`, `ms` alone mean one of them) |
/// | `1/s burst 3` | one per second, three at once after three quiet seconds (Slack's `chat.postMessage` per channel) |
/// | `100/10s` | one every 100 ms (any [`humantime`] duration: `10s`, `1m`, `500ms`, `1h 30m`) |
///
/// A burst rides in the same string, rather than in a second variable, so that one
/// environment variable says the whole rate and cannot be half-changed.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use switchyard::http::RateLimit;
///
/// let slack: RateLimit = "1/s burst 3".parse()?;
/// assert_eq!(slack.interval(), Duration::from_secs(1));
/// assert_eq!(slack.burst().get(), 3);
/// assert_eq!(slack.to_string(), "1/1s burst 3");
///
/// let hubspot = RateLimit::from_lookup("RATE_LIMIT", |_| Some("100/10s".into()))?;
/// assert_eq!(hubspot.map(|l| l.interval()), Some(Duration::from_millis(100)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    count: NonZeroU32,
    per: Duration,
    quota: Quota,
}

impl RateLimit {
    /// `count` calls per `per`, burst 1; `None` when `per` is zero or the calls would be less
    /// than a nanosecond apart.
    pub fn new(count: NonZeroU32, per: Duration) -> Option<Self> {
        let interval = per.checked_div(count.get())?;
        let quota = Quota::with_period(interval)?.allow_burst(NonZeroU32::MIN);
        Some(Self { count, per, quota })
    }

    /// `count` calls per second, burst 1.
    pub const fn per_second(count: NonZeroU32) -> Self {
        Self {
            count,
            per: Duration::from_secs(1),
            quota: Quota::per_second(count).allow_burst(NonZeroU32::MIN),
        }
    }

    /// The same rate with up to `burst` calls at once after a quiet spell.
    pub const fn with_burst(mut self, burst: NonZeroU32) -> Self {
        self.quota = self.quota.allow_burst(burst);
        self
    }

    /// Calls per [`per`](Self::per).
    pub fn count(&self) -> NonZeroU32 {
        self.count
    }

    /// The period [`count`](Self::count) calls are spread over.
    pub fn per(&self) -> Duration {
        self.per
    }

    /// How many calls may go back to back after a quiet spell.
    pub fn burst(&self) -> NonZeroU32 {
        self.quota.burst_size()
    }

    /// The spacing of calls beyond the burst: `per / count`.
    pub fn interval(&self) -> Duration {
        self.quota.replenish_interval()
    }

    /// governor's quota for this rate.
    pub(super) fn quota(&self) -> Quota {
        self.quota
    }

    /// The rate in environment variable `variable`; `None` when it is unset or blank (the
    /// function then picks its default, or no limit).
    pub fn from_env(variable: &str) -> Result<Option<Self>, RateLimitEnvError> {
        Self::from_lookup(variable, |key| std::env::var(key).ok())
    }

    /// [`RateLimit::from_env`] with the environment injected, for tests.
    pub fn from_lookup(
        variable: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, RateLimitEnvError> {
        match lookup(variable) {
            Some(value) if !value.trim().is_empty() => {
                value.parse().map(Some).map_err(|reason| RateLimitEnvError {
                    variable: variable.to_owned(),
                    value,
                    reason,
                })
            }
            _ => Ok(None),
        }
    }

    /// The rate in `variable`, or `default` (text in the same form) when it is unset or blank:
    /// a function with a documented default rate. An invalid value, or an invalid `default`,
    /// is an error naming the variable.
    pub fn from_lookup_or(
        variable: &str,
        lookup: impl Fn(&str) -> Option<String>,
        default: &str,
    ) -> Result<Self, RateLimitEnvError> {
        match Self::from_lookup(variable, lookup)? {
            Some(limit) => Ok(limit),
            None => default.parse().map_err(|reason| RateLimitEnvError {
                variable: variable.to_owned(),
                value: default.to_owned(),
                reason,
            }),
        }
    }
}

impl fmt::Display for RateLimit {
    /// `1/1s burst 3`, `100/10s` (the burst only when more than one): text that parses back to
    /// the same rate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // humantime writes `1m 30s`; joined, it stays one word of the text form.
        let per = humantime::format_duration(self.per)
            .to_string()
            .replace(' ', "");
        write!(f, "{}/{per}", self.count)?;
        if self.burst().get() > 1 {
            write!(f, " burst {}", self.burst())?;
        }
        Ok(())
    }
}

impl FromStr for RateLimit {
    type Err = ParseRateLimitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut words = text.split_whitespace();
        let rate = words.next().ok_or(ParseRateLimitError::Empty)?;
        let (count, period) = rate.split_once('/').ok_or(ParseRateLimitError::NoSlash)?;
        let count = positive(count).ok_or_else(|| ParseRateLimitError::Count(count.to_owned()))?;
        let per = parse_period(period)?;
        let limit = RateLimit::new(count, per).ok_or(ParseRateLimitError::TooFast)?;
        match (words.next(), words.next(), words.next()) {
            (None, _, _) => Ok(limit),
            (Some("burst"), Some(burst), None) => positive(burst)
                .map(|burst| limit.with_burst(burst))
                .ok_or_else(|| ParseRateLimitError::Burst(burst.to_owned())),
            _ => Err(ParseRateLimitError::Trailing),
        }
    }
}

/// A whole number above zero.
fn positive(text: &str) -> Option<NonZeroU32> {
    text.parse().ok()
}

/// `s` → 1 s, `10s` → 10 s, `1m 30s`, `500ms`: a humantime duration, a bare unit meaning one.
/// (Several humantime words would be split by the caller's whitespace split, so only joined
/// forms like `1m30s` reach here.)
fn parse_period(period: &str) -> Result<Duration, ParseRateLimitError> {
    let text = if period.starts_with(|c: char| c.is_ascii_alphabetic()) {
        format!("1{period}")
    } else {
        period.to_owned()
    };
    let per = humantime::parse_duration(&text).map_err(|e| ParseRateLimitError::Period {
        period: period.to_owned(),
        reason: e.to_string(),
    })?;
    if per.is_zero() {
        return Err(ParseRateLimitError::ZeroPeriod);
    }
    Ok(per)
}

/// Why a text is not a [`RateLimit`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseRateLimitError {
    /// Nothing but whitespace.
    #[error("no rate given")]
    Empty,
    /// The first word is not `<count>/<period>`.
    #[error("the rate must be `<count>/<period>`")]
    NoSlash,
    /// The count is not a whole number above zero.
    #[error("the count `{0}` is not a whole number above zero")]
    Count(String),
    /// The period is not a duration.
    #[error("the period `{period}` is not a duration ({reason})")]
    Period {
        /// The period as written.
        period: String,
        /// humantime's reason.
        reason: String,
    },
    /// The period is zero.
    #[error("the period must be longer than zero")]
    ZeroPeriod,
    /// More than one call per nanosecond.
    #[error("the calls would be less than a nanosecond apart")]
    TooFast,
    /// The burst is not a whole number above zero.
    #[error("the burst `{0}` is not a whole number above zero")]
    Burst(String),
    /// Something other than `burst <n>` follows the rate.
    #[error("only `burst <n>` may follow the rate")]
    Trailing,
}

/// An environment variable that does not hold a [`RateLimit`]: names the variable, so the
/// function's cold-start error says which setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}=`{value}`: {reason} (expected e.g. `1/s`, `100/10s` or `1/s burst 3`)")]
pub struct RateLimitEnvError {
    /// The environment variable.
    pub variable: String,
    /// Its value (a rate is configuration, not a secret).
    pub value: String,
    /// What is wrong with it.
    #[source]
    pub reason: ParseRateLimitError,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn parse(text: &str) -> Result<RateLimit, ParseRateLimitError> {
        text.parse()
    }

    #[test]
    fn reads_a_rate_with_and_without_a_burst() {
        let cases = [
            ("1/s", 1, Duration::from_secs(1), 1, Duration::from_secs(1)),
            (
                "1/s burst 3",
                1,
                Duration::from_secs(1),
                3,
                Duration::from_secs(1),
            ),
            (
                "100/10s",
                100,
                Duration::from_secs(10),
                1,
                Duration::from_millis(100),
            ),
            (
                "  5/m   burst  2 ",
                5,
                Duration::from_secs(60),
                2,
                Duration::from_secs(12),
            ),
            (
                "3/min",
                3,
                Duration::from_secs(60),
                1,
                Duration::from_secs(20),
            ),
            (
                "1/h",
                1,
                Duration::from_secs(3600),
                1,
                Duration::from_secs(3600),
            ),
            (
                "2/500ms",
                2,
                Duration::from_millis(500),
                1,
                Duration::from_millis(250),
            ),
            (
                "1/1m30s",
                1,
                Duration::from_secs(90),
                1,
                Duration::from_secs(90),
            ),
        ];
        for (text, count, per, burst, interval) in cases {
            let limit = parse(text).unwrap();
            assert_eq!(limit.count().get(), count, "{text}");
            assert_eq!(limit.per(), per, "{text}");
            assert_eq!(limit.burst().get(), burst, "{text}");
            assert_eq!(limit.interval(), interval, "{text}");
        }
    }

    #[test]
    fn displays_text_that_parses_back() {
        for text in ["1/s burst 3", "100/10s", "2/500ms", "1/1m30s burst 7"] {
            let limit = parse(text).unwrap();
            assert_eq!(parse(&limit.to_string()).unwrap(), limit, "{text}");
        }
        assert_eq!(parse("1/s burst 3").unwrap().to_string(), "1/1s burst 3");
        assert_eq!(parse("100/10s").unwrap().to_string(), "100/10s");
    }

    #[test]
    fn constructors_agree_with_the_text_form() {
        assert_eq!(
            RateLimit::per_second(nz(1)).with_burst(nz(3)),
            parse("1/s burst 3").unwrap()
        );
        assert_eq!(
            RateLimit::new(nz(100), Duration::from_secs(10)).unwrap(),
            parse("100/10s").unwrap()
        );
        assert_eq!(RateLimit::new(nz(1), Duration::ZERO), None);
        assert_eq!(RateLimit::new(nz(2), Duration::from_nanos(1)), None);
    }

    #[test]
    fn rejects_what_is_not_a_rate() {
        use ParseRateLimitError as E;
        let period = |p: &str| match parse(&format!("1/{p}")) {
            Err(E::Period { period, .. }) => period,
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(parse(""), Err(E::Empty));
        assert_eq!(parse("   "), Err(E::Empty));
        assert_eq!(parse("1s"), Err(E::NoSlash));
        assert_eq!(parse("0/s"), Err(E::Count("0".into())));
        assert_eq!(parse("-1/s"), Err(E::Count("-1".into())));
        assert_eq!(parse("one/s"), Err(E::Count("one".into())));
        assert_eq!(parse("/s"), Err(E::Count(String::new())));
        assert_eq!(period("fortnight"), "fortnight");
        assert_eq!(period("10"), "10");
        assert_eq!(period(""), "");
        assert_eq!(parse("1/0s"), Err(E::ZeroPeriod));
        assert_eq!(parse("2/1ns"), Err(E::TooFast));
        assert_eq!(parse("1/s burst 0"), Err(E::Burst("0".into())));
        assert_eq!(parse("1/s burst many"), Err(E::Burst("many".into())));
        assert_eq!(parse("1/s burst"), Err(E::Trailing));
        assert_eq!(parse("1/s burst 3 4"), Err(E::Trailing));
        assert_eq!(parse("1/s bursts 3"), Err(E::Trailing));
        assert_eq!(parse("1/s 3"), Err(E::Trailing));
    }

    #[test]
    fn an_unset_or_blank_variable_is_no_rate() {
        for value in [None, Some(String::new()), Some("  ".to_owned())] {
            let limit = RateLimit::from_lookup("RATE_LIMIT", |_| value.clone());
            assert_eq!(limit, Ok(None));
        }
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err = RateLimit::from_lookup("SLACK_RATE_LIMIT", |key| {
            assert_eq!(key, "SLACK_RATE_LIMIT");
            Some("1 per second".into())
        })
        .unwrap_err();
        assert_eq!(err.variable, "SLACK_RATE_LIMIT");
        assert_eq!(err.reason, ParseRateLimitError::NoSlash);
        assert_eq!(
            err.to_string(),
            "SLACK_RATE_LIMIT=`1 per second`: the rate must be `<count>/<period>` \
             (expected e.g. `1/s`, `100/10s` or `1/s burst 3`)"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn a_default_applies_when_the_variable_is_unset_and_errors_name_the_variable() {
        let unset = RateLimit::from_lookup_or("RATE", |_| None, "100/10s").unwrap();
        assert_eq!(unset.interval(), Duration::from_millis(100));
        let blank = RateLimit::from_lookup_or("RATE", |_| Some("  ".into()), "1/s").unwrap();
        assert_eq!(blank.interval(), Duration::from_secs(1));
        let set = RateLimit::from_lookup_or("RATE", |_| Some("5/s".into()), "1/s").unwrap();
        assert_eq!(set.interval(), Duration::from_millis(200));
        let bad = RateLimit::from_lookup_or("RATE", |_| Some("fast".into()), "1/s").unwrap_err();
        assert!(bad.to_string().contains("RATE"), "{bad}");
        let bad_default = RateLimit::from_lookup_or("RATE", |_| None, "often").unwrap_err();
        assert!(bad_default.to_string().contains("RATE"), "{bad_default}");
    }
}
