//! `switchyard-sample`: a Function URL invocation event (API Gateway HTTP API payload 2.0)
//! carrying a realistic webhook delivery for one receiver, signed now, so that
//! `cargo lambda invoke <function> --data-file <event>` reaches the receiver's queue.
//!
//! ```text
//! switchyard-sample <function> [--secret S] [--id ID] [--now UNIX] [--out FILE]
//! switchyard-sample --all --functions-dir DIR   # DIR/<function>/samples/event.json
//! switchyard-sample --all --dir DIR             # DIR/<function>.json
//! switchyard-sample --list
//! switchyard-sample <function> --print-secret
//! ```
//!
//! - `<function>`: a receiver's binary name (`--list` prints them: stripe-webhook,
//!   github-webhook, slack-events, shopify-webhook, standard-webhook).
//! - `--secret`: the signing secret (default: the test secret of
//!   `switchyard_e2e::providers::test_secret`, never a real one). It must be the secret stored
//!   under the receiver's `SECRET_ID`.
//! - `--id`: the provider's event/delivery id, which becomes the envelope's `id` (default: a
//!   fixed id in the provider's own format; downstream deduplication on `source` + `id` treats
//!   repeated invocations of one sample as one event, so pass `--id` for distinct events).
//! - `--print-secret`: print the function's test secret (what to store under `SECRET_ID` for
//!   the default samples; `scripts/local-invoke.sh` uses it) instead of an event.
//! - `--now`: sign as of this unix time instead of now (to produce an expired sample).
//! - `--out`: write the event to `FILE` instead of printing it. With `--all`, one event per
//!   receiver, written under `--functions-dir` or `--dir`.
//!
//! The body comes from `switchyard_e2e::providers::sample` (the same deliveries the end-to-end
//! tests use), the event from `switchyard_e2e::function_url::event` with header names
//! lower-cased as Function URLs send them, and `requestContext.time`/`timeEpoch` set to the
//! signing time.
//!
//! Stripe, Slack and Standard Webhooks sign a timestamp that receivers accept for 300 s only:
//! their samples expire five minutes after they are generated (the receiver answers 401), so
//! regenerate them right before invoking (`make samples`, or `scripts/local-invoke.sh`, which
//! does it itself). GitHub and Shopify sign no timestamp: their samples stay valid.
//!
//! Exit status: 0 done, 1 a file could not be written, 2 usage error (unknown function, bad
//! option; the message lists the functions).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use switchyard::webhook::{WebhookSecret, standard};
use switchyard_e2e::function_url;
use switchyard_e2e::providers::{self, RECEIVERS};

const USAGE: &str = "\
usage: switchyard-sample <function> [--secret S] [--id ID] [--now UNIX] [--out FILE]
       switchyard-sample --all (--functions-dir DIR | --dir DIR) [--now UNIX]
       switchyard-sample --list
       switchyard-sample <function> --print-secret

Prints a Function URL invocation event carrying a sample delivery for <function>, signed now
with the function's test secret (or --secret), for `cargo lambda invoke --data-file`.
  --functions-dir DIR  with --all: write DIR/<function>/samples/event.json
  --dir DIR            with --all: write DIR/<function>.json
Stripe, Slack and Standard Webhooks samples expire 300 s after signing; regenerate them.";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Args {
    function: Option<String>,
    all: bool,
    list: bool,
    print_secret: bool,
    secret: Option<String>,
    id: Option<String>,
    now: Option<i64>,
    out: Option<PathBuf>,
    dir: Option<PathBuf>,
    functions_dir: Option<PathBuf>,
}

/// A usage error: the message, printed with the usage text, exit status 2.
struct Usage(String);

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, Usage> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "-h" | "--help" => return Err(Usage(String::new())),
            "--all" => parsed.all = true,
            "--list" => parsed.list = true,
            "--print-secret" => parsed.print_secret = true,
            "--secret" => parsed.secret = Some(value("--secret")?),
            "--id" => parsed.id = Some(value("--id")?),
            "--out" => parsed.out = Some(value("--out")?.into()),
            "--dir" => parsed.dir = Some(value("--dir")?.into()),
            "--functions-dir" => parsed.functions_dir = Some(value("--functions-dir")?.into()),
            "--now" => {
                let text = value("--now")?;
                let now = text
                    .parse::<i64>()
                    .map_err(|_| Usage(format!("--now wants unix seconds, not {text:?}")))?;
                parsed.now = Some(now);
            }
            other if other.starts_with('-') => {
                return Err(Usage(format!("unknown option {other}")));
            }
            function => {
                if parsed.function.is_some() {
                    return Err(Usage(format!("one function at a time (extra: {function})")));
                }
                parsed.function = Some(function.to_owned());
            }
        }
    }
    if parsed.list {
        return Ok(parsed);
    }
    if parsed.all {
        if parsed.function.is_some() || parsed.out.is_some() || parsed.print_secret {
            return Err(Usage(
                "--all takes no function, no --out, no --print-secret".into(),
            ));
        }
        if parsed.secret.is_some() || parsed.id.is_some() {
            return Err(Usage(
                "--all uses each function's test secret and default id".into(),
            ));
        }
        if parsed.dir.is_some() == parsed.functions_dir.is_some() {
            return Err(Usage(
                "--all needs exactly one of --functions-dir DIR or --dir DIR".into(),
            ));
        }
        return Ok(parsed);
    }
    if parsed.dir.is_some() || parsed.functions_dir.is_some() {
        return Err(Usage("--dir and --functions-dir go with --all".into()));
    }
    if parsed.print_secret
        && (parsed.secret.is_some()
            || parsed.id.is_some()
            || parsed.now.is_some()
            || parsed.out.is_some())
    {
        return Err(Usage(
            "--print-secret prints the test secret only: no --secret, --id, --now or --out".into(),
        ));
    }
    match parsed.function.as_deref() {
        None => Err(Usage("which function?".into())),
        Some(f) if !RECEIVERS.contains(&f) => Err(Usage(format!("unknown function {f:?}"))),
        Some("standard-webhook")
            if parsed
                .secret
                .as_deref()
                .is_some_and(|s| !standard_secret(s)) =>
        {
            Err(Usage(
                "--secret is not a Standard Webhooks secret (whsec_<base64>)".into(),
            ))
        }
        Some(_) => Ok(parsed),
    }
}

/// Whether `secret` can sign Standard Webhooks (the one scheme whose secret has a format,
/// `whsec_<base64>`): refused as a usage error rather than a panic while signing.
fn standard_secret(secret: &str) -> bool {
    let key = WebhookSecret::new(secret);
    standard::signed_headers(b"", &key, "msg", 0, standard::Spelling::Standard).is_ok()
}

/// A fixed event id in the provider's own format.
fn default_id(function: &str) -> &'static str {
    match function {
        "stripe-webhook" => "evt_1SwtchYrdSmp1eEvent0001",
        "github-webhook" => "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "slack-events" => "Ev0SWTCHYRD01",
        "shopify-webhook" => "98880550-7158-44d4-b7cd-2c97c8a091b5",
        _ => "msg_2SwtchYrdSmp1eMessage0001",
    }
}

/// The Function URL event for a signed sample of `function`.
fn sample_event(function: &str, secret: &str, id: &str, now: i64) -> Value {
    let request = providers::signed_sample(function, secret, id, 0, now);
    let mut event = function_url::event("POST", &request.header_pairs(), &request.body, false);
    event["requestContext"]["timeEpoch"] = json!(now.saturating_mul(1000));
    event["requestContext"]["time"] = json!(clf_time(now));
    event["requestContext"]["http"]["userAgent"] = json!("switchyard-sample");
    event
}

/// Unix seconds as API Gateway's `requestContext.time` (`21/Nov/2026:06:00:00 +0000`).
fn clf_time(unix: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    format!(
        "{day:02}/{name}/{year}:{:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn render(event: &Value) -> String {
    let mut text = serde_json::to_string_pretty(event).unwrap_or_default();
    text.push('\n');
    text
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run(args: Args) -> Result<(), String> {
    if args.list {
        for function in RECEIVERS {
            println!("{function}");
        }
        return Ok(());
    }
    let now = args.now.unwrap_or_else(providers::unix_now);
    if args.all {
        for function in RECEIVERS {
            let path = match (&args.functions_dir, &args.dir) {
                (Some(functions), _) => functions.join(function).join("samples/event.json"),
                (None, Some(dir)) => dir.join(format!("{function}.json")),
                (None, None) => unreachable!("checked by parse_args"),
            };
            let event = sample_event(
                function,
                providers::test_secret(function),
                default_id(function),
                now,
            );
            write(&path, &render(&event))?;
            eprintln!("wrote {}", path.display());
        }
        return Ok(());
    }
    let function = args.function.as_deref().unwrap_or_default();
    if args.print_secret {
        println!("{}", providers::test_secret(function));
        return Ok(());
    }
    let secret = args
        .secret
        .as_deref()
        .unwrap_or_else(|| providers::test_secret(function));
    let id = args.id.as_deref().unwrap_or_else(|| default_id(function));
    let text = render(&sample_event(function, secret, id, now));
    match &args.out {
        Some(path) => write(path, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Err(Usage(message)) if message.is_empty() => {
            println!("{USAGE}\nfunctions: {}", RECEIVERS.join(", "));
            ExitCode::SUCCESS
        }
        Err(Usage(message)) => {
            eprintln!(
                "switchyard-sample: {message}\nfunctions: {}\n\n{USAGE}",
                RECEIVERS.join(", ")
            );
            ExitCode::from(2)
        }
        Ok(args) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchyard-sample: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_time_is_formatted_like_api_gateway() {
        assert_eq!(clf_time(1_795_241_130), "21/Nov/2026:06:05:30 +0000");
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(951_782_400 + 3_661), "29/Feb/2000:01:01:01 +0000");
    }

    #[test]
    fn unknown_function_is_a_usage_error() {
        let args = |a: &[&str]| parse_args(a.iter().map(|s| (*s).to_owned()));
        assert!(args(&["nope"]).is_err());
        assert!(args(&[]).is_err());
        assert!(args(&["--all"]).is_err());
        assert!(args(&["--all", "--dir", "a", "--functions-dir", "b"]).is_err());
        assert!(args(&["github-webhook", "--dir", "a"]).is_err());
        assert!(args(&["github-webhook", "--secret"]).is_err());
        assert!(args(&["github-webhook", "--secret", "s", "--id", "d"]).is_ok());
        assert!(args(&["--all", "--functions-dir", "functions"]).is_ok());
        assert!(args(&["standard-webhook", "--secret", "not base64!"]).is_err());
        assert!(args(&["standard-webhook", "--secret", "whsec_c2VjcmV0"]).is_ok());
        assert!(args(&["slack-events", "--print-secret"]).is_ok());
        assert!(args(&["slack-events", "--print-secret", "--out", "f"]).is_err());
    }
}
