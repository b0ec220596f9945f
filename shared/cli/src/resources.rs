//! Finding a function's queues and the ledger table: explicit flags first, then the
//! environment, then the stack's naming convention.
//!
//! In this order, the first that gives an answer wins:
//!
//! 1. **Flags**: `--queue-url`, `--dlq-url`, `--table`.
//! 2. **Environment**: `<FUNCTION>_QUEUE_URL` and `<FUNCTION>_DLQ_URL`, the function's name
//!    upper-cased with `-` as `_` (`SLACK_NOTIFY_DLQ_URL`); `IDEMPOTENCY_TABLE`, as the
//!    deliverers themselves read it.
//! 3. **`--stack NAME`** (or `SWITCHYARD_STACK`): the template (`infra/template.yaml`) gives
//!    each function the queues `<Name>Queue` and `<Name>DeadLetterQueue` (`<Name>` is the
//!    function's name in PascalCase: `slack-notify` → `SlackNotify`) and one `IdempotencyTable`,
//!    none with a fixed physical name. CloudFormation names them `<stack>-<LogicalId>-<suffix>`,
//!    `scripts/local_stack.py` names them `<stack>-<LogicalId>`: the CLI lists the queues
//!    (`ListQueues` with that prefix) or tables (`ListTables`) and takes the one whose name is
//!    either. None or several is an error naming what was looked for; the stack's outputs
//!    (`<Name>QueueUrl`, `<Name>DeadLetterQueueUrl`, `IdempotencyTableName`) then give the value
//!    for the flags. (CloudFormation cuts very long generated names short; the lookup then finds
//!    nothing and says so.)
//!
//! Reading the outputs through CloudFormation's API would be exact, but costs a second large
//! SDK crate for three values the operator can pass by flag; the naming convention needs only
//! the SQS and DynamoDB clients the commands already use.

use aws_sdk_sqs::error::DisplayErrorContext;

/// Why a queue or table could not be found.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// Nothing said where to look.
    #[error(
        "no {what} for `{function}`: pass {flag}, set {env}, or pass --stack <stack name> \
         (or set SWITCHYARD_STACK) to find it by the template's naming"
    )]
    NotConfigured {
        /// "dead-letter queue", "queue", "ledger table".
        what: &'static str,
        /// The function asked about.
        function: String,
        /// The flag that would say it.
        flag: &'static str,
        /// The environment variable that would say it.
        env: String,
    },
    /// The naming convention found nothing.
    #[error(
        "no {what} named `{name}` or `{name}-*` (pass {flag} with the stack's output {output})"
    )]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// The name looked for.
        name: String,
        /// The flag to pass instead.
        flag: &'static str,
        /// The stack output holding the value.
        output: String,
    },
    /// The naming convention found several.
    #[error("several {what}s match `{name}`: {found}; pass {flag}")]
    Ambiguous {
        /// What was looked for.
        what: &'static str,
        /// The name looked for.
        name: String,
        /// What matched, comma-separated.
        found: String,
        /// The flag to pass instead.
        flag: &'static str,
    },
    /// The AWS call failed.
    #[error("could not list {what}s: {message}")]
    Aws {
        /// What was being listed.
        what: &'static str,
        /// The SDK's error, with its context.
        message: String,
    },
}

/// Which of a function's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    /// The queue the function reads (a deliverer) or writes (a receiver).
    Source,
    /// Its dead-letter queue.
    DeadLetter,
}

impl QueueKind {
    fn what(self) -> &'static str {
        match self {
            QueueKind::Source => "queue",
            QueueKind::DeadLetter => "dead-letter queue",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            QueueKind::Source => "--queue-url",
            QueueKind::DeadLetter => "--dlq-url",
        }
    }

    fn env_suffix(self) -> &'static str {
        match self {
            QueueKind::Source => "_QUEUE_URL",
            QueueKind::DeadLetter => "_DLQ_URL",
        }
    }

    fn logical_suffix(self) -> &'static str {
        match self {
            QueueKind::Source => "Queue",
            QueueKind::DeadLetter => "DeadLetterQueue",
        }
    }
}

/// The template's name for a function's resources: `slack-notify` → `SlackNotify` (as
/// `scripts/gen_template.py` makes it).
pub fn logical_name(function: &str) -> String {
    function
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// The environment variable naming a function's queue URL: `SLACK_NOTIFY_DLQ_URL`.
pub fn queue_env_var(function: &str, kind: QueueKind) -> String {
    let mut name: String = function
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    name.push_str(kind.env_suffix());
    name
}

/// Where to look, as the command line and environment say.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StackArgs {
    /// The stack whose naming finds the function's queues and the ledger table when no flag or
    /// variable gives them (`<stack>-<Name>Queue[-suffix]`, `<stack>-IdempotencyTable[-suffix]`).
    #[arg(long, env = "SWITCHYARD_STACK", value_name = "NAME")]
    pub stack: Option<String>,
}

/// A function's queue URL: `flag`, else its environment variable, else by the stack's naming.
///
/// # Errors
/// [`ResourceError`]: nothing configured, nothing or several found, or SQS failed.
pub async fn queue_url(
    sqs: &aws_sdk_sqs::Client,
    function: &str,
    kind: QueueKind,
    flag: Option<&str>,
    stack: &StackArgs,
) -> Result<String, ResourceError> {
    if let Some(url) = flag.filter(|u| !u.trim().is_empty()) {
        return Ok(url.to_owned());
    }
    let env = queue_env_var(function, kind);
    if let Some(url) = std::env::var(&env).ok().filter(|u| !u.trim().is_empty()) {
        return Ok(url);
    }
    let Some(stack_name) = stack.stack.as_deref() else {
        return Err(ResourceError::NotConfigured {
            what: kind.what(),
            function: function.to_owned(),
            flag: kind.flag(),
            env,
        });
    };
    let logical = format!("{}{}", logical_name(function), kind.logical_suffix());
    let name = format!("{stack_name}-{logical}");
    let listed = sqs
        .list_queues()
        .queue_name_prefix(&name)
        .max_results(1000)
        .send()
        .await
        .map_err(|e| ResourceError::Aws {
            what: "queue",
            message: DisplayErrorContext(&e).to_string(),
        })?;
    let candidates: Vec<(String, String)> = listed
        .queue_urls()
        .iter()
        .filter_map(|url| {
            let last = url.rsplit('/').next()?;
            Some((last.to_owned(), url.clone()))
        })
        .collect();
    pick(&name, candidates).map_err(|found| match found {
        None => ResourceError::NotFound {
            what: kind.what(),
            name: name.clone(),
            flag: kind.flag(),
            output: format!("{logical}Url"),
        },
        Some(found) => ResourceError::Ambiguous {
            what: kind.what(),
            name: name.clone(),
            found,
            flag: kind.flag(),
        },
    })
}

/// The ledger table: `flag`, else `IDEMPOTENCY_TABLE`, else by the stack's naming.
///
/// # Errors
/// [`ResourceError`]: nothing configured, nothing or several found, or DynamoDB failed.
pub async fn table_name(
    dynamodb: &aws_sdk_dynamodb::Client,
    function: &str,
    flag: Option<&str>,
    stack: &StackArgs,
) -> Result<String, ResourceError> {
    const ENV: &str = "IDEMPOTENCY_TABLE";
    if let Some(table) = flag.filter(|t| !t.trim().is_empty()) {
        return Ok(table.to_owned());
    }
    if let Some(table) = std::env::var(ENV).ok().filter(|t| !t.trim().is_empty()) {
        return Ok(table);
    }
    let Some(stack_name) = stack.stack.as_deref() else {
        return Err(ResourceError::NotConfigured {
            what: "ledger table",
            function: function.to_owned(),
            flag: "--table",
            env: ENV.to_owned(),
        });
    };
    let name = format!("{stack_name}-IdempotencyTable");
    let mut names = Vec::new();
    let mut pages = dynamodb.list_tables().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ResourceError::Aws {
            what: "table",
            message: DisplayErrorContext(&e).to_string(),
        })?;
        names.extend(page.table_names().iter().cloned());
    }
    let candidates = names.into_iter().map(|n| (n.clone(), n)).collect();
    pick(&name, candidates).map_err(|found| match found {
        None => ResourceError::NotFound {
            what: "ledger table",
            name: name.clone(),
            flag: "--table",
            output: "IdempotencyTableName".to_owned(),
        },
        Some(found) => ResourceError::Ambiguous {
            what: "ledger table",
            name: name.clone(),
            found,
            flag: "--table",
        },
    })
}

/// Of `(name, value)` candidates, the value of the one named exactly `name`, else of the one
/// named `name-<suffix>`; `Err(None)` for none, `Err(Some(names))` for several.
fn pick(name: &str, candidates: Vec<(String, String)>) -> Result<String, Option<String>> {
    if let Some((_, value)) = candidates.iter().find(|(n, _)| n == name) {
        return Ok(value.clone());
    }
    let generated = format!("{name}-");
    let mut matching: Vec<(String, String)> = candidates
        .into_iter()
        .filter(|(n, _)| n.strip_prefix(&generated).is_some_and(|s| !s.is_empty()))
        .collect();
    match matching.len() {
        0 => Err(None),
        1 => Ok(matching.remove(0).1),
        _ => Err(Some(
            matching
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_become_the_templates_logical_names() {
        assert_eq!(logical_name("slack-notify"), "SlackNotify");
        assert_eq!(logical_name("hubspot-contacts"), "HubspotContacts");
        assert_eq!(logical_name("github-webhook"), "GithubWebhook");
    }

    #[test]
    fn function_names_become_environment_variables() {
        assert_eq!(
            queue_env_var("slack-notify", QueueKind::DeadLetter),
            "SLACK_NOTIFY_DLQ_URL"
        );
        assert_eq!(
            queue_env_var("hubspot-contacts", QueueKind::Source),
            "HUBSPOT_CONTACTS_QUEUE_URL"
        );
    }

    fn named(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), format!("url/{n}")))
            .collect()
    }

    #[test]
    fn the_local_name_wins_then_one_generated_name() {
        let name = "s-SlackNotifyQueue";
        assert_eq!(
            pick(
                name,
                named(&["s-SlackNotifyQueue", "s-SlackNotifyQueue-X1"])
            ),
            Ok("url/s-SlackNotifyQueue".into())
        );
        assert_eq!(
            pick(name, named(&["s-SlackNotifyQueue-X1"])),
            Ok("url/s-SlackNotifyQueue-X1".into())
        );
    }

    #[test]
    fn none_or_several_are_refused() {
        let name = "s-SlackNotifyQueue";
        assert_eq!(
            pick(name, named(&["s-SlackNotifyQueueOld", "s-"])),
            Err(None)
        );
        assert_eq!(
            pick(
                name,
                named(&["s-SlackNotifyQueue-A", "s-SlackNotifyQueue-B"])
            ),
            Err(Some("s-SlackNotifyQueue-A, s-SlackNotifyQueue-B".into()))
        );
    }

    #[tokio::test]
    async fn without_flag_variable_or_stack_the_error_says_what_to_pass() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let sqs = aws_sdk_sqs::Client::new(&config);
        let error = queue_url(
            &sqs,
            "cli-unit-test-fn",
            QueueKind::DeadLetter,
            None,
            &StackArgs::default(),
        )
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("--dlq-url"), "{text}");
        assert!(text.contains("CLI_UNIT_TEST_FN_DLQ_URL"), "{text}");
        assert!(text.contains("--stack"), "{text}");
        let url = queue_url(
            &sqs,
            "cli-unit-test-fn",
            QueueKind::DeadLetter,
            Some("http://q"),
            &StackArgs::default(),
        )
        .await
        .unwrap();
        assert_eq!(url, "http://q");
    }
}
