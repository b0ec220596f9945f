//! Logs: one `tracing` subscriber per process, with the event id on every line.
//!
//! Call [`init`] first thing in `main`; wrap the handling of each event in [`event_span`]. The
//! subscriber follows Lambda's advanced logging controls:
//!
//! - `AWS_LAMBDA_LOG_FORMAT=JSON` → one JSON object per line (see below); anything else →
//!   compact text (ANSI colours only when stdout is a terminal, never in CloudWatch).
//! - `AWS_LAMBDA_LOG_LEVEL` (`TRACE`…`ERROR`, `FATAL` = `ERROR`), else `RUST_LOG` (full
//!   `target=level` directives, as `tracing-subscriber`'s `Targets` reads them), else `INFO`.
//!
//! A JSON line is flat, in the shape Powertools and Lambda's own JSON logs use:
//!
//! ```json
//! {"timestamp":"2024-05-06T07:08:09.123Z","level":"WARN","message":"retrying","target":"stripe","event_id":"evt_1","requestId":"8f5…","attempt":2}
//! ```
//!
//! The fields of every enclosing span — from the runtime's invocation span (`requestId`,
//! `xrayTraceId`) down to the innermost — are merged into the top level, then the event's own
//! fields (inner wins on a name clash). A field that would overwrite `timestamp`, `level`,
//! `message` or `target` is written as `fields.<name>` instead.
//!
//! # Why not `lambda_runtime::tracing::init_default_subscriber`
//!
//! It reads the same variables, but (checked against lambda_runtime 1.5 /
//! lambda_runtime_api_client 1.1): it calls `init()`, which panics when a subscriber is already
//! set, so it is not idempotent; its JSON mode is tracing-subscriber's stock formatter, which
//! nests span fields under `"span"`/`"spans"` — only the innermost span's fields appear under
//! `"span"`, so a line logged inside a nested span (an HTTP call within the event) loses
//! `event_id` from there, and log queries must dig into arrays; `RUST_LOG` overrides
//! `AWS_LAMBDA_LOG_LEVEL` in it (the latter is only the default directive), the reverse of its
//! own documentation; and text mode keeps ANSI colours, which CloudWatch shows as escape
//! codes. The ~150 lines here fix those four things and nothing else.

use std::borrow::Cow;
use std::fmt;
use std::io::IsTerminal as _;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::field::{Field, Visit};
use tracing::{Event, Span, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer, Registry};

/// The span field that carries the event id; log queries filter on it.
pub const EVENT_ID_FIELD: &str = "event_id";

/// Keys the JSON line owns; span or event fields with these names are prefixed `fields.`.
const RESERVED: [&str; 4] = ["timestamp", "level", "message", "target"];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One flat JSON object per line (Lambda's JSON log format).
    Json,
    /// Compact human-readable text (Lambda's default text format, and local runs).
    Text,
}

impl LogFormat {
    /// The format Lambda asks for through `AWS_LAMBDA_LOG_FORMAT`.
    pub fn from_env() -> Self {
        Self::parse(std::env::var("AWS_LAMBDA_LOG_FORMAT").ok().as_deref())
    }

    /// `JSON` (any case) is JSON; anything else, or nothing, is text — Lambda's own default.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// The level filter from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `INFO`.
///
/// `AWS_LAMBDA_LOG_LEVEL` is one level (an unknown value means `INFO`); `RUST_LOG` is a list of
/// `target=level` directives (and a bare level for the default), of which those that do not
/// parse are ignored (with a note on stderr) and, without a default among them, `INFO` applies —
/// a typo never silences a function.
///
/// The filter is `tracing-subscriber`'s `Targets`, not its `EnvFilter`: the same directives
/// minus span and field filters (`[span{field=value}]`), which a Lambda's logs do not need, and
/// without the `regex` engine `EnvFilter` links — about 200 KB of code that every function
/// would map at cold start (measured in `tests/benches/cold_start.rs`).
pub fn filter_from_env() -> Targets {
    let lambda = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    parse_filter(&filter_directives(lambda.as_deref(), rust_log.as_deref()))
}

/// The directive string the environment asks for (see [`filter_from_env`]).
fn filter_directives<'a>(lambda_level: Option<&'a str>, rust_log: Option<&'a str>) -> Cow<'a, str> {
    let non_empty = |v: Option<&'a str>| v.map(str::trim).filter(|v| !v.is_empty());
    if let Some(level) = non_empty(lambda_level) {
        // Lambda's levels are upper-case and include FATAL, which `tracing` calls ERROR. It is
        // a level, not a directive list: an unknown value means INFO (a bare word would
        // otherwise parse as a target name and silence everything else).
        let level = if level.eq_ignore_ascii_case("fatal") {
            LevelFilter::ERROR
        } else {
            level.parse().unwrap_or(LevelFilter::INFO)
        };
        return Cow::Owned(level.to_string().to_ascii_lowercase());
    }
    non_empty(rust_log).map_or(Cow::Borrowed("info"), Cow::Borrowed)
}

fn parse_filter(directives: &str) -> Targets {
    let mut filter = Targets::new();
    let mut default = None;
    for directive in directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        match directive.parse::<Targets>() {
            Ok(parsed) => {
                default = parsed.default_level().or(default);
                for (target, level) in parsed.iter() {
                    filter = filter.with_target(target.to_owned(), level);
                }
            }
            Err(e) => eprintln!("ignoring the log directive `{directive}`: {e}"),
        }
    }
    filter.with_default(default.unwrap_or(LevelFilter::INFO))
}

/// Installs the process-wide subscriber on stdout, configured from the environment.
///
/// Idempotent: returns `true` if this call installed it, `false` if a subscriber was already
/// set (by an earlier call, a test harness or another library), which is left in place.
pub fn init() -> bool {
    let format = LogFormat::from_env();
    let ansi = format == LogFormat::Text && std::io::stdout().is_terminal();
    install(format, filter_from_env(), std::io::stdout, ansi)
}

/// Sets the global subscriber unless one is set; `true` if this call set it.
fn install<W>(format: LogFormat, filter: Targets, writer: W, ansi: bool) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(format, filter, writer, ansi).try_init().is_ok()
}

/// The subscriber [`init`] installs, writing to `writer` instead of stdout (never with ANSI
/// colours).
///
/// For tests and for callers that want a different sink (e.g. a non-blocking writer); use it
/// with `tracing::subscriber::with_default` or `set_global_default`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: Targets,
    writer: W,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(format, filter, writer, false)
}

fn build<W>(
    format: LogFormat,
    filter: Targets,
    writer: W,
    ansi: bool,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .with_ansi(false)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .compact()
            // CloudWatch timestamps every line already.
            .without_time()
            .with_ansi(ansi)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    };
    Registry::default().with(layer)
}

/// The span to handle one event in: every line logged inside it carries `event_id`.
///
/// ```
/// let span = switchyard::telemetry::event_span("evt_123");
/// let _entered = span.enter(); // or `.instrument(span)` on a future
/// tracing::info!("delivered"); // {"message":"delivered","event_id":"evt_123",…}
/// ```
///
/// The span is at `ERROR` level on purpose: a span the level filter disables records no
/// fields, so at `AWS_LAMBDA_LOG_LEVEL=WARN` an `INFO` span would leave the warnings of that
/// event without their id.
pub fn event_span(id: &str) -> Span {
    tracing::error_span!("event", event_id = id)
}

/// The JSON formatter: span fields flattened into the line (see the module docs).
struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                // `JsonFields` stores each span's fields as a JSON object string.
                if let Some(stored) = extensions.get::<FormattedFields<JsonFields>>()
                    && let Ok(Value::Object(map)) = serde_json::from_str(&stored.fields)
                {
                    fields.extend(map);
                }
            }
        }
        let mut visitor = FieldVisitor {
            fields: &mut fields,
            message: None,
        };
        event.record(&mut visitor);
        let message = visitor.message;

        let meta = event.metadata();
        let line = Line {
            timestamp: OffsetDateTime::now_utc().format(&Rfc3339).ok(),
            level: meta.level().as_str(),
            message: message.as_deref(),
            target: meta.target(),
            fields: &fields,
        };
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writer.write_str(&text)?;
        writer.write_char('\n')
    }
}

/// One JSON log line, serialised in a fixed key order (timestamp, level, message, target,
/// then the fields) whatever `serde_json`'s map ordering is.
struct Line<'a> {
    timestamp: Option<String>,
    level: &'a str,
    message: Option<&'a str>,
    target: &'a str,
    fields: &'a Map<String, Value>,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(ts) = &self.timestamp {
            map.serialize_entry("timestamp", ts)?;
        }
        map.serialize_entry("level", self.level)?;
        if let Some(message) = self.message {
            map.serialize_entry("message", message)?;
        }
        map.serialize_entry("target", self.target)?;
        for (name, value) in self.fields {
            if RESERVED.contains(&name.as_str()) {
                map.serialize_entry(&format_args!("fields.{name}"), value)?;
            } else {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// Records an event's fields as JSON values, keeping `message` apart.
struct FieldVisitor<'a> {
    fields: &'a mut Map<String, Value>,
    message: Option<String>,
}

impl FieldVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        self.fields.insert(field.name().to_owned(), value);
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.put(field, Value::from(value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.put(field, Value::from(text));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` that collects everything written, for asserting on log lines.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }

        fn json_lines(&self) -> Vec<Value> {
            self.lines()
                .iter()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect()
        }
    }

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn capture(format: LogFormat, directives: &str, body: impl FnOnce()) -> Buffer {
        let buffer = Buffer::default();
        let sub = subscriber(format, parse_filter(directives), buffer.clone());
        tracing::subscriber::with_default(sub, body);
        buffer
    }

    #[test]
    fn json_lines_carry_the_event_id() {
        let out = capture(LogFormat::Json, "info", || {
            let span = event_span("evt_42");
            let _entered = span.enter();
            tracing::info!(attempt = 2, ok = true, "delivering");
        });
        let lines = out.json_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert_eq!(line["event_id"], "evt_42");
        assert_eq!(line["message"], "delivering");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["attempt"], 2);
        assert_eq!(line["ok"], true);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(line.get("span").is_none() && line.get("spans").is_none());
    }

    #[test]
    fn nested_spans_keep_the_event_id_and_add_their_fields() {
        let out = capture(LogFormat::Json, "info", || {
            let span = event_span("evt_7");
            let _outer = span.enter();
            let inner = tracing::info_span!("http", host = "api.example.com");
            let _inner = inner.enter();
            tracing::warn!(status = 503u64, "retrying");
            drop(_inner);
            tracing::error!(message = "dead-lettered", level = "custom");
        });
        let lines = out.json_lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0]["event_id"], "evt_7");
        assert_eq!(lines[0]["host"], "api.example.com");
        assert_eq!(lines[0]["status"], 503);
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[1]["event_id"], "evt_7");
        assert!(lines[1].get("host").is_none());
        assert_eq!(lines[1]["level"], "ERROR");
        assert_eq!(lines[1]["fields.level"], "custom");
        assert_eq!(lines[1]["message"], "dead-lettered");
    }

    #[test]
    fn event_span_survives_a_stricter_level() {
        let out = capture(LogFormat::Json, "warn", || {
            let span = event_span("evt_w");
            let _entered = span.enter();
            tracing::info!("filtered out");
            tracing::warn!("kept");
        });
        let lines = out.json_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["event_id"], "evt_w");
    }

    #[test]
    fn lines_outside_an_event_have_no_event_id() {
        let out = capture(LogFormat::Json, "info", || tracing::info!("startup"));
        let lines = out.json_lines();
        assert_eq!(lines[0]["message"], "startup");
        assert!(lines[0].get(EVENT_ID_FIELD).is_none());
    }

    #[test]
    fn text_format_is_plain_and_carries_the_event_id() {
        let out = capture(LogFormat::Text, "info", || {
            let span = event_span("evt_t");
            let _entered = span.enter();
            tracing::info!("hello");
        });
        let lines = out.lines();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("evt_t"), "{}", lines[0]);
        assert!(lines[0].contains("hello"));
        assert!(
            !lines[0].contains('\u{1b}'),
            "no ANSI escapes: {:?}",
            lines[0]
        );
    }

    #[test]
    fn level_comes_from_lambda_then_rust_log_then_info() {
        assert_eq!(filter_directives(Some("DEBUG"), Some("trace")), "debug");
        assert_eq!(filter_directives(Some("FATAL"), None), "error");
        assert_eq!(
            filter_directives(Some(" "), Some("switchyard=debug")),
            "switchyard=debug"
        );
        assert_eq!(filter_directives(None, None), "info");
        // An unknown Lambda level falls back to INFO rather than silencing everything.
        assert_eq!(filter_directives(Some("verbose"), None), "info");
        let out = capture(
            LogFormat::Json,
            &filter_directives(Some("verbose"), None),
            || {
                tracing::debug!("no");
                tracing::info!("yes");
            },
        );
        assert_eq!(out.lines().len(), 1);
    }

    #[test]
    fn rust_log_directives_filter_by_target_and_bad_ones_are_ignored() {
        let levels = |directives: &str| {
            let filter = parse_filter(directives);
            let level = |target: &str| {
                [
                    LevelFilter::TRACE,
                    LevelFilter::DEBUG,
                    LevelFilter::INFO,
                    LevelFilter::WARN,
                    LevelFilter::ERROR,
                ]
                .into_iter()
                .find(|l| {
                    l.into_level()
                        .is_some_and(|lvl| filter.would_enable(target, &lvl))
                })
                .unwrap_or(LevelFilter::OFF)
            };
            (level("switchyard::batch"), level("aws_smithy_runtime"))
        };
        assert_eq!(levels("info"), (LevelFilter::INFO, LevelFilter::INFO));
        assert_eq!(
            levels("switchyard=debug"),
            (LevelFilter::DEBUG, LevelFilter::INFO),
            "without a default level, INFO"
        );
        assert_eq!(
            levels("warn, switchyard=trace"),
            (LevelFilter::TRACE, LevelFilter::WARN)
        );
        assert_eq!(
            levels("switchyard=loud,error"),
            (LevelFilter::ERROR, LevelFilter::ERROR),
            "a directive that does not parse is left out"
        );
        assert_eq!(
            levels("[span{x=1}]"),
            (LevelFilter::INFO, LevelFilter::INFO)
        );
        assert_eq!(levels("off"), (LevelFilter::OFF, LevelFilter::OFF));
    }

    #[test]
    fn format_follows_lambda_variable() {
        assert_eq!(LogFormat::parse(Some("JSON")), LogFormat::Json);
        assert_eq!(LogFormat::parse(Some("json")), LogFormat::Json);
        assert_eq!(LogFormat::parse(Some("Text")), LogFormat::Text);
        assert_eq!(LogFormat::parse(None), LogFormat::Text);
    }

    #[test]
    fn installing_twice_does_not_panic() {
        // `init` itself would send every other test's logs to stdout, so this installs the same
        // subscriber with everything filtered out. Whatever the first call finds (another test
        // may have installed a subscriber), the second must find one and leave it alone.
        let _ = install(LogFormat::Json, parse_filter("off"), io::sink, false);
        assert!(!install(
            LogFormat::Text,
            parse_filter("off"),
            io::sink,
            false
        ));
        assert!(!init());
    }
}
