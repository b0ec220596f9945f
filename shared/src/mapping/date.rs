//! Dates: an RFC 3339 timestamp or Unix seconds in, a `time` format description (or RFC 3339,
//! Unix seconds, Unix milliseconds) out.
//!
//! Providers send instants either way (Stripe: Unix seconds; GitHub, Shopify: RFC 3339) and
//! destinations want either way too (HubSpot date properties: Unix milliseconds; Slack text:
//! something a person reads). The output format is a [`time` format description] (version 2
//! syntax, e.g. `[year]-[month]-[day] [hour]:[minute]`), parsed once when the mapping is
//! loaded, because `time` is already the kit's date crate (the envelope's `time` attribute).
//! There is no time-zone database, so a date is written in the offset it came with (UTC for
//! Unix seconds) unless an `offset` such as `+02:00` is given.
//!
//! [`time` format description]: https://time-rs.github.io/book/api/format-description.html

use serde_json::Value;
use time::format_description::OwnedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::coerce::{json_kind, number_of_text};
use super::error::{ArgError, TransformError};

/// What a date becomes.
#[derive(Debug, Clone, PartialEq)]
enum Output {
    /// An RFC 3339 timestamp (`2024-05-06T08:00:00Z`).
    Rfc3339,
    /// Whole Unix seconds, as a JSON integer.
    Unix,
    /// Whole Unix milliseconds, as a JSON integer.
    UnixMs,
    /// Text in a `time` format description.
    Format(OwnedFormatItem),
}

/// A parsed `date` transform: the output and an optional fixed offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateFormat {
    output: Output,
    offset: Option<UtcOffset>,
}

impl DateFormat {
    /// `output` is `rfc3339`, `unix`, `unix_ms` or a format description; `offset` is `Z`, `UTC`
    /// or `±HH:MM`.
    pub(crate) fn parse(output: &str, offset: Option<&str>) -> Result<Self, ArgError> {
        let output = match output {
            "rfc3339" => Output::Rfc3339,
            "unix" => Output::Unix,
            "unix_ms" => Output::UnixMs,
            description => Output::Format(
                time::format_description::parse_owned::<2>(description).map_err(|e| {
                    ArgError::new("the format description is invalid").with_detail(e.to_string())
                })?,
            ),
        };
        let offset = offset.map(parse_offset).transpose()?;
        Ok(Self { output, offset })
    }

    /// The instant `value` (RFC 3339 text, or Unix seconds as a number or numeric text) in this
    /// format.
    pub(crate) fn apply(&self, value: &Value) -> Result<Value, TransformError> {
        let mut instant = instant(value)?;
        if let Some(offset) = self.offset {
            instant = instant
                .checked_to_offset(offset)
                .ok_or(TransformError::DateRange)?;
        }
        Ok(match &self.output {
            Output::Rfc3339 => Value::String(
                instant
                    .format(&Rfc3339)
                    .map_err(|_| TransformError::DateRange)?,
            ),
            Output::Unix => Value::from(instant.unix_timestamp()),
            Output::UnixMs => {
                let ms = instant.unix_timestamp_nanos().div_euclid(1_000_000);
                Value::from(i64::try_from(ms).map_err(|_| TransformError::DateRange)?)
            }
            Output::Format(format) => Value::String(
                instant
                    .format(format)
                    .map_err(|e| TransformError::DateFormat(e.to_string()))?,
            ),
        })
    }
}

/// `Z`, `UTC` or `±HH:MM`.
fn parse_offset(text: &str) -> Result<UtcOffset, ArgError> {
    if text == "Z" || text.eq_ignore_ascii_case("utc") {
        return Ok(UtcOffset::UTC);
    }
    let invalid = || ArgError::new("`offset` must be `Z`, `UTC` or `±HH:MM`");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(invalid()),
    };
    let (hours, minutes) = rest.split_once(':').ok_or_else(invalid)?;
    if hours.len() != 2 || minutes.len() != 2 {
        return Err(invalid());
    }
    let hours: i8 = hours.parse().map_err(|_| invalid())?;
    let minutes: i8 = minutes.parse().map_err(|_| invalid())?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).map_err(|_| invalid())
}

/// The instant a value holds: RFC 3339 text, or Unix seconds (number or numeric text; a
/// fraction is kept to the nanosecond).
fn instant(value: &Value) -> Result<OffsetDateTime, TransformError> {
    let seconds = match value {
        Value::String(text) => {
            let text = text.trim();
            if let Ok(instant) = OffsetDateTime::parse(text, &Rfc3339) {
                return Ok(instant);
            }
            number_of_text(text).ok_or(TransformError::DateInput)?
        }
        Value::Number(_) => value.clone(),
        other => {
            return Err(TransformError::Input {
                transform: "date",
                expected: "an RFC 3339 timestamp or Unix seconds",
                found: json_kind(other),
            });
        }
    };
    let Value::Number(seconds) = seconds else {
        return Err(TransformError::DateInput);
    };
    let instant = if let Some(whole) = seconds.as_i64() {
        OffsetDateTime::from_unix_timestamp(whole)
    } else {
        let f = seconds.as_f64().ok_or(TransformError::DateRange)?;
        // Whole seconds and the fraction apart: `f * 1e9` would lose the fraction's precision
        // (`.25` → `.249999872`). `as` saturates; anything that large is refused below.
        let whole = f.trunc();
        let nanos = ((f - whole) * 1e9).round() as i128;
        OffsetDateTime::from_unix_timestamp_nanos(
            (whole as i128).saturating_mul(1_000_000_000) + nanos,
        )
    };
    instant.map_err(|_| TransformError::DateRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn date(output: &str, value: Value) -> Result<Value, TransformError> {
        DateFormat::parse(output, None).unwrap().apply(&value)
    }

    #[test]
    fn unix_seconds_in() {
        assert_eq!(
            date("rfc3339", json!(1714982400)).unwrap(),
            json!("2024-05-06T08:00:00Z")
        );
        assert_eq!(
            date("[year]-[month]-[day]", json!("1714982400")).unwrap(),
            json!("2024-05-06")
        );
        assert_eq!(
            date("rfc3339", json!(1714982400.25)).unwrap(),
            json!("2024-05-06T08:00:00.25Z")
        );
        assert_eq!(
            date("unix_ms", json!(1714982400)).unwrap(),
            json!(1714982400000_i64)
        );
        assert_eq!(date("unix", json!(-1)).unwrap(), json!(-1));
    }

    #[test]
    fn rfc3339_in() {
        assert_eq!(
            date("unix", json!("2024-05-06T10:00:00+02:00")).unwrap(),
            json!(1714982400)
        );
        assert_eq!(
            date("unix_ms", json!("2024-05-06T08:00:00.123Z")).unwrap(),
            json!(1714982400123_i64)
        );
        // The input's own offset is kept.
        assert_eq!(
            date("[hour]:[minute]", json!("2024-05-06T10:00:00+02:00")).unwrap(),
            json!("10:00")
        );
    }

    #[test]
    fn an_offset_converts() {
        let format =
            DateFormat::parse("[day].[month].[year] [hour]:[minute]", Some("+02:00")).unwrap();
        assert_eq!(
            format.apply(&json!(1714982400)).unwrap(),
            json!("06.05.2024 10:00")
        );
        let format = DateFormat::parse("rfc3339", Some("-05:30")).unwrap();
        assert_eq!(
            format.apply(&json!(1714982400)).unwrap(),
            json!("2024-05-06T02:30:00-05:30")
        );
        let format = DateFormat::parse("rfc3339", Some("UTC")).unwrap();
        assert_eq!(
            format.apply(&json!("2024-05-06T10:00:00+02:00")).unwrap(),
            json!("2024-05-06T08:00:00Z")
        );
    }

    #[test]
    fn bad_dates_are_refused_without_quoting_them() {
        for bad in [
            "not a date",
            "2024-13-01T00:00:00Z",
            "2024-05-06",
            "jane@example.com",
            "",
        ] {
            let e = date("rfc3339", json!(bad)).unwrap_err();
            assert_eq!(e, TransformError::DateInput, "{bad}");
            assert!(!e.to_string().contains("jane"));
        }
        assert_eq!(
            date("rfc3339", json!(1e20)).unwrap_err(),
            TransformError::DateRange
        );
        assert_eq!(
            date("rfc3339", json!(i64::MAX)).unwrap_err(),
            TransformError::DateRange
        );
        assert_eq!(
            date("rfc3339", json!(true)).unwrap_err().to_string(),
            "`date` expects an RFC 3339 timestamp or Unix seconds, found a boolean"
        );
        // Representable, but not in RFC 3339 (years 0–9999 only).
        assert_eq!(
            date("rfc3339", json!(-70_000_000_000_i64)).unwrap_err(),
            TransformError::DateRange
        );
    }

    #[test]
    fn bad_formats_and_offsets_are_refused() {
        let e = DateFormat::parse("[yeer]", None).unwrap_err();
        assert_eq!(e.reason(), "the format description is invalid");
        assert!(e.detail().is_some_and(|d| d.contains("yeer")), "{e:?}");
        assert!(DateFormat::parse("[year", None).is_err());
        for bad in ["+2", "02:00", "+02:0", "+26:00", "+ab:cd", "local"] {
            assert!(DateFormat::parse("rfc3339", Some(bad)).is_err(), "{bad}");
        }
    }
}
