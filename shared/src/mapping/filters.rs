//! The template engine: minijinja, configured for mappings, with every transform as a filter.
//!
//! minijinja is Armin Ronacher's Rust implementation of Jinja2, the template language people
//! already write in Ansible, dbt, Salt and Home Assistant: small (no proc macros, a handful of
//! dependencies), actively kept, with a sandboxed, side-effect-free expression language and
//! static analysis of a template's variables — which is what lets a rule read only the parts of
//! `data` it uses ([`super::select`]). Inventing a language would have meant writing and
//! documenting one.
//!
//! Settings, and why:
//!
//! * **Chainable undefined.** `{{ data.customer.address.city }}` is empty text when any link is
//!   missing, instead of an error: providers leave out whole objects, and a template decides
//!   with `{% if %}` or `| default(…)` what to write instead. A field that must not be empty
//!   says `required = true`.
//! * **`null` is empty text**, not minijinja's `none`: a JSON `null` in the payload means
//!   nothing to write.
//! * **No auto-escaping.** Outputs are JSON strings for APIs, not HTML.
//! * **No debug capture.** minijinja can attach the template's variables to an error; those
//!   are payload values, so it is off.
//! * **The transforms as filters**, under the same names, with the main argument first and the
//!   options by name: `{{ data.name | split(" ", part="first") }}`,
//!   `{{ data.amount_due | money(data.currency) }}`. They replace minijinja's built-in `trim`,
//!   `lower`, `upper`, `split` and `join`, so a transform does the same in a field's
//!   `transforms` as in a template (`split` returns a list, as the built-in does, unless a
//!   `part` is asked for; `trim` takes no argument; `join` has no `attribute`). `undefined`
//!   and `none` pass through them unchanged, so a missing amount renders as empty text.

use minijinja::value::{Kwargs, Rest, Value as TemplateValue, from_args};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use serde_json::Value;

use super::error::{ArgError, TransformError};
use super::transform::{self, ArgSource, ParseError, Transform};
use super::values::{self, to_template};

/// A minijinja environment with the mapping settings and the transforms as filters.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(|out, state, value| {
        let value = if value.is_none() {
            &TemplateValue::UNDEFINED
        } else {
            value
        };
        minijinja::escape_formatter(out, state, value)
    });
    for name in transform::NAMES {
        env.add_filter(
            name,
            move |value: TemplateValue, args: Rest<TemplateValue>| filter(name, value, &args),
        );
    }
    env
}

/// Runs the transform `name` as a filter.
fn filter(
    name: &'static str,
    value: TemplateValue,
    args: &[TemplateValue],
) -> Result<TemplateValue, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(value);
    }
    let (positional, kwargs): (&[TemplateValue], Kwargs) = from_args(args)?;
    let bad_args = |error: ArgError| {
        failure(TransformError::Args {
            transform: name,
            error,
        })
    };
    if positional.len() > 1 {
        return Err(bad_args(ArgError::new(
            "takes one argument; give options by name (`part=\"first\"`)",
        )));
    }
    let main = positional
        .first()
        .map(|arg| to_json(name, arg))
        .transpose()?;
    let mut options = Vec::new();
    for option in kwargs.args() {
        let value: TemplateValue = kwargs.get(option)?;
        options.push((option.to_owned(), to_json(name, &value)?));
    }
    let transform = match Transform::parse(name, main, options, ArgSource::Filter) {
        Ok(transform) => transform,
        Err(ParseError::Args(_, error)) => return Err(bad_args(error)),
        Err(ParseError::Unknown(_)) => return Err(Error::from(ErrorKind::UnknownFilter)),
    };
    let out = transform
        .apply(to_json(name, &value)?, &|_| None)
        .map_err(failure)?;
    Ok(to_template(&out))
}

/// A template value as JSON (`undefined` becomes `null`).
fn to_json(name: &'static str, value: &TemplateValue) -> Result<Value, Error> {
    values::to_json(value).ok_or_else(|| {
        failure(TransformError::Input {
            transform: name,
            expected: "a JSON value",
            found: "a value that is not JSON (a callable, a map with non-text keys, NaN)",
        })
    })
}

/// A filter's error, carrying the [`TransformError`] as its source: the one part of a
/// template error at run time that is both specific and safe to report.
fn failure(error: TransformError) -> Error {
    Error::new(ErrorKind::InvalidOperation, error.to_string()).with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::error::Error as _;

    fn render(template: &str, data: Value) -> Result<String, Error> {
        let env = environment();
        env.render_str(
            template,
            minijinja::context! { data => TemplateValue::from_serialize(&data) },
        )
    }

    fn ok(template: &str, data: Value) -> String {
        render(template, data).unwrap()
    }

    fn transform_error(template: &str, data: Value) -> TransformError {
        let e = render(template, data).unwrap_err();
        e.source()
            .and_then(|s| s.downcast_ref::<TransformError>())
            .cloned()
            .unwrap_or_else(|| panic!("no transform error in {e:?}"))
    }

    #[test]
    fn every_transform_is_a_filter() {
        let data = json!({"name": "  Jane Mary Doe ", "amount": 1234, "currency": "usd",
                          "jpy": "JPY", "n": 1234567.891, "t": 1714982400, "tags": ["a", "b"]});
        assert_eq!(ok("{{ data.name | trim }}", data.clone()), "Jane Mary Doe");
        assert_eq!(
            ok("{{ data.name | trim | lower }}", data.clone()),
            "jane mary doe"
        );
        assert_eq!(
            ok("{{ data.name | upper | trim }}", data.clone()),
            "JANE MARY DOE"
        );
        assert_eq!(
            ok(
                r#"{{ data.name | trim | split(" ", part="first") }}"#,
                data.clone()
            ),
            "Jane"
        );
        assert_eq!(
            ok(
                r#"{{ data.name | trim | split(" ", part="rest") }}"#,
                data.clone()
            ),
            "Mary Doe"
        );
        assert_eq!(
            ok(
                r#"{{ data.name | trim | split(" ") | length }}"#,
                data.clone()
            ),
            "3"
        );
        assert_eq!(ok(r#"{{ data.tags | join(", ") }}"#, data.clone()), "a, b");
        assert_eq!(
            ok(
                r#"{{ data.n | format_number(2, thousands=",") }}"#,
                data.clone()
            ),
            "1,234,567.89"
        );
        assert_eq!(
            ok(
                r#"{{ data.t | date("[year]-[month]-[day]") }}"#,
                data.clone()
            ),
            "2024-05-06"
        );
        assert_eq!(
            ok(r#"{{ data.t | date("unix_ms") }}"#, data.clone()),
            "1714982400000"
        );
        assert_eq!(
            ok("{{ data.amount | money(data.currency) }}", data.clone()),
            "12.34 USD"
        );
        assert_eq!(
            ok("{{ data.amount | money(data.jpy) }}", data.clone()),
            "1234 JPY"
        );
        assert_eq!(
            ok("{{ data.amount | money_decimal('usd') }}", data.clone()),
            "12.34"
        );
        assert_eq!(
            ok(
                r#"{{ data.amount | money("eur", thousands=".", point=",") }}"#,
                json!({"amount": 123456789})
            ),
            "1.234.567,89 EUR"
        );
    }

    #[test]
    fn missing_values_render_empty() {
        assert_eq!(
            ok("[{{ data.nope | money(data.currency) }}]", json!({})),
            "[]"
        );
        assert_eq!(ok("[{{ data.a.b.c | upper }}]", json!({})), "[]");
        assert_eq!(ok("[{{ data.tax }}]", json!({"tax": null})), "[]");
        assert_eq!(ok("[{{ data.tax | trim }}]", json!({"tax": null})), "[]");
        assert_eq!(ok("{{ data.nope | default('n/a') }}", json!({})), "n/a");
    }

    #[test]
    fn no_html_escaping() {
        assert_eq!(ok("{{ data.s }}", json!({"s": "<a & b>"})), "<a & b>");
    }

    #[test]
    fn filter_failures_carry_a_safe_transform_error() {
        let e = transform_error(
            "{{ data.amount | money(data.currency) }}",
            json!({"amount": 1, "currency": "jane@example.com"}),
        );
        assert_eq!(e, TransformError::Currency("money"));
        let e = transform_error(
            "{{ data.amount | money(data.currency) }}",
            json!({"amount": 1}),
        );
        assert_eq!(e, TransformError::NoCurrency("money"));
        let e = transform_error(
            "{{ data.email | money('usd') }}",
            json!({"email": "jane@example.com"}),
        );
        assert!(matches!(
            e,
            TransformError::Input {
                transform: "money",
                ..
            }
        ));
        assert!(!e.to_string().contains("jane"));
        let e = transform_error(
            "{{ data.t | date('rfc3339') }}",
            json!({"t": "jane@example.com"}),
        );
        assert_eq!(e, TransformError::DateInput);
    }

    #[test]
    fn bad_filter_arguments() {
        let e = transform_error(r#"{{ data.s | split(" ", "first") }}"#, json!({"s": "a b"}));
        assert!(
            e.to_string().starts_with("`split`: takes one argument"),
            "{e}"
        );
        let e = transform_error(
            r#"{{ data.s | split(" ", parts="first") }}"#,
            json!({"s": "a b"}),
        );
        assert_eq!(
            e.to_string(),
            "`split`: unknown option `parts` (expected `part`)"
        );
        let e = transform_error(r#"{{ data.s | date("[yeer]") }}"#, json!({"s": 1}));
        assert_eq!(e.to_string(), "`date`: the format description is invalid");
        let e = transform_error(r#"{{ data.s | trim(" ") }}"#, json!({"s": "a"}));
        assert_eq!(e.to_string(), "`trim`: takes no argument");
    }
}
