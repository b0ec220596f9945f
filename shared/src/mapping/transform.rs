//! Transforms: the small vocabulary of value changes a field applies in order, shared with
//! templates as minijinja filters of the same names ([`super::filters`]).
//!
//! | transform | argument | options | does |
//! |---|---|---|---|
//! | `trim` | | | strips whitespace at both ends |
//! | `lower`, `upper` | | | changes case (Unicode) |
//! | `split` | separator | `part`: `first`, `last`, `rest`, `all` (default) or an index | cuts text at each separator |
//! | `join` | separator | | joins a list into text |
//! | `format_number` | decimals (optional) | `thousands`, `point` | writes a number |
//! | `date` | `rfc3339`, `unix`, `unix_ms` or a format description | `offset` | reads an instant, writes it |
//! | `money` | currency | `thousands`, `point` | minor units → `12.34 USD` |
//! | `money_decimal` | currency | `thousands`, `point` | minor units → `12.34` |
//!
//! A transform is parsed once, when the mapping is loaded (so bad arguments stop the function
//! at cold start), and applied per event. `null` passes through every transform unchanged, so a
//! missing value stays missing and its field's default or `required` decides. The text
//! transforms (`trim`, `lower`, `upper`) also apply to each element of a list (`split`, then
//! `trim`, then `join`); numbers and booleans are taken as their JSON text.

use serde_json::Value;

use super::coerce::json_kind;
use super::date::DateFormat;
use super::error::{ArgError, TransformError};
use super::money::{self, Currency};
use super::number::{Decimal, MAX_DECIMALS, Style};
use super::path::Path;

/// Every transform's name, in the order of the documentation.
pub(crate) const NAMES: [&str; 9] = [
    "trim",
    "lower",
    "upper",
    "split",
    "join",
    "format_number",
    "date",
    "money",
    "money_decimal",
];

/// Which part of split text to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Every part, as a list.
    All,
    /// Before the first separator (all of the text if there is none).
    First,
    /// After the last separator (all of the text if there is none).
    Last,
    /// After the first separator (empty if there is none): a full name's last names.
    Rest,
    /// The part at this index, counted from the end when negative; missing when out of range.
    Index(i64),
}

/// Where `money` finds its currency.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CurrencyArg {
    /// A code written in the mapping file, checked at load.
    Code(Currency),
    /// A path into the event (`{ path = "data.currency" }`), read per event.
    Path(Path),
    /// A filter's argument, checked when the filter runs.
    Given(Value),
}

/// One parsed transform.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transform {
    Trim,
    Lower,
    Upper,
    Split {
        separator: String,
        part: Part,
    },
    Join {
        separator: String,
    },
    FormatNumber {
        decimals: Option<u32>,
        style: Style,
    },
    Date(DateFormat),
    Money {
        name: &'static str,
        currency: CurrencyArg,
        style: Style,
        with_code: bool,
    },
}

/// Where a transform's arguments come from: the mapping file may give `{ path = "…" }` for a
/// currency; a filter's arguments are values already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgSource {
    File,
    Filter,
}

/// Why a transform could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    Unknown(String),
    Args(&'static str, ArgError),
}

/// The named options of a transform, taken one by one; any left over is an error.
struct Options(Vec<(String, Value)>);

impl Options {
    fn take(&mut self, name: &str) -> Option<Value> {
        let at = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(at).1)
    }

    fn take_text(&mut self, name: &str) -> Result<Option<String>, ArgError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ArgError::new(format!("`{name}` must be text"))),
        }
    }

    fn style(&mut self) -> Result<Style, ArgError> {
        let mut style = Style::default();
        if let Some(thousands) = self.take_text("thousands")? {
            style.thousands = thousands;
        }
        if let Some(point) = self.take_text("point")? {
            style.point = point;
        }
        Ok(style)
    }

    fn finish(self, accepted: &str) -> Result<(), ArgError> {
        match self.0.first() {
            None => Ok(()),
            Some((name, _)) => Err(ArgError::new(format!(
                "unknown option `{name}` ({accepted})"
            ))),
        }
    }
}

impl Transform {
    /// The transform `name` with its main argument and named options.
    pub(crate) fn parse(
        name: &str,
        main: Option<Value>,
        options: Vec<(String, Value)>,
        source: ArgSource,
    ) -> Result<Self, ParseError> {
        let Some(&name) = NAMES.iter().find(|n| **n == name) else {
            return Err(ParseError::Unknown(name.to_owned()));
        };
        Self::parse_known(name, main, Options(options), source)
            .map_err(|e| ParseError::Args(name, e))
    }

    fn parse_known(
        name: &'static str,
        main: Option<Value>,
        mut options: Options,
        source: ArgSource,
    ) -> Result<Self, ArgError> {
        let no_argument = |main: &Option<Value>| match main {
            None => Ok(()),
            Some(_) => Err(ArgError::new("takes no argument")),
        };
        let transform = match name {
            "trim" => no_argument(&main).map(|()| Transform::Trim)?,
            "lower" => no_argument(&main).map(|()| Transform::Lower)?,
            "upper" => no_argument(&main).map(|()| Transform::Upper)?,
            "split" => {
                let separator = separator(main, "split")?;
                let part = match options.take("part") {
                    None => Part::All,
                    Some(part) => parse_part(&part)?,
                };
                options.finish("expected `part`")?;
                return Ok(Transform::Split { separator, part });
            }
            "join" => Transform::Join {
                separator: separator(main, "join")?,
            },
            "format_number" => {
                let decimals = match main {
                    None => None,
                    Some(Value::Number(n)) => Some(
                        n.as_u64()
                            .and_then(|d| u32::try_from(d).ok())
                            .filter(|d| *d <= MAX_DECIMALS)
                            .ok_or_else(decimals_error)?,
                    ),
                    Some(_) => return Err(decimals_error()),
                };
                let style = options.style()?;
                options.finish("expected `thousands`, `point`")?;
                return Ok(Transform::FormatNumber { decimals, style });
            }
            "date" => {
                let Some(Value::String(output)) = main else {
                    return Err(ArgError::new(
                        "needs an output: `rfc3339`, `unix`, `unix_ms` or a format description \
                         such as `[year]-[month]-[day]`",
                    ));
                };
                let offset = options.take_text("offset")?;
                options.finish("expected `offset`")?;
                return Ok(Transform::Date(DateFormat::parse(
                    &output,
                    offset.as_deref(),
                )?));
            }
            "money" | "money_decimal" => {
                let currency = currency(main, source)?;
                let style = options.style()?;
                options.finish("expected `thousands`, `point`")?;
                return Ok(Transform::Money {
                    name,
                    currency,
                    style,
                    with_code: name == "money",
                });
            }
            // Every name in NAMES has an arm above; this keeps the match total without a panic.
            _ => return Err(ArgError::new(format!("`{name}` is not implemented"))),
        };
        options.finish("it takes no options")?;
        Ok(transform)
    }

    /// The path this transform reads from the event (a currency), if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Transform::Money {
                currency: CurrencyArg::Path(path),
                ..
            } => Some(path),
            _ => None,
        }
    }

    /// `value` transformed; `resolve` reads a path argument from the event. `null` passes
    /// through.
    pub(crate) fn apply(
        &self,
        value: Value,
        resolve: &dyn Fn(&Path) -> Option<Value>,
    ) -> Result<Value, TransformError> {
        if value.is_null() {
            return Ok(value);
        }
        match self {
            Transform::Trim => each_text(value, "trim", |s| s.trim().to_owned()),
            Transform::Lower => each_text(value, "lower", str::to_lowercase),
            Transform::Upper => each_text(value, "upper", str::to_uppercase),
            Transform::Split { separator, part } => {
                let text = text_of(&value).ok_or_else(|| TransformError::Input {
                    transform: "split",
                    expected: "text",
                    found: json_kind(&value),
                })?;
                Ok(split(&text, separator, part))
            }
            Transform::Join { separator } => join(value, separator),
            Transform::FormatNumber { decimals, style } => {
                let decimal = Decimal::from_json(&value).ok_or(TransformError::Input {
                    transform: "format_number",
                    expected: "a number or numeric text",
                    found: found_number(&value),
                })?;
                let decimal = match decimals {
                    Some(d) => decimal.round(*d),
                    None => decimal,
                };
                Ok(Value::String(decimal.render(style)))
            }
            Transform::Date(format) => format.apply(&value),
            Transform::Money {
                name,
                currency,
                style,
                with_code,
            } => {
                let minor = money::minor_units(&value).ok_or(TransformError::Input {
                    transform: name,
                    expected: "an integer amount in minor units",
                    found: found_number(&value),
                })?;
                let currency = match currency {
                    CurrencyArg::Code(currency) => *currency,
                    CurrencyArg::Path(path) => currency_of(name, resolve(path))?,
                    CurrencyArg::Given(value) => currency_of(name, Some(value.clone()))?,
                };
                Ok(Value::String(if *with_code {
                    money::with_code(minor, currency, style)
                } else {
                    money::decimal(minor, currency, style)
                }))
            }
        }
    }
}

fn decimals_error() -> ArgError {
    ArgError::new(format!(
        "the number of decimals must be a whole number from 0 to {MAX_DECIMALS}"
    ))
}

fn separator(main: Option<Value>, name: &str) -> Result<String, ArgError> {
    match main {
        Some(Value::String(s)) if !s.is_empty() || name == "join" => Ok(s),
        _ => Err(ArgError::new(if name == "join" {
            "needs a separator (text, possibly empty)"
        } else {
            "needs a separator (non-empty text)"
        })),
    }
}

fn parse_part(part: &Value) -> Result<Part, ArgError> {
    match part {
        Value::String(s) => match s.as_str() {
            "all" => Ok(Part::All),
            "first" => Ok(Part::First),
            "last" => Ok(Part::Last),
            "rest" => Ok(Part::Rest),
            _ => Err(part_error()),
        },
        Value::Number(n) => n.as_i64().map(Part::Index).ok_or_else(part_error),
        _ => Err(part_error()),
    }
}

fn part_error() -> ArgError {
    ArgError::new("`part` must be `first`, `last`, `rest`, `all` or an index")
}

fn currency(main: Option<Value>, source: ArgSource) -> Result<CurrencyArg, ArgError> {
    match (main, source) {
        (Some(value), ArgSource::Filter) => Ok(CurrencyArg::Given(value)),
        (Some(Value::String(code)), ArgSource::File) => Currency::parse(&code)
            .map(CurrencyArg::Code)
            .ok_or_else(|| ArgError::new("the currency must be a three-letter code such as `usd`")),
        (Some(Value::Object(table)), ArgSource::File) => match table.get("path") {
            Some(Value::String(path)) if table.len() == 1 => Path::parse(path)
                .map(CurrencyArg::Path)
                .map_err(|e| ArgError::new(e.to_string())),
            _ => Err(currency_error()),
        },
        (_, _) => Err(currency_error()),
    }
}

fn currency_error() -> ArgError {
    ArgError::new(
        "needs a currency: a code such as `usd`, or `{ path = \"…\" }` to read it from the event",
    )
}

fn currency_of(name: &'static str, value: Option<Value>) -> Result<Currency, TransformError> {
    match value {
        None | Some(Value::Null) => Err(TransformError::NoCurrency(name)),
        Some(Value::String(code)) => {
            Currency::parse(code.trim()).ok_or(TransformError::Currency(name))
        }
        Some(_) => Err(TransformError::Currency(name)),
    }
}

/// For number inputs: `"a string that is not a number"` says more than `"a string"`.
fn found_number(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string that is not a number",
        Value::Number(_) => "a number that is not whole",
        other => json_kind(other),
    }
}

/// Text, and numbers and booleans as their JSON text.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `op` applied to text, or to each element of a list of scalars (nulls stay null).
fn each_text(
    value: Value,
    transform: &'static str,
    op: impl Fn(&str) -> String,
) -> Result<Value, TransformError> {
    let refuse = |found| TransformError::Input {
        transform,
        expected: "text or a list of text",
        found,
    };
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Null => Ok(Value::Null),
                item => text_of(&item)
                    .map(|s| Value::String(op(&s)))
                    .ok_or_else(|| refuse(json_kind(&item))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        value => text_of(&value)
            .map(|s| Value::String(op(&s)))
            .ok_or_else(|| refuse(json_kind(&value))),
    }
}

fn split(text: &str, separator: &str, part: &Part) -> Value {
    let text_value = |s: &str| Value::String(s.to_owned());
    match part {
        Part::All => Value::Array(text.split(separator).map(text_value).collect()),
        Part::First => text_value(text.split(separator).next().unwrap_or(text)),
        Part::Last => text_value(text.rsplit(separator).next().unwrap_or(text)),
        Part::Rest => text_value(text.split_once(separator).map_or("", |(_, rest)| rest)),
        Part::Index(index) => {
            let parts: Vec<&str> = text.split(separator).collect();
            let at = if *index < 0 {
                usize::try_from(index.unsigned_abs())
                    .ok()
                    .and_then(|back| parts.len().checked_sub(back))
            } else {
                usize::try_from(*index).ok()
            };
            at.and_then(|i| parts.get(i))
                .map_or(Value::Null, |s| text_value(s))
        }
    }
}

fn join(value: Value, separator: &str) -> Result<Value, TransformError> {
    let Value::Array(items) = value else {
        return text_of(&value)
            .map(Value::String)
            .ok_or(TransformError::Input {
                transform: "join",
                expected: "a list",
                found: json_kind(&value),
            });
    };
    let mut parts = Vec::with_capacity(items.len());
    for item in &items {
        if item.is_null() {
            continue;
        }
        parts.push(text_of(item).ok_or(TransformError::Input {
            transform: "join",
            expected: "a list of text, numbers or booleans",
            found: json_kind(item),
        })?);
    }
    Ok(Value::String(parts.join(separator)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(
        name: &str,
        main: Option<Value>,
        options: &[(&str, Value)],
    ) -> Result<Transform, ParseError> {
        let options = options
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect();
        Transform::parse(name, main, options, ArgSource::File)
    }

    fn apply(transform: &Transform, value: Value) -> Result<Value, TransformError> {
        transform.apply(value, &|path| {
            (path.to_string() == "data.currency").then(|| json!("jpy"))
        })
    }

    fn run(name: &str, main: Option<Value>, options: &[(&str, Value)], value: Value) -> Value {
        apply(&parse(name, main, options).unwrap(), value).unwrap()
    }

    fn args_error(name: &str, main: Option<Value>, options: &[(&str, Value)]) -> String {
        match parse(name, main, options) {
            Err(ParseError::Args(_, e)) => e.reason().to_owned(),
            other => panic!("expected an argument error, got {other:?}"),
        }
    }

    #[test]
    fn text_transforms() {
        assert_eq!(run("trim", None, &[], json!("  Jane \n")), json!("Jane"));
        assert_eq!(
            run("lower", None, &[], json!("JANE@Example.COM")),
            json!("jane@example.com")
        );
        assert_eq!(run("upper", None, &[], json!("straße")), json!("STRASSE"));
        assert_eq!(run("upper", None, &[], json!(12)), json!("12"));
        assert_eq!(run("lower", None, &[], json!(true)), json!("true"));
        assert_eq!(
            run("trim", None, &[], json!([" a ", null, 3])),
            json!(["a", null, "3"])
        );
        let e = apply(&Transform::Trim, json!({"a": 1})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`trim` expects text or a list of text, found an object"
        );
        let e = apply(&Transform::Lower, json!([[1]])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`lower` expects text or a list of text, found an array"
        );
    }

    #[test]
    fn null_passes_through_every_transform() {
        for name in NAMES {
            let main = match name {
                "split" | "join" => Some(json!(" ")),
                "date" => Some(json!("rfc3339")),
                "money" | "money_decimal" => Some(json!("usd")),
                _ => None,
            };
            assert_eq!(run(name, main, &[], Value::Null), Value::Null, "{name}");
        }
    }

    #[test]
    fn split_parts() {
        let name = json!("Jane Mary Doe");
        let part = |p: Value| run("split", Some(json!(" ")), &[("part", p)], name.clone());
        assert_eq!(
            run("split", Some(json!(" ")), &[], name.clone()),
            json!(["Jane", "Mary", "Doe"])
        );
        assert_eq!(part(json!("all")), json!(["Jane", "Mary", "Doe"]));
        assert_eq!(part(json!("first")), json!("Jane"));
        assert_eq!(part(json!("rest")), json!("Mary Doe"));
        assert_eq!(part(json!("last")), json!("Doe"));
        assert_eq!(part(json!(1)), json!("Mary"));
        assert_eq!(part(json!(-1)), json!("Doe"));
        assert_eq!(part(json!(-3)), json!("Jane"));
        assert_eq!(part(json!(3)), Value::Null);
        assert_eq!(part(json!(-4)), Value::Null);
        let single = |p: &str| {
            run(
                "split",
                Some(json!(" ")),
                &[("part", json!(p))],
                json!("Cher"),
            )
        };
        assert_eq!(single("first"), json!("Cher"));
        assert_eq!(single("last"), json!("Cher"));
        assert_eq!(single("rest"), json!(""));
        assert_eq!(
            run("split", Some(json!(", ")), &[], json!("a, b")),
            json!(["a", "b"])
        );
        let e = apply(
            &parse("split", Some(json!(" ")), &[]).unwrap(),
            json!(["a"]),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "`split` expects text, found an array");
    }

    #[test]
    fn split_arguments() {
        assert_eq!(
            args_error("split", None, &[]),
            "needs a separator (non-empty text)"
        );
        assert_eq!(
            args_error("split", Some(json!("")), &[]),
            "needs a separator (non-empty text)"
        );
        assert_eq!(
            args_error("split", Some(json!(1)), &[]),
            "needs a separator (non-empty text)"
        );
        assert_eq!(
            args_error("split", Some(json!(" ")), &[("part", json!("middle"))]),
            "`part` must be `first`, `last`, `rest`, `all` or an index"
        );
        assert_eq!(
            args_error("split", Some(json!(" ")), &[("parts", json!("first"))]),
            "unknown option `parts` (expected `part`)"
        );
    }

    #[test]
    fn join_lists() {
        assert_eq!(
            run("join", Some(json!(", ")), &[], json!(["a", 1, true, null])),
            json!("a, 1, true")
        );
        assert_eq!(
            run("join", Some(json!("")), &[], json!(["a", "b"])),
            json!("ab")
        );
        assert_eq!(
            run("join", Some(json!(", ")), &[], json!("already text")),
            json!("already text")
        );
        let e = apply(
            &parse("join", Some(json!(",")), &[]).unwrap(),
            json!([{"a": 1}]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`join` expects a list of text, numbers or booleans, found an object"
        );
        let e = apply(&parse("join", Some(json!(",")), &[]).unwrap(), json!({})).unwrap_err();
        assert_eq!(e.to_string(), "`join` expects a list, found an object");
        assert_eq!(
            args_error("join", None, &[]),
            "needs a separator (text, possibly empty)"
        );
    }

    #[test]
    fn split_trim_join_round_trip() {
        let tags = run("split", Some(json!(",")), &[], json!("a, b ,c"));
        let tags = run("trim", None, &[], tags);
        assert_eq!(run("join", Some(json!(";")), &[], tags), json!("a;b;c"));
    }

    #[test]
    fn format_number() {
        let thousands = [("thousands", json!(","))];
        assert_eq!(
            run(
                "format_number",
                Some(json!(2)),
                &thousands,
                json!(1234567.891)
            ),
            json!("1,234,567.89")
        );
        assert_eq!(
            run("format_number", None, &thousands, json!(1234567)),
            json!("1,234,567")
        );
        assert_eq!(
            run("format_number", Some(json!(0)), &[], json!("2.5")),
            json!("3")
        );
        assert_eq!(
            run(
                "format_number",
                Some(json!(1)),
                &[("thousands", json!(" ")), ("point", json!(","))],
                json!(-1234.56)
            ),
            json!("-1 234,6")
        );
        let e = apply(
            &parse("format_number", None, &[]).unwrap(),
            json!("jane@example.com"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`format_number` expects a number or numeric text, found a string that is not a number"
        );
        for bad in [json!(-1), json!(21), json!(1.5), json!("2")] {
            assert!(
                args_error("format_number", Some(bad.clone()), &[])
                    .starts_with("the number of decimals"),
                "{bad}"
            );
        }
        assert_eq!(
            args_error("format_number", None, &[("thousands", json!(1))]),
            "`thousands` must be text"
        );
        assert_eq!(
            args_error("format_number", None, &[("sep", json!(","))]),
            "unknown option `sep` (expected `thousands`, `point`)"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            run(
                "date",
                Some(json!("[year]-[month]-[day]")),
                &[],
                json!(1714982400)
            ),
            json!("2024-05-06")
        );
        assert_eq!(
            run(
                "date",
                Some(json!("[hour]:[minute]")),
                &[("offset", json!("+02:00"))],
                json!("2024-05-06T08:00:00Z")
            ),
            json!("10:00")
        );
        assert_eq!(
            args_error("date", None, &[]).split(':').next(),
            Some("needs an output")
        );
        assert_eq!(
            args_error("date", Some(json!("[nope]")), &[]),
            "the format description is invalid"
        );
        assert_eq!(
            args_error("date", Some(json!("unix")), &[("offset", json!("CET"))]),
            "`offset` must be `Z`, `UTC` or `±HH:MM`"
        );
        let e = apply(
            &parse("date", Some(json!("unix")), &[]).unwrap(),
            json!("jane@example.com"),
        )
        .unwrap_err();
        assert_eq!(e, TransformError::DateInput);
    }

    #[test]
    fn money_with_literal_and_path_currencies() {
        assert_eq!(
            run("money", Some(json!("usd")), &[], json!(1234)),
            json!("12.34 USD")
        );
        assert_eq!(
            run("money", Some(json!("JPY")), &[], json!(1234)),
            json!("1234 JPY")
        );
        assert_eq!(
            run("money", Some(json!("kwd")), &[], json!(-1234)),
            json!("-1.234 KWD")
        );
        assert_eq!(
            run("money_decimal", Some(json!("usd")), &[], json!(1234)),
            json!("12.34")
        );
        assert_eq!(
            run(
                "money",
                Some(json!("eur")),
                &[("thousands", json!(".")), ("point", json!(","))],
                json!(123456789)
            ),
            json!("1.234.567,89 EUR")
        );
        let by_path = parse("money", Some(json!({"path": "data.currency"})), &[]).unwrap();
        assert_eq!(
            by_path.path().map(ToString::to_string).as_deref(),
            Some("data.currency")
        );
        assert_eq!(apply(&by_path, json!(1234)).unwrap(), json!("1234 JPY"));
        let missing = parse("money", Some(json!({"path": "data.nope"})), &[]).unwrap();
        assert_eq!(
            apply(&missing, json!(1234)).unwrap_err(),
            TransformError::NoCurrency("money")
        );
    }

    #[test]
    fn money_refusals() {
        let usd = parse("money", Some(json!("usd")), &[]).unwrap();
        for bad in [json!(12.34), json!("12.34"), json!("jane@example.com")] {
            let e = apply(&usd, bad.clone()).unwrap_err();
            assert!(
                matches!(
                    e,
                    TransformError::Input {
                        transform: "money",
                        ..
                    }
                ),
                "{bad}"
            );
            assert!(!e.to_string().contains("jane"));
        }
        assert_eq!(
            args_error("money", Some(json!("dollars")), &[]),
            "the currency must be a three-letter code such as `usd`"
        );
        assert!(args_error("money", None, &[]).starts_with("needs a currency"));
        assert!(
            args_error("money", Some(json!({"path": "data.x", "y": 1})), &[])
                .starts_with("needs a currency")
        );
        assert!(
            args_error("money", Some(json!({"path": "Data.x"})), &[])
                .contains("does not start with")
        );
        // A filter's currency is data, checked per call.
        let given =
            Transform::parse("money", Some(json!("dollars")), vec![], ArgSource::Filter).unwrap();
        assert_eq!(
            apply(&given, json!(1)).unwrap_err(),
            TransformError::Currency("money")
        );
        let given =
            Transform::parse("money", Some(Value::Null), vec![], ArgSource::Filter).unwrap();
        assert_eq!(
            apply(&given, json!(1)).unwrap_err(),
            TransformError::NoCurrency("money")
        );
        let given = Transform::parse("money", Some(json!(840)), vec![], ArgSource::Filter).unwrap();
        assert_eq!(
            apply(&given, json!(1)).unwrap_err(),
            TransformError::Currency("money")
        );
    }

    #[test]
    fn unknown_transforms_and_stray_arguments() {
        assert_eq!(
            parse("trimm", None, &[]),
            Err(ParseError::Unknown("trimm".into()))
        );
        assert_eq!(
            args_error("trim", Some(json!(" ")), &[]),
            "takes no argument"
        );
        assert_eq!(
            args_error("lower", None, &[("locale", json!("de"))]),
            "unknown option `locale` (it takes no options)"
        );
    }
}
