//! Decimal text: the number formatting behind `format_number`, `money` and `money_decimal`.
//!
//! Numbers are formatted from their decimal digits, never through `format!("{:.2}")` on a
//! float: that rounds the binary value, so `2.675` would become `2.67` and `1.005` `1.00`.
//! Here a float is first written as the shortest decimal that reads back as the same float
//! (Rust's `Display` for `f64`, which never uses an exponent), then rounded half away from
//! zero on those digits, so `2.675` → `2.68`, as a person would round it. Integers (and money
//! in minor units) never go through a float at all.

use serde_json::Value;

/// The most decimals a mapping may ask for; more is a mistake, not a format.
pub(crate) const MAX_DECIMALS: u32 = 20;

/// How a decimal is written: the thousands separator (none by default) and the decimal point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Style {
    pub(crate) thousands: String,
    pub(crate) point: String,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            thousands: String::new(),
            point: ".".to_owned(),
        }
    }
}

/// A decimal number as digits: sign, integer digits (no leading zeros, `"0"` for none) and
/// fraction digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

impl Decimal {
    /// `minor` units of a currency with `exponent` decimals: `-1234` with 2 → `-12.34`.
    pub(crate) fn from_minor(minor: i128, exponent: u32) -> Self {
        let digits = minor.unsigned_abs().to_string();
        let exponent = exponent as usize;
        let padded = format!("{digits:0>width$}", width = exponent + 1);
        let (int, frac) = padded.split_at(padded.len() - exponent);
        Self::new(minor < 0, int, frac)
    }

    /// A JSON number or numeric string (`"12.5"`, `" 3 "`); `None` for anything else.
    pub(crate) fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Some(Self::from_integer(i128::from(i)))
                } else if let Some(u) = n.as_u64() {
                    Some(Self::from_integer(i128::from(u)))
                } else {
                    n.as_f64().and_then(Self::from_f64)
                }
            }
            Value::String(s) => {
                let s = s.trim();
                match s.parse::<i128>() {
                    Ok(i) => Some(Self::from_integer(i)),
                    Err(_) => s.parse::<f64>().ok().and_then(Self::from_f64),
                }
            }
            _ => None,
        }
    }

    fn from_integer(i: i128) -> Self {
        Self::new(i < 0, &i.unsigned_abs().to_string(), "")
    }

    fn from_f64(f: f64) -> Option<Self> {
        if !f.is_finite() {
            return None;
        }
        let text = f.abs().to_string();
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        Some(Self::new(f.is_sign_negative(), int, frac))
    }

    fn new(negative: bool, int: &str, frac: &str) -> Self {
        let int = int.trim_start_matches('0');
        let mut decimal = Self {
            negative,
            int: if int.is_empty() { "0" } else { int }.to_owned(),
            frac: frac.to_owned(),
        };
        decimal.drop_negative_zero();
        decimal
    }

    fn drop_negative_zero(&mut self) {
        if self.int == "0" && self.frac.bytes().all(|b| b == b'0') {
            self.negative = false;
        }
    }

    /// Exactly `decimals` fraction digits: padded with zeros, or rounded half away from zero.
    pub(crate) fn round(mut self, decimals: u32) -> Self {
        let decimals = decimals as usize;
        if self.frac.len() <= decimals {
            self.frac
                .extend(std::iter::repeat_n('0', decimals - self.frac.len()));
            return self;
        }
        let round_up = self.frac.as_bytes()[decimals] >= b'5';
        self.frac.truncate(decimals);
        if round_up {
            // Add one unit in the last kept place, carrying into the integer digits.
            let mut digits: Vec<u8> = format!("{}{}", self.int, self.frac).into_bytes();
            let mut carry = true;
            for digit in digits.iter_mut().rev() {
                if *digit == b'9' {
                    *digit = b'0';
                } else {
                    *digit += 1;
                    carry = false;
                    break;
                }
            }
            if carry {
                digits.insert(0, b'1');
            }
            let digits = String::from_utf8_lossy(&digits).into_owned();
            let (int, frac) = digits.split_at(digits.len() - decimals);
            self.int = int.to_owned();
            self.frac = frac.to_owned();
        }
        self.drop_negative_zero();
        self
    }

    /// The number written in `style`.
    pub(crate) fn render(&self, style: &Style) -> String {
        let mut out = String::with_capacity(self.int.len() * 2 + self.frac.len() + 2);
        if self.negative {
            out.push('-');
        }
        let digits = self.int.as_bytes();
        for (i, digit) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(&style.thousands);
            }
            out.push(char::from(*digit));
        }
        if !self.frac.is_empty() {
            out.push_str(&style.point);
            out.push_str(&self.frac);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain() -> Style {
        Style::default()
    }

    fn english() -> Style {
        Style {
            thousands: ",".into(),
            point: ".".into(),
        }
    }

    fn german() -> Style {
        Style {
            thousands: ".".into(),
            point: ",".into(),
        }
    }

    fn format(value: Value, decimals: Option<u32>, style: &Style) -> String {
        let decimal = Decimal::from_json(&value).unwrap();
        match decimals {
            Some(d) => decimal.round(d).render(style),
            None => decimal.render(style),
        }
    }

    #[test]
    fn integers_and_floats_as_given() {
        assert_eq!(format(json!(1234567), None, &plain()), "1234567");
        assert_eq!(format(json!(1234567), None, &english()), "1,234,567");
        assert_eq!(format(json!(-1234567.5), None, &german()), "-1.234.567,5");
        assert_eq!(format(json!(123), None, &english()), "123");
        assert_eq!(format(json!(0.1), None, &plain()), "0.1");
        assert_eq!(
            format(json!(1e21), None, &english()),
            "1,000,000,000,000,000,000,000"
        );
        assert_eq!(
            format(json!(u64::MAX), None, &plain()),
            u64::MAX.to_string()
        );
    }

    #[test]
    fn rounding_is_decimal_and_half_away_from_zero() {
        assert_eq!(format(json!(2.675), Some(2), &plain()), "2.68");
        assert_eq!(format(json!(1.005), Some(2), &plain()), "1.01");
        assert_eq!(format(json!(-2.5), Some(0), &plain()), "-3");
        assert_eq!(format(json!(999.995), Some(2), &english()), "1,000.00");
        assert_eq!(format(json!(9.96), Some(1), &plain()), "10.0");
        assert_eq!(format(json!(1234), Some(2), &english()), "1,234.00");
        assert_eq!(format(json!(0.5), Some(0), &plain()), "1");
        assert_eq!(format(json!(0.04), Some(1), &plain()), "0.0");
    }

    #[test]
    fn negative_zero_loses_its_sign() {
        assert_eq!(format(json!(-0.004), Some(2), &plain()), "0.00");
        assert_eq!(format(json!(-0.0), None, &plain()), "0");
    }

    #[test]
    fn numeric_strings() {
        assert_eq!(format(json!(" 1234.5 "), Some(2), &english()), "1,234.50");
        assert_eq!(
            format(json!("123456789012345678901234567"), None, &english()),
            "123,456,789,012,345,678,901,234,567"
        );
        for bad in [
            json!("twelve"),
            json!("NaN"),
            json!("inf"),
            json!(true),
            json!(null),
            json!([]),
        ] {
            assert_eq!(Decimal::from_json(&bad), None, "{bad}");
        }
    }

    #[test]
    fn minor_units() {
        let money = |minor, exponent| Decimal::from_minor(minor, exponent).render(&english());
        assert_eq!(money(1234, 2), "12.34");
        assert_eq!(money(5, 2), "0.05");
        assert_eq!(money(-5, 2), "-0.05");
        assert_eq!(money(0, 2), "0.00");
        assert_eq!(money(1234, 0), "1,234");
        assert_eq!(money(1234, 3), "1.234");
        assert_eq!(money(123456789, 2), "1,234,567.89");
        assert_eq!(money(i128::from(i64::MIN), 2), "-92,233,720,368,547,758.08");
    }
}
