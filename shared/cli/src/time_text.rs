//! Times as an operator reads them: RFC 3339, UTC.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `t` as RFC 3339 in UTC (`2025-11-21T04:00:00.123Z`).
pub fn rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| format!("{t:?}"))
}

/// Epoch milliseconds as text (SQS's timestamps) as RFC 3339; `None` if not a number.
pub fn from_epoch_ms_text(ms: &str) -> Option<String> {
    let ms: u64 = ms.trim().parse().ok()?;
    Some(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_millis(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_milliseconds_read_as_utc_dates() {
        assert_eq!(
            from_epoch_ms_text("1763700000123").as_deref(),
            Some("2025-11-21T04:40:00.123Z")
        );
        assert_eq!(from_epoch_ms_text("soon"), None);
    }
}
