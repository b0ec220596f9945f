//! Money from minor units: `1234` + `usd` → `12.34 USD`, `1234` + `jpy` → `1234 JPY`.
//!
//! Payment providers send amounts as integers in the currency's smallest unit (Stripe's
//! `amount_due`, Adyen's `value`), and the number of decimals depends on the currency. The
//! lists are Stripe's: [zero-decimal] and [three-decimal] currencies. Every other three-letter
//! code is taken to have two decimals, as Stripe does (it is also what ISO 4217 says for
//! almost all of them); a code that is not three ASCII letters is refused.
//!
//! [zero-decimal]: https://docs.stripe.com/currencies#zero-decimal
//! [three-decimal]: https://docs.stripe.com/currencies#three-decimal

use serde_json::Value;

use super::number::{Decimal, Style};

/// Currencies whose minor unit is the major unit (Stripe's list).
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Currencies with three decimals (Stripe's list).
const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// A currency: its upper-case ISO 4217 code and how many decimals its minor unit has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Currency {
    code: [u8; 3],
    exponent: u32,
}

impl Currency {
    /// The currency with code `code` (any case); `None` unless it is three ASCII letters.
    pub(crate) fn parse(code: &str) -> Option<Self> {
        let code: [u8; 3] = code.as_bytes().try_into().ok()?;
        if !code.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let code = code.map(|b| b.to_ascii_uppercase());
        let upper = std::str::from_utf8(&code).ok()?;
        let exponent = if ZERO_DECIMAL.contains(&upper) {
            0
        } else if THREE_DECIMAL.contains(&upper) {
            3
        } else {
            2
        };
        Some(Self { code, exponent })
    }

    /// The upper-case code.
    pub(crate) fn code(&self) -> &str {
        // Built from ASCII letters only.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// How many decimals the minor unit has.
    pub(crate) fn exponent(&self) -> u32 {
        self.exponent
    }
}

/// An amount in minor units: a JSON integer, a float with no fraction (`1234.0`), or a string
/// holding an integer. `None` for anything else (a fraction of a minor unit is not money).
pub(crate) fn minor_units(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                let f = n.as_f64()?;
                // 2^53: beyond it a float no longer holds whole numbers exactly.
                (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i128)
            }),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    }
}

/// `minor` units of `currency` as a plain decimal: `12.34`.
pub(crate) fn decimal(minor: i128, currency: Currency, style: &Style) -> String {
    Decimal::from_minor(minor, currency.exponent()).render(style)
}

/// `minor` units of `currency` with its code: `12.34 USD`.
pub(crate) fn with_code(minor: i128, currency: Currency, style: &Style) -> String {
    let mut text = decimal(minor, currency, style);
    text.push(' ');
    text.push_str(currency.code());
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn money(minor: i128, code: &str) -> String {
        with_code(minor, Currency::parse(code).unwrap(), &Style::default())
    }

    #[test]
    fn two_decimal_currencies() {
        assert_eq!(money(1234, "usd"), "12.34 USD");
        assert_eq!(money(1234, "EUR"), "12.34 EUR");
        assert_eq!(money(5, "usd"), "0.05 USD");
        assert_eq!(money(0, "gbp"), "0.00 GBP");
    }

    #[test]
    fn zero_decimal_currencies() {
        for code in ZERO_DECIMAL {
            assert_eq!(
                money(1234, &code.to_lowercase()),
                format!("1234 {code}"),
                "{code}"
            );
        }
    }

    #[test]
    fn three_decimal_currencies() {
        for code in THREE_DECIMAL {
            assert_eq!(money(1234, code), format!("1.234 {code}"), "{code}");
        }
        assert_eq!(money(5, "kwd"), "0.005 KWD");
    }

    #[test]
    fn negative_amounts() {
        assert_eq!(money(-1234, "usd"), "-12.34 USD");
        assert_eq!(money(-1, "usd"), "-0.01 USD");
        assert_eq!(money(-1234, "jpy"), "-1234 JPY");
        assert_eq!(money(-1234, "bhd"), "-1.234 BHD");
    }

    #[test]
    fn unknown_codes_have_two_decimals_and_bad_codes_are_refused() {
        assert_eq!(money(1234, "xyz"), "12.34 XYZ");
        for bad in ["", "us", "usdd", "u$d", "12a", "ÜSD"] {
            assert_eq!(Currency::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn thousands_and_decimal_point() {
        let german = Style {
            thousands: ".".into(),
            point: ",".into(),
        };
        let eur = Currency::parse("eur").unwrap();
        assert_eq!(with_code(123456789, eur, &german), "1.234.567,89 EUR");
        assert_eq!(decimal(123456789, eur, &german), "1.234.567,89");
        assert_eq!(decimal(1234, eur, &Style::default()), "12.34");
    }

    #[test]
    fn amounts_in_minor_units() {
        assert_eq!(minor_units(&json!(1234)), Some(1234));
        assert_eq!(minor_units(&json!(-1234)), Some(-1234));
        assert_eq!(minor_units(&json!(1234.0)), Some(1234));
        assert_eq!(minor_units(&json!(" 1234 ")), Some(1234));
        assert_eq!(minor_units(&json!(u64::MAX)), Some(i128::from(u64::MAX)));
        for bad in [
            json!(12.34),
            json!("12.34"),
            json!("twelve"),
            json!(true),
            json!([1]),
            json!(1e300),
        ] {
            assert_eq!(minor_units(&bad), None, "{bad}");
        }
    }
}
