//! Declarative field mapping: a TOML file of rules turns an event into the fields its
//! destination accepts.
//!
//! An integration's mapping is data, not Rust code: one file per function, embedded at build
//! time (`include_str!`), which an operator can replace without a rebuild by pointing the
//! `MAPPING_FILE` environment variable at another file. The function declares what its
//! destination accepts ([`Schema`]); [`Mapping::from_env`] checks the whole file against it at
//! cold start, so a typo stops the function with a message naming the file, the line, the rule
//! and the problem, instead of dead-lettering every event; [`Mapping::apply`] maps each event.
//!
//! ```
//! use switchyard::envelope::CloudEvent;
//! use switchyard::mapping::{FieldType, Mapping, Schema};
//!
//! const MAPPING: &str = r##"
//! [[rule]]
//! name = "invoice-payment-failed"
//! source = "stripe"
//! type = "invoice.payment_failed"
//! [rule.fields]
//! channel = { value = "#billing" }
//! text = { template = "Payment failed for {{ data.customer_email }}: {{ data.amount_due | money(data.currency) }}" }
//! "##;
//!
//! let slack = Schema::new()
//!     .required("channel", FieldType::String)
//!     .field("text", FieldType::String)
//!     .field("blocks", FieldType::Array);
//! // In a function: Mapping::from_env(include_str!("../mapping.toml"), "mapping.toml", &slack)
//! let mapping = Mapping::load(MAPPING, "mapping.toml", &slack)?;
//!
//! let event = CloudEvent::new_json_bytes(
//!     "evt_1",
//!     "stripe",
//!     "invoice.payment_failed",
//!     br#"{"customer_email": "jane@example.com", "amount_due": 1234, "currency": "usd"}"#,
//! )?;
//! let mapped = mapping.apply(&event)?.expect("the rule selects this event");
//! assert_eq!(mapped.rule(), "invoice-payment-failed");
//! assert_eq!(mapped.get_str("text"), Some("Payment failed for jane@example.com: 12.34 USD"));
//! assert_eq!(mapped.get_str("channel"), Some("#billing"));
//!
//! let other = CloudEvent::new_json_bytes("evt_2", "stripe", "invoice.paid", b"{}")?;
//! assert!(mapping.apply(&other)?.is_none()); // no rule: the deliverer skips it
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The file
//!
//! ```toml
//! [[rule]]
//! name = "invoice-payment-failed"          # unique; in errors, logs and Mapped::rule()
//! source = "stripe"                        # the envelope's `source`: exact, `*` glob, or a list
//! type = ["invoice.payment_failed", "invoice.payment_action_required"]
//!
//! [rule.fields]                            # destination field → how to compute it
//! email = { path = "data.data.object.customer_email", required = true, transforms = ["trim", "lower"], mask = "email" }
//! first_name = { path = "data.data.object.customer_name", transforms = ["trim", { split = " ", part = "first" }], default = "there", mask = true }
//! amount = { path = "data.data.object.amount_due", transforms = [{ money_decimal = { path = "data.data.object.currency" } }], type = "number" }
//! due = { path = "data.data.object.due_date", transforms = [{ date = "[day].[month].[year]", offset = "+01:00" }] }
//! text = { template = "Payment failed for {{ data.data.object.customer_email }}: {{ data.data.object.amount_due | money(data.data.object.currency) }}", mask = true }
//! blocks = { value = [
//!   { type = "section", text = { type = "mrkdwn", text = "*Invoice* {{ data.data.object.number }}" } },
//!   { type = "context", elements = [{ type = "mrkdwn", text = "Stripe event {{ id }}" }] },
//! ] }
//!
//! [[rule]]                                 # rules are tried in order: put catch-alls last
//! name = "other-invoice-events"
//! source = "stripe"
//! type = "invoice.*"
//! fields.text = { template = "{{ type }} for {{ subject }}" }
//! ```
//!
//! (A Stripe receiver puts the whole Stripe event in `data`, so the invoice is at
//! `data.data.object`.)
//!
//! ## Rules
//!
//! | key | | meaning |
//! |---|---|---|
//! | `name` | required | unique, non-empty; names the rule in errors and in [`Mapped::rule`] |
//! | `source` | required | pattern(s) for the envelope's `source` (the receiver's `SOURCE`, by default the provider's name) |
//! | `type` | required | pattern(s) for the envelope's `type` (the provider's event type) |
//! | `fields` | | destination field name → field; every name must be in the [`Schema`], and every field the schema requires must be set |
//!
//! A pattern is exact text, or text with `*` matching any run of characters (dots included,
//! possibly none): `customer.*`, `*.failed`, `*`. `?`, `[`, `]`, `{`, `}`, `**` and whitespace
//! are refused. `source` and `type` also take a list (`["a", "b.*"]`), matching when any entry
//! does.
//!
//! **The first matching rule wins**: rules are tried in file order, and the first whose
//! `source` and `type` both match maps the event; the rest are not tried. When none matches,
//! [`Mapping::apply`] returns `Ok(None)` and the deliverer acknowledges the event as skipped.
//!
//! ## Fields
//!
//! | key | meaning |
//! |---|---|
//! | `path` | the value at a path into the event (below) |
//! | `template` | text rendered from a minijinja template (below) |
//! | `value` | a literal: any TOML value; in a table or array (Slack `blocks`) every string is a template, rendered in place |
//! | `default` | used when the value is missing; a literal, not transformed, coerced to the type; alone, it makes the field a constant |
//! | `required` | `true`: a missing value fails the event (permanently); `false` by default (a schema-required field is always required) |
//! | `type` | coerce to `string`, `integer`, `number`, `boolean`, `array`, `object` or `any` (below) |
//! | `transforms` | a list of transforms applied in order (below) |
//! | `mask` | how the value is shown in logs: `true` or `"erase"`, `"email"`, `{ keep_last = N }`; `false` or absent: as it is (below) |
//!
//! A field has exactly one of `path`, `template` and `value`, or only a `default`. Per event
//! it is computed in this order: the source; the transforms, in order (`null` passes through
//! each); then, if the value is **missing** — absent, `null`, or empty text — the `default`,
//! else an error for a required field, else the field is **left out** of [`Mapped`] (not set
//! to `null`: a destination that updates records keeps what it had rather than clearing it);
//! finally the coercion to the field's `type`, then to the schema's type for that field.
//! `0`, `false`, `[]` and `{}` are values, not missing.
//!
//! ## Masks: personal fields in logs
//!
//! A deliverer logs what a rule mapped, at DEBUG level, through [`Mapped::for_log`]: one line
//! per record, `"message":"mapped"`, with the rule's name and the fields. A field whose `mask`
//! names one is shown masked there (never in what is sent); every other field is shown as it
//! is. The masks are the kit's [`crate::mask`], modelled on Powertools' data masking:
//!
//! | `mask =` | shows `"ada@example.com"` as | `"+44 20 7946 0958"` as | for |
//! |---|---|---|---|
//! | `true` or `"erase"` | `"*****"` | `"*****"` | names, free text, templates with personal values |
//! | `"email"` | `"*****@example.com"` (the domain of one address; anything else erased) | `"*****"` | e-mail addresses |
//! | `{ keep_last = 4 }` (1 to 8) | `"*****.com"` | `"*****0958"` (only when at most half the text) | phone and card numbers |
//!
//! Numbers and booleans are erased by every mask; arrays and objects (`blocks`) keep their
//! shape, every value inside masked. **Mark every field that can carry a personal value**,
//! including those computed from one: a `template` or `value` that interpolates an e-mail or a
//! name is logged as rendered, so it needs `mask = true` as much as the `path` that reads the
//! e-mail does.
//!
//! ```toml
//! email = { path = "data.customer.email", mask = "email" }
//! phone = { path = "data.customer.phone", mask = { keep_last = 4 } }
//! text = { template = "Welcome, {{ data.customer.name }}!", mask = true }
//! plan = { path = "data.plan" }                       # not personal: logged as it is
//! ```
//!
//! The level is the function's: `AWS_LAMBDA_LOG_LEVEL=DEBUG` (Lambda's `LoggingConfig`
//! `ApplicationLogLevel`) or `RUST_LOG` (see [`crate::telemetry::logging`]); at the default,
//! INFO, the line is not written and nothing is masked. An unknown mask, or a `keep_last` out
//! of range, stops the function at load like any other error in the file.
//!
//! ## Paths
//!
//! A path is written as the envelope travels in JSON: dot-separated, starting with `data`
//! (the payload), a context attribute (`id`, `source`, `type`, `subject`, `time` as RFC 3339,
//! `specversion`, `datacontenttype`, `dataschema`) or an extension (`deliveryid`; lower-case
//! `a-z0-9`). Only `data` has members: `data.customer.email`; a number indexes an array
//! (`data.items.0.sku`) and otherwise names a member. A path that leads nowhere is absent,
//! never an error. Members whose names contain a dot are reached from templates
//! (`data.metadata["a.b"]`).
//!
//! ## Templates
//!
//! [minijinja](https://docs.rs/minijinja) (Jinja2) templates. The variables are the
//! envelope's, as for paths: `{{ data.customer.email }}`, `{{ id }}`, `{{ time }}`,
//! `{{ deliveryid }}`. A missing value, at any depth, renders as empty text, and so does a JSON
//! `null`; `{% if %}` and `| default("…")` choose what to write instead. There is no HTML
//! escaping. minijinja's built-in filters and tests are available (`default`, `length`,
//! `round`, `tojson`, `is defined`, …) and every transform is also a filter, with its argument
//! first and its options by name: `{{ data.name | split(" ", part="first") }}`,
//! `{{ data.amount_due | money(data.currency) }}`. The kit's filters replace the built-in
//! `trim`, `lower`, `upper`, `split` and `join`, so each works the same in both places.
//!
//! At load, a template is compiled and checked: a syntax error, an unknown filter or test, or a
//! variable that is neither an attribute, `data`, an extension name nor a minijinja global
//! (`customer_email` for `data.customer_email`) stops the function. A filter whose argument
//! is wrong for the event's values (a currency that is not a code) fails that event.
//!
//! ## Types
//!
//! | type | accepts |
//! |---|---|
//! | `string` | text; numbers and booleans become their JSON text |
//! | `integer` | integers; floats without a fraction (`12.0`); text holding one (`" 42 "`, `"1e3"`) |
//! | `number` | numbers; numeric text (`"12.50"` → `12.5`, `"42"` → `42`) |
//! | `boolean` | booleans; `true`/`false`/`yes`/`no`/`1`/`0` in any case; the numbers 0 and 1 |
//! | `array`, `object` | that JSON type, unchanged (Slack `blocks`) |
//! | `any` | anything (no coercion; the default) |
//!
//! ## Transforms
//!
//! In `transforms`, a transform is its name (`"trim"`) or an inline table whose key is the
//! transform's name and whose value is its argument, with its options beside it
//! (`{ split = " ", part = "first" }`). The same in a template is `| split(" ", part="first")`.
//!
//! | transform | in a field | in a template | example |
//! |---|---|---|---|
//! | `trim` | `"trim"` | `x \| trim` | `"  Jane "` → `"Jane"` |
//! | `lower` | `"lower"` | `x \| lower` | `"Jane@Example.COM"` → `"jane@example.com"` |
//! | `upper` | `"upper"` | `x \| upper` | `"usd"` → `"USD"` |
//! | `split` | `{ split = " ", part = "first" }` | `x \| split(" ", part="first")` | `"Jane Mary Doe"` → `"Jane"`; `part = "rest"` → `"Mary Doe"`; `"last"` → `"Doe"`; `1` → `"Mary"`, `-1` → `"Doe"`; no `part` (or `"all"`) → `["Jane", "Mary", "Doe"]` |
//! | `join` | `{ join = ", " }` | `x \| join(", ")` | `["a", 1, null]` → `"a, 1"` |
//! | `format_number` | `{ format_number = 2, thousands = ",", point = "." }` | `x \| format_number(2, thousands=",")` | `1234567.891` → `"1,234,567.89"` |
//! | `date` | `{ date = "[year]-[month]-[day]", offset = "+02:00" }` | `x \| date("[year]-[month]-[day]")` | `1714982400` or `"2024-05-06T08:00:00Z"` → `"2024-05-06"` |
//! | `money` | `{ money = "usd" }` or `{ money = { path = "data.currency" } }` | `x \| money(data.currency)` | `1234` + `usd` → `"12.34 USD"`; + `jpy` → `"1234 JPY"`; + `kwd` → `"1.234 KWD"`; `-1234` + `usd` → `"-12.34 USD"` |
//! | `money_decimal` | `{ money_decimal = "usd" }` | `x \| money_decimal("usd")` | `1234` + `usd` → `"12.34"` (add `type = "number"` for `12.34`) |
//!
//! Details:
//!
//! * **Text transforms** (`trim`, `lower`, `upper`) take numbers and booleans as their JSON
//!   text and apply to each element of a list, so `split`, `trim`, `join` cleans up
//!   `"a, b ,c"`.
//! * **`split`**: the separator is literal text (trim first if the input may have stray
//!   spaces). `first` and `last` are the whole text when the separator is absent; `rest` is
//!   then empty (so missing); an index out of range is missing.
//! * **`join`** skips `null`s; text stays as it is.
//! * **`format_number`**: the argument is the number of decimals (0–20; without it the number
//!   keeps its own); options `thousands` (default none) and `point` (default `.`). Input is a
//!   number or numeric text. Rounding is decimal, half away from zero (`2.675` → `2.68`).
//! * **`date`**: input is RFC 3339 text or Unix seconds (a number or numeric text, fractions
//!   kept). The argument is `rfc3339`, `unix` (seconds), `unix_ms` (milliseconds, as HubSpot
//!   date properties want) or a [`time` format description] (version 2). The date keeps its
//!   own offset (UTC for Unix seconds) unless `offset` (`Z`, `UTC`, `±HH:MM`) is given; there
//!   is no time-zone database.
//! * **`money`** / **`money_decimal`**: input is an integer amount in minor units (also a
//!   whole float or integer text). Zero-decimal currencies (Stripe's list: BIF CLP DJF GNF JPY
//!   KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF) and three-decimal ones (BHD JOD KWD OMR TND)
//!   are known; any other three-letter code has two decimals; anything else is refused. The
//!   code is written upper-case after the amount; options `thousands` and `point` as for
//!   `format_number`. In a field, the currency is a code or `{ path = "…" }` read from the
//!   event (checked per event); in a template, any expression.
//!
//! [`time` format description]: https://time-rs.github.io/book/api/format-description.html
//!
//! # Errors
//!
//! At load, a [`LoadError`] displays as ``mapping.toml:14: rule `invoice-payment-failed`,
//! field `amount`: unknown transform `mony` (expected one of: trim, lower, …)`` — the file,
//! the line (the TOML parser's for syntax and unknown keys; the rule's, field's or transform's
//! otherwise), the rule and field when known, and the problem. Every check is listed under
//! [`Mapping::load`]; `MAPPING_FILE` naming a file that cannot be read is one too.
//!
//! Per event, a [`MappingError`] displays as ``mapping rule `invoice-payment-failed`, field
//! `email`, event `evt_1`: required value is missing (absent, null or empty)``. It is always
//! permanent (the same event meets the same rule every time) and converts into the kit's
//! [`Error`](crate::Error) with `?`. It names the rule, field, transform, types and event id,
//! never a payload value: a coercion says `cannot convert a string that is not a whole number
//! to integer`, a template failure keeps minijinja's error kind and line (and the kit's filter
//! error), not minijinja's detail, which can quote values.
//!
//! # Performance
//!
//! Parsing a 10 KB payload into a `serde_json::Value` alone costs about the kit's whole
//! per-event budget (< 50 µs for mapping and idempotency bookkeeping). So a rule reads only what
//! it uses: at load, the paths of its fields and transforms and the variables of its templates
//! (minijinja's static analysis) are collected into a selection, and per event one skipping
//! scan over the raw `data` (eight bytes at a time) parses just those values. A template that
//! uses `data` as a whole (`{{ data | tojson }}`, `data[name]`) selects all of it, and pays for
//! it. Templates get their values converted directly, not through serde.
//!
//! Measured with `benches/mapping.rs`: a ~10 KB Stripe `invoice.payment_failed` envelope
//! through a rule with seven fields (three paths with `trim`/`lower`, `split` and
//! `money_decimal` reading the currency from the event; a `money` template; a text template
//! with `trim` and `money`; a three-block `blocks` value with two templates; a default),
//! release profile (opt-level "z", LTO), shared 2-core host:
//!
//! | | time per event | instructions (callgrind) |
//! |---|---|---|
//! | [`Mapping::apply`], the whole rule | **29–31 µs** | ~192 k |
//! | the same rule's path fields alone (reading `data`: the scan, mostly skipping the 9 KB of invoice lines) | 13–15 µs | ~107 k |
//! | for comparison: all of `data` into a `serde_json::Value` | 48–68 µs | |
//!
//! The same session measured the envelope bench's `from_json` at ~15 µs, against ~13 µs in
//! [`crate::envelope`]'s documentation, so on a quieter host `apply` is nearer 26 µs. The four
//! template renders (three filter calls) and the `blocks` value cost about as much as the scan.
//!
//! # Why TOML and minijinja
//!
//! TOML is what people already edit for configuration: comments, no significant indentation,
//! inline tables for one-line fields, arrays of tables for rules, positions in errors. Mapping
//! needs expressions (`amount | money(currency)`), conditionals and loops for message text, and
//! a language the function's owner can look up: minijinja is Armin Ronacher's (the author of
//! Jinja2) Rust implementation of Jinja2, actively kept, small (no proc macros), sandboxed and
//! side-effect free, and it can report a template's variables before it runs — which is what
//! lets a rule read only what it uses. Writing a language of our own would have meant
//! specifying, testing and documenting one.

mod coerce;
mod date;
mod engine;
mod error;
mod field;
mod file;
mod filters;
mod glob;
mod mapped;
mod money;
mod number;
mod path;
mod rule;
mod schema;
mod select;
mod structure;
mod template;
mod transform;
mod values;
mod view;

pub use coerce::CoerceError;
pub use engine::{MAPPING_FILE_VAR, Mapping};
pub use error::{
    ArgError, LoadError, LoadProblem, MappingError, MappingProblem, TemplateError, TransformError,
};
pub use mapped::{ForLog, Mapped};
pub use schema::{FieldType, Schema, SchemaField};
