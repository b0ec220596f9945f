//! What a sample value looks like: an e-mail, a phone number, a date, a currency code. A
//! destination field that wants one of these is matched more surely by a value of that shape,
//! and less surely by a value of another.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A recognised value shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `someone@example.com`.
    Email,
    /// `+1 555 010 9999`, `(555) 010-9999`: 7 to 15 digits with phone punctuation.
    Phone,
    /// RFC 3339 text, `YYYY-MM-DD`, or Unix seconds between 2000 and 2100 under a date-like
    /// name.
    Date,
    /// An ISO 4217 code (`usd`, `EUR`) of a currency in common use.
    Currency,
}

impl Shape {
    /// How a suggestion names the shape.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Email => "an e-mail",
            Shape::Phone => "a phone number",
            Shape::Date => "a date",
            Shape::Currency => "a currency code",
        }
    }
}

/// Currencies recognised by code: the ones Stripe, Shopify and HubSpot users meet most. A
/// three-letter text outside this list is not assumed to be one (`abc`, `yes`).
const CURRENCIES: &[&str] = &[
    "usd", "eur", "gbp", "jpy", "chf", "cad", "aud", "nzd", "sek", "nok", "dkk", "pln", "czk",
    "huf", "ron", "bgn", "try", "inr", "cny", "hkd", "sgd", "krw", "twd", "thb", "myr", "idr",
    "php", "vnd", "brl", "mxn", "ars", "clp", "cop", "pen", "zar", "ngn", "kes", "egp", "aed",
    "sar", "ils", "kwd", "bhd", "omr", "jod", "qar", "rub", "uah", "isk",
];

/// The shape of a sample value found under `name`, if it has one.
pub fn of_value(name: &str, value: &Value) -> Option<Shape> {
    match value {
        Value::String(text) => of_text(text.trim()),
        Value::Number(n) => {
            let seconds = n.as_i64()?;
            let date_like = super::names::words(name).iter().any(|w| {
                ["created", "updated", "date", "time", "at", "timestamp"].contains(&w.as_str())
            });
            (date_like && (946_684_800..4_102_444_800).contains(&seconds)).then_some(Shape::Date)
        }
        _ => None,
    }
}

fn of_text(text: &str) -> Option<Shape> {
    if is_email(text) {
        Some(Shape::Email)
    } else if OffsetDateTime::parse(text, &Rfc3339).is_ok() || is_iso_date(text) {
        Some(Shape::Date)
    } else if CURRENCIES.contains(&text.to_ascii_lowercase().as_str()) {
        Some(Shape::Currency)
    } else if is_phone(text) {
        Some(Shape::Phone)
    } else {
        None
    }
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !text.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.ends_with('.'))
}

fn is_iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let allowed = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let starts = text.starts_with('+')
        || text.starts_with('(')
        || text.starts_with(|c: char| c.is_ascii_digit());
    allowed && starts && (7..=15).contains(&digits) && !text[1..].contains('+')
}

/// The shape a destination field wants, from its declared type (HubSpot's `date`,
/// `datetime`, `phonenumber`) or, failing that, its name.
pub fn wanted(name: &str, declared: Option<&str>) -> Option<Shape> {
    match declared.map(str::to_ascii_lowercase).as_deref() {
        Some("date" | "datetime") => return Some(Shape::Date),
        Some("phonenumber" | "phone") => return Some(Shape::Phone),
        Some("email") => return Some(Shape::Email),
        _ => {}
    }
    match super::names::group(name) {
        Some("email") => return Some(Shape::Email),
        Some("phone") => return Some(Shape::Phone),
        Some("currency") => return Some(Shape::Currency),
        _ => {}
    }
    let words = super::names::words(name);
    let joined = words.concat();
    if words.iter().any(|w| w == "email") {
        Some(Shape::Email)
    } else if words.iter().any(|w| w == "phone") || joined.ends_with("phone") {
        Some(Shape::Phone)
    } else if words
        .iter()
        .any(|w| ["date", "birthday", "at"].contains(&w.as_str()))
        || joined.ends_with("date")
    {
        Some(Shape::Date)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_recognised_by_shape() {
        let shape = |name: &str, v: Value| of_value(name, &v);
        assert_eq!(shape("x", json!("ada@example.com")), Some(Shape::Email));
        assert_eq!(shape("x", json!("+44 20 7946 0958")), Some(Shape::Phone));
        assert_eq!(shape("x", json!("(555) 010-9999")), Some(Shape::Phone));
        assert_eq!(shape("x", json!("2024-05-06T08:00:00Z")), Some(Shape::Date));
        assert_eq!(shape("x", json!("2024-05-06")), Some(Shape::Date));
        assert_eq!(shape("created", json!(1_763_700_000)), Some(Shape::Date));
        assert_eq!(
            shape("amount", json!(1_763_700_000)),
            None,
            "not under a date name"
        );
        assert_eq!(shape("x", json!("usd")), Some(Shape::Currency));
        assert_eq!(shape("x", json!("EUR")), Some(Shape::Currency));
    }

    #[test]
    fn other_values_have_no_shape() {
        let shape = |v: Value| of_value("x", &v);
        assert_eq!(shape(json!("Ada Lovelace")), None);
        assert_eq!(shape(json!("abc")), None);
        assert_eq!(shape(json!("12")), None, "too few digits for a phone");
        assert_eq!(shape(json!("a@b")), None);
        assert_eq!(shape(json!("1+2+3+4+5+6+7")), None);
        assert_eq!(shape(json!(true)), None);
        assert_eq!(shape(json!(null)), None);
    }

    #[test]
    fn destination_fields_say_what_they_want() {
        assert_eq!(wanted("email", None), Some(Shape::Email));
        assert_eq!(wanted("work_email", None), Some(Shape::Email));
        assert_eq!(wanted("mobilephone", None), Some(Shape::Phone));
        assert_eq!(wanted("closedate", None), Some(Shape::Date));
        assert_eq!(wanted("anything", Some("datetime")), Some(Shape::Date));
        assert_eq!(wanted("currency", None), Some(Shape::Currency));
        assert_eq!(wanted("firstname", None), None);
    }
}
