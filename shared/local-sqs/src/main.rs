//! `switchyard-local-sqs`: a local SQS event source mapping in front of `cargo lambda watch`.
//! See the library's documentation for the behaviour; `--help` for the flags.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use switchyard_local_sqs::config::{
    DEFAULT_BATCH_SIZE, DEFAULT_INVOCATION_TIMEOUT, DEFAULT_MAX_CONCURRENCY,
};
use switchyard_local_sqs::invoke::DEFAULT_INVOKE_URL;
use switchyard_local_sqs::progress::Progress;
use switchyard_local_sqs::stack::{Defaults, Stack};
use switchyard_local_sqs::{MappingConfig, Shutdown, prepare, run, sdk};

/// Polls SQS queues the way Lambda's event source mapping does and invokes functions through
/// `cargo lambda watch`'s Invoke API.
///
/// One mapping from flags (`--queue-url` and `--function-name`), or every deliverer's mapping
/// from `scripts/local_stack.py`'s JSON output (`--from-stack`). Ctrl-C or SIGTERM stops
/// receiving and lets invocations in flight finish; a second one abandons them.
#[derive(Debug, Parser)]
#[command(name = "switchyard-local-sqs", version)]
struct Args {
    /// SQS endpoint (e.g. moto's http://127.0.0.1:5000). Default: the stack's `endpoint_url`
    /// with --from-stack, else AWS_ENDPOINT_URL, else AWS.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Region. Default: the stack's with --from-stack, else AWS_REGION, else us-east-1.
    #[arg(long)]
    region: Option<String>,
    /// The queue to poll.
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "from_stack",
        conflicts_with = "from_stack"
    )]
    queue_url: Option<String>,
    /// The function to invoke (its binary name in `cargo lambda watch`).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "from_stack",
        conflicts_with = "from_stack"
    )]
    function_name: Option<String>,
    /// Base URL of the Invoke API (`cargo lambda watch` listens on port 9000 by default).
    #[arg(long, value_name = "URL", default_value = DEFAULT_INVOKE_URL)]
    invoke_url: String,
    /// BatchSize: most records per invocation (1-10000; 1-10 on FIFO queues; over 10 needs a
    /// batching window).
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, conflicts_with = "from_stack")]
    batch_size: u32,
    /// MaximumBatchingWindowInSeconds: how long to gather after the first record (0-300).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        conflicts_with = "from_stack"
    )]
    batching_window: u64,
    /// FunctionResponseTypes: [ReportBatchItemFailures]: delete only the records the response
    /// does not name in `batchItemFailures`.
    #[arg(long, conflicts_with = "from_stack")]
    report_batch_item_failures: bool,
    /// ScalingConfig.MaximumConcurrency: most batches in flight per mapping (2-1000). With
    /// --from-stack, for every mapping whose description carries none.
    #[arg(long, default_value_t = DEFAULT_MAX_CONCURRENCY)]
    max_concurrency: u32,
    /// Longest invocation, in seconds (the function's Timeout, at most 900); a slower one
    /// fails its whole batch.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_INVOCATION_TIMEOUT.as_secs())]
    invocation_timeout: u64,
    /// Poll every SQS event source of this `scripts/local_stack.py` output.
    #[arg(long, value_name = "FILE")]
    from_stack: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The SDK's credential chain warns about every provider it tries (IMDS off this machine);
    // its errors still show, and the poller says when it falls back to local credentials.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("aws_config", tracing::Level::ERROR);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false),
        )
        .with(filter)
        .init();
    let args = Args::parse();
    let invocation_timeout = Duration::from_secs(args.invocation_timeout);

    let (configs, endpoint, region) = match &args.from_stack {
        Some(path) => {
            let stack = Stack::load(path)?;
            let configs = stack.mappings(Defaults {
                max_concurrency: args.max_concurrency,
                invocation_timeout,
            });
            if configs.is_empty() {
                bail!(
                    "{} has no function with an SQS event source",
                    path.display()
                );
            }
            let endpoint = args.endpoint_url.clone().or(stack.endpoint_url.clone());
            let region = args.region.clone().or(stack.region.clone());
            (configs, endpoint, region)
        }
        None => {
            let (Some(queue_url), Some(function)) = (&args.queue_url, &args.function_name) else {
                bail!("--queue-url and --function-name are required without --from-stack");
            };
            let config = MappingConfig {
                batch_size: args.batch_size,
                batching_window: Duration::from_secs(args.batching_window),
                report_batch_item_failures: args.report_batch_item_failures,
                max_concurrency: args.max_concurrency,
                invocation_timeout,
                ..MappingConfig::new(function.clone(), queue_url.clone())
            };
            (vec![config], args.endpoint_url.clone(), args.region.clone())
        }
    };

    let client = sdk::sqs_client(endpoint.as_deref(), region.as_deref()).await;
    let mappings = prepare(&client, configs)
        .await
        .context("cannot start the event source mappings")?;
    for m in &mappings {
        println!(
            "{} <- {} ({}batch size {}, window {} s, {}, concurrency {}, visibility timeout {} s) via {}",
            m.config.function_name,
            m.queue.url,
            if m.queue.fifo { "FIFO, " } else { "" },
            m.config.batch_size,
            m.config.batching_window.as_secs(),
            if m.config.report_batch_item_failures {
                "ReportBatchItemFailures"
            } else {
                "whole-batch results"
            },
            m.config.max_concurrency,
            m.queue.visibility_timeout.as_secs(),
            args.invoke_url,
        );
    }

    let shutdown = Shutdown::default();
    tokio::spawn(watch_signals(shutdown.clone()));
    let progress: Progress = Arc::new(|report| println!("{report}"));
    let summary = run(client, &args.invoke_url, mappings, progress, shutdown).await?;
    println!(
        "stopped: {} batches, {} records delivered, {} left for redelivery",
        summary.batches, summary.delivered, summary.failed
    );
    Ok(())
}

/// First Ctrl-C/SIGTERM: stop receiving; second: abandon invocations in flight.
async fn watch_signals(shutdown: Shutdown) {
    for stage in 0..2 {
        if let Err(e) = next_signal().await {
            tracing::error!(error = %e, "cannot listen for signals");
            return;
        }
        if stage == 0 {
            eprintln!("stopping: finishing invocations in flight (again to abandon them)");
            shutdown.stop.cancel();
        } else {
            eprintln!("abandoning invocations in flight");
            shutdown.abandon.cancel();
        }
    }
}

async fn next_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
