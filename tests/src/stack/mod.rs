//! The local stack: Switchyard's whole pipeline on one machine, from `infra/template.yaml`.
//!
//! [`LocalStack::start`] brings up, all on 127.0.0.1:
//!
//! 1. the AWS emulator (moto's server) — [`crate::moto`];
//! 2. the template's queues (with their dead-letter queues and redrive policies), secrets (with
//!    the local values of [`secrets`]) and the ledger table on it, by `scripts/local_stack.py`,
//!    which reads them from the template (no second list kept here) and describes each function
//!    with the environment the template gives it — [`description`];
//! 3. the Slack and HubSpot stand-ins ([`crate::slack`], [`crate::hubspot`]), in this process so
//!    the caller can read what they received and inject failures;
//! 4. each function under `cargo lambda watch`, with its template environment plus the
//!    emulator's endpoint and the stand-ins' base URLs — [`watch`];
//! 5. the local SQS event source (`switchyard-local-sqs`'s library) polling each deliverer's
//!    queue with the settings of the template's event source mapping.
//!
//! Ports are free ones unless [`StackOptions`] fixes them. [`LocalStack::stop`] (or dropping
//! the stack) stops everything: pollers first (invocations in flight finish), then the
//! functions, the stand-ins and the emulator. `make demo`, `make dev` and the demo's test all
//! run on this.

pub mod description;
pub mod gate;
pub mod process;
pub mod queues;
pub mod secrets;
pub mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_local_sqs::stack::{Defaults, Stack};
use switchyard_local_sqs::{Shutdown, prepare, run};

use crate::hubspot::{HubSpotConfig, HubSpotStandIn};
use crate::moto::{Moto, free_port, workspace_root};
use crate::slack::{SlackConfig, SlackStandIn};
use description::StackDescription;
use watch::{FunctionServer, WatchOptions};

/// Where progress lines go (the terminal for `make demo`/`make dev`, nowhere in tests).
pub type Say = Arc<dyn Fn(&str) + Send + Sync>;

/// How the stack starts.
#[derive(Clone)]
pub struct StackOptions {
    /// The functions to serve (binary names); `None`: every function of the template.
    pub functions: Option<Vec<String>>,
    /// moto's port; `None`: a free one.
    pub moto_port: Option<u16>,
    /// The Slack stand-in's port; 0: a free one.
    pub slack_port: u16,
    /// The HubSpot stand-in's port; 0: a free one.
    pub hubspot_port: u16,
    /// The first function's port, the others following in order; `None`: free ports.
    pub first_function_port: Option<u16>,
    /// `cargo lambda watch` rebuilds a function when its code changes (`make dev`).
    pub reload: bool,
    /// Instances of each receiver at once (deliverers take their mapping's
    /// `MaximumConcurrency`).
    pub receiver_concurrency: u32,
    /// Print a line per batch the event source hands a function (off for long runs).
    pub batch_reports: bool,
    /// Extra environment for every function (after the template's), e.g. `RUST_LOG`.
    pub extra_env: Vec<(String, String)>,
    /// Extra environment for one function, by binary name (after `extra_env`), e.g.
    /// `AWS_LAMBDA_LOG_LEVEL=DEBUG` for the deliverers only.
    pub function_env: BTreeMap<String, Vec<(String, String)>>,
    /// Instances of each deliverer at once, instead of its event source mapping's
    /// `MaximumConcurrency` (the chaos run compresses time with more); `None` keeps the
    /// template's.
    pub deliverer_concurrency: Option<u32>,
    /// The deliverers' queues' `VisibilityTimeout` in seconds, set before the local event
    /// source starts polling (a receive already waiting would hide its first messages for the
    /// template's timeout); `None` keeps the template's.
    pub visibility_timeout: Option<u32>,
    /// Where logs and the stack description go; `None`: a temporary folder removed on stop.
    pub work_dir: Option<PathBuf>,
    /// Progress lines.
    pub say: Say,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            functions: None,
            moto_port: None,
            slack_port: 0,
            hubspot_port: 0,
            first_function_port: None,
            reload: false,
            receiver_concurrency: 1,
            batch_reports: true,
            extra_env: Vec::new(),
            function_env: BTreeMap::new(),
            visibility_timeout: None,
            deliverer_concurrency: None,
            work_dir: None,
            say: Arc::new(|_| {}),
        }
    }
}

/// The running stack.
pub struct LocalStack {
    /// What `local_stack.py` created.
    pub description: StackDescription,
    /// The same, as the file the CLI (`switchyard --stack`) and `switchyard-local-sqs
    /// --from-stack` read.
    pub description_path: PathBuf,
    /// The Slack stand-in.
    pub slack: SlackStandIn,
    /// The HubSpot stand-in.
    pub hubspot: HubSpotStandIn,
    /// The functions served, by binary name.
    pub functions: BTreeMap<String, FunctionServer>,
    /// Logs (`logs/<function>.log`) and `stack.json`.
    pub work_dir: PathBuf,
    moto: Moto,
    sqs: aws_sdk_sqs::Client,
    /// The deliverers' queues the event source polls.
    polled: Vec<(String, String)>,
    pollers: Vec<tokio::task::JoinHandle<()>>,
    shutdown: Shutdown,
    remove_work_dir: bool,
    say: Say,
}

impl LocalStack {
    /// Starts everything (see the module docs); on an error, what was started is stopped.
    pub async fn start(options: StackOptions) -> Result<LocalStack, String> {
        let say = options.say.clone();
        let root = workspace_root();
        let (work_dir, remove_work_dir) = match &options.work_dir {
            Some(dir) => (dir.clone(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "switchyard-stack-{}-{}",
                    std::process::id(),
                    fastrand::u32(..)
                )),
                true,
            ),
        };
        std::fs::create_dir_all(work_dir.join("logs"))
            .map_err(|e| format!("{}: {e}", work_dir.display()))?;

        say("starting the AWS emulator (moto)");
        let moto_port = options.moto_port;
        let moto = tokio::task::spawn_blocking(move || Moto::try_start(moto_port))
            .await
            .map_err(|e| e.to_string())??;
        say(&format!("  moto on {}", moto.endpoint));

        say("creating the template's queues, secrets and table on it (scripts/local_stack.py)");
        let description_path = work_dir.join("stack.json");
        let json = create_resources(&root, &moto.endpoint, &work_dir, &say)?;
        std::fs::write(&description_path, &json)
            .map_err(|e| format!("{}: {e}", description_path.display()))?;
        let description = StackDescription::parse(&json)?;

        // The deliverers post to the channels the template names (SLACK_CHANNEL): the stand-in
        // knows them, as a Slack workspace with the bot invited would.
        let mut slack_config = SlackConfig::default();
        for function in description.functions.values() {
            if let Some(channel) = function.environment.get("SLACK_CHANNEL")
                && !slack_config.channels.contains(channel)
            {
                slack_config.channels.push(channel.clone());
            }
        }
        let slack = SlackStandIn::start_on(options.slack_port, slack_config).await;
        let hubspot =
            HubSpotStandIn::start_on(options.hubspot_port, HubSpotConfig::default()).await;
        say(&format!(
            "Slack stand-in on {}, HubSpot stand-in on {}",
            slack.base_url,
            hubspot.base_url()
        ));

        let selected = match &options.functions {
            Some(list) => {
                for name in list {
                    if description.function(name).is_none() {
                        return Err(format!("`{name}` is not a function of the template"));
                    }
                }
                list.clone()
            }
            None => description.binaries(),
        };
        let mut stack = LocalStack {
            description,
            description_path,
            slack,
            hubspot,
            functions: BTreeMap::new(),
            work_dir,
            sqs: moto.sqs(),
            moto,
            polled: Vec::new(),
            pollers: Vec::new(),
            shutdown: Shutdown::default(),
            remove_work_dir,
            say: say.clone(),
        };
        stack.serve(&root, &selected, &options).await?;
        stack
            .poll(
                options.batch_reports,
                options.visibility_timeout,
                options.deliverer_concurrency,
            )
            .await?;
        Ok(stack)
    }

    /// Starts `watch` for each function and warms each up (building it if needed).
    async fn serve(
        &mut self,
        root: &Path,
        selected: &[String],
        options: &StackOptions,
    ) -> Result<(), String> {
        let say = self.say.clone();
        say(&format!(
            "serving {} function(s) with `cargo lambda watch`{}",
            selected.len(),
            if options.reload {
                " (rebuilding on change)"
            } else {
                ""
            }
        ));
        for (i, binary) in selected.iter().enumerate() {
            let Some(function) = self.description.function(binary) else {
                continue;
            };
            let port = match options.first_function_port {
                Some(first) => first + i as u16,
                None => free_port(),
            };
            let mut env = function.environment.clone();
            env.extend(self.moto.env());
            env.insert("SLACK_API_BASE_URL".into(), self.slack.base_url.clone());
            env.insert(
                "HUBSPOT_API_BASE_URL".into(),
                self.hubspot.base_url().to_owned(),
            );
            // One JSON object per line, as in CloudWatch: the demo reads each record's path
            // from them.
            env.insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
            // `cargo lambda watch` announces 600 s for every invocation; the template's
            // timeout caps it, so cutoffs and idempotency locks last as long as on Lambda.
            if let Some(timeout) = function.timeout {
                env.insert("FUNCTION_TIMEOUT".into(), format!("{timeout}s"));
            }
            env.extend(options.extra_env.iter().cloned());
            if let Some(own) = options.function_env.get(binary) {
                env.extend(own.iter().cloned());
            }
            let concurrency = function
                .event_sources
                .iter()
                .filter_map(|s| s.get("maximum_concurrency").and_then(|c| c.as_u64()))
                .max()
                .map_or(options.receiver_concurrency, |c| {
                    options.deliverer_concurrency.unwrap_or(c as u32)
                });
            let log_path = self.work_dir.join("logs").join(format!("{binary}.log"));
            let watch_options = WatchOptions {
                reload: options.reload,
                concurrency,
            };
            let server =
                FunctionServer::start(root, binary, port, &env, &watch_options, &log_path)?;
            say(&format!("  {binary} on {}", server.base_url));
            self.functions.insert(binary.clone(), server);
        }

        say(
            "starting each function (the first start builds what is not built yet; progress below)",
        );
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let warmups = self.functions.values().map(|server| {
            let receiver = self
                .description
                .function(&server.function)
                .is_some_and(|f| f.function_url);
            let client = client.clone();
            let say = say.clone();
            async move {
                let progress = move |line: &str| say(&format!("  {line}"));
                server
                    .warm_up(&client, receiver, Duration::from_secs(900), &progress)
                    .await
                    .map(|took| (server.function.clone(), took))
            }
        });
        for result in futures::future::join_all(warmups).await {
            let (function, took) = result?;
            say(&format!("  {function} ready ({:.1} s)", took.as_secs_f64()));
        }
        Ok(())
    }

    /// Starts the local event source for every served deliverer.
    async fn poll(
        &mut self,
        batch_reports: bool,
        visibility_timeout: Option<u32>,
        concurrency: Option<u32>,
    ) -> Result<(), String> {
        let stack = Stack::load(&self.description_path).map_err(|e| e.to_string())?;
        let mut configs = stack.mappings(Defaults {
            max_concurrency: 2,
            invocation_timeout: Duration::from_secs(120),
        });
        if let Some(instances) = concurrency {
            for config in &mut configs {
                config.max_concurrency = instances;
            }
        }
        for (function, server) in &self.functions {
            let mine: Vec<_> = configs
                .iter()
                .filter(|c| &c.function_name == function)
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            if let Some(seconds) = visibility_timeout {
                for config in &mine {
                    self.sqs
                        .set_queue_attributes()
                        .queue_url(&config.queue_url)
                        .attributes(
                            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                            seconds.to_string(),
                        )
                        .send()
                        .await
                        .map_err(|e| {
                            format!(
                                "cannot set the visibility timeout of {}: {e:?}",
                                config.queue_url
                            )
                        })?;
                }
            }
            let mappings = prepare(&self.sqs, mine)
                .await
                .map_err(|e| format!("event source of {function}: {e}"))?;
            for m in &mappings {
                (self.say)(&format!(
                    "local event source: {} <- {} (batch size {}, window {} s, visibility timeout {} s, concurrency {}{})",
                    function,
                    switchyard_local_sqs::progress::queue_name(&m.config.queue_url),
                    m.config.batch_size,
                    m.config.batching_window.as_secs(),
                    m.queue.visibility_timeout.as_secs(),
                    m.config.max_concurrency,
                    if m.config.report_batch_item_failures {
                        ", ReportBatchItemFailures"
                    } else {
                        ""
                    }
                ));
                self.polled
                    .push((function.clone(), m.config.queue_url.clone()));
            }
            let say = self.say.clone();
            let progress: switchyard_local_sqs::progress::Progress = Arc::new(move |report| {
                if batch_reports {
                    say(&format!("  event source: {report}"));
                }
            });
            let client = self.sqs.clone();
            let base = server.base_url.clone();
            let shutdown = self.shutdown.clone();
            let say = self.say.clone();
            let function = function.clone();
            self.pollers.push(tokio::spawn(async move {
                if let Err(e) = run(client, &base, mappings, progress, shutdown).await {
                    say(&format!("event source of {function} stopped: {e}"));
                }
            }));
        }
        Ok(())
    }

    /// The emulator's endpoint (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> &str {
        &self.moto.endpoint
    }

    /// The environment a process needs to reach the emulator (dummy credentials, region).
    pub fn aws_env(&self) -> Vec<(String, String)> {
        self.moto.env()
    }

    /// An SQS client on the emulator.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }

    /// A DynamoDB client on the emulator.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        self.moto.dynamodb()
    }

    /// A served function.
    pub fn function(&self, binary: &str) -> Result<&FunctionServer, String> {
        self.functions
            .get(binary)
            .ok_or_else(|| format!("{binary} is not served by this stack"))
    }

    /// The queues the local event source polls, with the function each feeds.
    pub fn polled_queues(&self) -> &[(String, String)] {
        &self.polled
    }

    /// Waits until every polled queue is empty — nothing visible, in flight or delayed —
    /// twice in a row a second apart. An error lists what is still there at `timeout`.
    pub async fn wait_until_settled(&self, timeout: Duration) -> Result<Duration, String> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let started = Instant::now();
        let mut quiet_checks = 0;
        loop {
            let mut left = Vec::new();
            for (function, url) in &self.polled {
                let attrs = self
                    .sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(A::ApproximateNumberOfMessages)
                    .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                    .attribute_names(A::ApproximateNumberOfMessagesDelayed)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "{function}'s queue: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        )
                    })?;
                let count = |name: A| {
                    attrs
                        .attributes()
                        .and_then(|a| a.get(&name))
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let (visible, in_flight, delayed) = (
                    count(A::ApproximateNumberOfMessages),
                    count(A::ApproximateNumberOfMessagesNotVisible),
                    count(A::ApproximateNumberOfMessagesDelayed),
                );
                if visible + in_flight + delayed > 0 {
                    left.push(format!(
                        "{function}: {visible} waiting, {in_flight} in flight, {delayed} delayed"
                    ));
                }
            }
            if left.is_empty() {
                quiet_checks += 1;
                if quiet_checks >= 2 {
                    return Ok(started.elapsed());
                }
            } else {
                quiet_checks = 0;
                if started.elapsed() > timeout {
                    return Err(format!(
                        "not settled after {} s: {}",
                        timeout.as_secs(),
                        left.join("; ")
                    ));
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Stops everything: the event source (invocations in flight finish, at most 30 s), the
    /// functions, the stand-ins and the emulator; the temporary folder is removed.
    pub async fn stop(mut self) {
        self.shutdown.stop.cancel();
        let pollers = std::mem::take(&mut self.pollers);
        let finished = tokio::time::timeout(Duration::from_secs(30), async {
            for poller in pollers {
                let _ = poller.await;
            }
        })
        .await;
        if finished.is_err() {
            self.shutdown.abandon.cancel();
        }
        for server in self.functions.values_mut() {
            server.stop();
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.shutdown.abandon.cancel();
        for poller in &self.pollers {
            poller.abort();
        }
        for server in self.functions.values_mut() {
            server.stop();
        }
        if self.remove_work_dir {
            let _ = std::fs::remove_dir_all(&self.work_dir);
        }
    }
}

/// Runs `scripts/local_stack.py` against the emulator with the local secret values; its
/// progress lines are passed on, its JSON returned.
fn create_resources(
    root: &Path,
    endpoint: &str,
    work_dir: &Path,
    say: &Say,
) -> Result<String, String> {
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Err(format!(
            "{} not found: run `make setup` first",
            python.display()
        ));
    }
    let secrets_path = work_dir.join("secret-values.json");
    std::fs::write(&secrets_path, secrets::local_secret_values().to_string())
        .map_err(|e| format!("{}: {e}", secrets_path.display()))?;
    let output = Command::new(python)
        .current_dir(root)
        .arg("scripts/local_stack.py")
        .args(["--endpoint-url", endpoint])
        .arg("--secret-values")
        .arg(&secrets_path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run scripts/local_stack.py: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in stderr.lines() {
        say(&format!("  {line}"));
    }
    if !output.status.success() {
        return Err(format!("scripts/local_stack.py failed ({})", output.status));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("local_stack.py's output: {e}"))
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT), SIGTERM (`kill`, `timeout`,
/// a CI runner) or SIGHUP (the terminal closed). The stack's binaries wait on this rather than
/// on Ctrl-C alone, so that any of them stops everything they started instead of killing the
/// process and leaving `cargo lambda watch` and the functions running.
pub async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

/// Starts the stack for one of the stack's binaries (`switchyard-demo`, `-dev`, `-chaos`):
/// `Err` is the exit code to leave with, after saying why on stderr — 130 when interrupted while
/// starting (what was started is stopped as the start is dropped), 1 when it could not start
/// (with where the logs are).
pub async fn start_for(tool: &str, options: StackOptions) -> Result<LocalStack, u8> {
    let logs = options.work_dir.as_ref().map(|d| d.join("logs"));
    let started = tokio::select! {
        stack = LocalStack::start(options) => stack,
        _ = interrupted() => {
            eprintln!("\n{tool}: interrupted; stopping what was started");
            return Err(130);
        }
    };
    started.map_err(|e| {
        eprintln!("{tool}: the local stack did not start: {e}");
        if let Some(logs) = logs {
            eprintln!("  logs: {}", logs.display());
        }
        1
    })
}
