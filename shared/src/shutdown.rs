//! Graceful shutdown: on the first SIGTERM or SIGINT a function finishes (or hands back) what it
//! has in flight, answers, flushes its metrics and logs, and exits 0.
//!
//! # Why
//!
//! A function process is stopped with SIGTERM in three places: by Lambda at the end of an
//! execution environment's life (Lambda sends it only when an extension is registered, and
//! SIGKILLs 300–2000 ms later), by `cargo lambda watch` when it stops or reloads a function, and
//! by Ctrl-C (SIGINT) in a terminal. By default either signal kills the process on the spot: a
//! deliverer in the middle of a batch never answers, so *every* record of the batch comes back
//! after the queue's visibility timeout — the ones already posted included, which a destination
//! without idempotency (Slack) then gets twice — and the invocation's EMF line is never
//! written. With this module installed:
//!
//! 1. The first signal only *requests* a stop ([`Shutdown::is_requested`]: one atomic load, the
//!    only per-record cost).
//! 2. The [batch runner](crate::batch) stops *starting* records: those not started yet are
//!    handed back at once (named in `batchItemFailures`, visibility 0, counted `deferred`), and
//!    a FIFO group stops there as it does for any record handed back, so order holds. Records
//!    already running finish, bounded as always by the invocation's cutoff; their in-invocation
//!    retries and rate-limit waits included (cutting a handler short could leave an
//!    idempotency lock behind, or a post made whose answer is lost).
//! 3. The invocation is answered and its metrics flushed as usual; [`run`] then stops polling
//!    for invocations, flushes the metrics once more (anything recorded outside an invocation)
//!    and stdout, and returns `Ok(())`, so `main` exits 0. A signal while no invocation is in
//!    flight stops at once. A receiver finishes the request in flight the same way.
//! 4. A second signal exits at once (status 128 + the signal's number), for a person pressing
//!    Ctrl-C twice: installing a handler replaces the default "die", so without this a stuck
//!    handler could not be interrupted.
//!
//! "In flight" is tracked by a layer around the whole Lambda runtime service, so it covers the
//! `POST` of the response to the Runtime API too, not just the handler: the process never exits
//! between computing an answer and delivering it.
//!
//! # Not `lambda_runtime::spawn_graceful_shutdown_handler`
//!
//! lambda_runtime 1.5's `graceful-shutdown` feature was considered and does not fit: its signal
//! task runs a hook and then calls `std::process::exit(0)` from wherever the runtime is, so an
//! invocation in flight is abandoned unless the hook itself waits for it, and nothing stops the
//! runtime from polling for the next one; it `expect`s the registration of its no-op extension,
//! so a function panics at start under a Runtime API without the extensions API (the project's
//! test stand-in); and it adds the `lambda-extension` crate and one more round trip to every
//! cold start. The part that matters — stop starting work, finish, answer, exit 0 — has to be
//! in the kit's runner either way.
//!
//! The consequence: on Lambda, SIGTERM only arrives when some extension is registered (a layer
//! such as Lambda Insights, ADOT or the Parameters and Secrets extension). Without one, Lambda
//! retires an idle environment with SIGKILL; nothing is lost then either, because every
//! invocation already answers and writes its EMF line before it ends and logs are written
//! unbuffered. The mid-batch case — the one that loses work — is the local one.
//!
//! One window is left, by the runtime's design: a signal that lands after the runtime has
//! received an event from `/next` but before it hands it to the handler (a few microseconds of
//! body reading) stops the process without answering it. Lambda sends no new invocations after
//! SIGTERM; locally, the event's records come back after the queue's visibility timeout, as for
//! any invocation that does not answer — late, not lost.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Runtime};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::telemetry::metrics::Metrics;

/// Why the shutdown signals could not be listened for.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    /// The operating system refused the signal handler (or no Tokio runtime with I/O enabled
    /// is running).
    #[error("cannot listen for {signal}: {source}")]
    Signal {
        /// The signal's name.
        signal: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl From<ShutdownError> for Diagnostic {
    /// Lets `main` use `?` on [`Shutdown::install`].
    fn from(error: ShutdownError) -> Self {
        Diagnostic {
            error_type: "switchyard::shutdown::ShutdownError".to_string(),
            error_message: error.to_string(),
        }
    }
}

/// A stop request, shared by whoever must react to it. Cheap to clone; all clones see the
/// same request.
///
/// [`Shutdown::install`] gives the process-wide one, requested by SIGTERM or SIGINT;
/// [`Shutdown::new`] an independent one that only [`Shutdown::request`] requests (tests, custom
/// wiring).
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requested: AtomicBool,
    notify: Notify,
}

/// The process-wide handle, once installed.
static PROCESS: OnceLock<Shutdown> = OnceLock::new();

impl Shutdown {
    /// A handle nothing has requested yet, tied to no signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide handle, listening for SIGTERM and SIGINT from now on: the first
    /// requests a stop, a second exits the process at once (status 128 + the signal number).
    /// Later calls return the same handle. Must be called inside a Tokio runtime with I/O
    /// enabled (`#[tokio::main]` is); it spawns one task that sleeps until a signal.
    ///
    /// # Errors
    /// The signal handlers cannot be installed.
    pub fn install() -> Result<Self, ShutdownError> {
        if let Some(shutdown) = PROCESS.get() {
            return Ok(shutdown.clone());
        }
        let signals = Signals::listen()?;
        let mut fresh = false;
        let shutdown = PROCESS
            .get_or_init(|| {
                fresh = true;
                Shutdown::new()
            })
            .clone();
        if fresh {
            tokio::spawn(signals.watch(shutdown.clone()));
        }
        Ok(shutdown)
    }

    /// Requests the stop (what the first signal does). Idempotent.
    pub fn request(&self) {
        if !self.inner.requested.swap(true, Ordering::SeqCst) {
            self.inner.notify.notify_waiters();
        }
    }

    /// Whether a stop was requested: one atomic load, cheap enough to ask per record.
    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::Relaxed)
    }

    /// Resolves once a stop is requested (at once if it already was).
    pub async fn requested(&self) {
        let notified = self.inner.notify.notified();
        tokio::pin!(notified);
        // Registered before the check, so a request between the two is not missed.
        notified.as_mut().enable();
        if self.inner.requested.load(Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

/// The listeners for the two signals.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn listen() -> Result<Self, ShutdownError> {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).map_err(|source| ShutdownError::Signal {
            signal: "SIGTERM",
            source,
        })?;
        let int = signal(SignalKind::interrupt()).map_err(|source| ShutdownError::Signal {
            signal: "SIGINT",
            source,
        })?;
        Ok(Self { term, int })
    }

    #[cfg(not(unix))]
    fn listen() -> Result<Self, ShutdownError> {
        Ok(Self {})
    }

    /// The next signal's name and number.
    #[cfg(unix)]
    async fn next(&mut self) -> (&'static str, i32) {
        tokio::select! {
            _ = self.term.recv() => ("SIGTERM", 15),
            _ = self.int.recv() => ("SIGINT", 2),
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> (&'static str, i32) {
        let _ = tokio::signal::ctrl_c().await;
        ("Ctrl-C", 2)
    }

    /// First signal: request the stop; second: exit at once.
    async fn watch(mut self, shutdown: Shutdown) {
        let (name, _) = self.next().await;
        tracing::warn!(
            signal = name,
            "shutting down: finishing the work in flight, starting nothing new (a second signal exits at once)"
        );
        shutdown.request();
        let (name, number) = self.next().await;
        tracing::error!(
            signal = name,
            "second signal: exiting at once, abandoning the work in flight"
        );
        flush_stdout();
        std::process::exit(128 + number);
    }
}

/// [`lambda_runtime::run`] (buffered responses) that stops gracefully when `shutdown` is requested: the invocation in
/// flight (if any) is finished and answered, no new one is polled for, `metrics` are flushed,
/// and it returns `Ok(())`. The deliverer and receiver runtimes serve with it; see the
/// [module documentation](self).
///
/// # Errors
/// The Lambda runtime's own failure (it cannot reach the Runtime API).
///
/// # Panics
/// As [`lambda_runtime::run`]: when the Lambda environment variables are missing.
pub async fn run<A, F, R>(
    handler: F,
    shutdown: &Shutdown,
    metrics: &Metrics,
) -> Result<(), lambda_runtime::Error>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + std::fmt::Debug,
    A: for<'de> Deserialize<'de>,
    R: Serialize,
{
    let in_flight = InFlight::default();
    let runtime = Runtime::new(handler)
        .layer(lambda_runtime::layers::TracingLayer::new())
        .layer(in_flight.clone());
    let result = tokio::select! {
        biased;
        () = in_flight.idle_after(shutdown) => {
            tracing::info!("shut down gracefully: nothing in flight, no new invocation polled");
            Ok(())
        }
        result = runtime.run() => result,
    };
    if let Err(e) = metrics.flush() {
        tracing::warn!(error = %e, "could not write metrics");
    }
    flush_stdout();
    result
}

/// Flushes stdout (logs and EMF lines), ignoring a closed pipe.
fn flush_stdout() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// How many invocations are in flight, counted by a layer around the whole runtime service
/// (handler and response `POST`).
#[derive(Debug, Clone)]
struct InFlight {
    count: Arc<watch::Sender<usize>>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self {
            count: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl InFlight {
    /// Resolves once `shutdown` is requested and no invocation is in flight.
    async fn idle_after(&self, shutdown: &Shutdown) {
        shutdown.requested().await;
        let mut count = self.count.subscribe();
        let _ = count.wait_for(|n| *n == 0).await;
    }

    fn enter(&self) -> Leave {
        self.count.send_modify(|n| *n += 1);
        Leave {
            count: self.count.clone(),
        }
    }
}

/// Counts an invocation out when dropped (done, or cancelled).
#[derive(Debug)]
struct Leave {
    count: Arc<watch::Sender<usize>>,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl<S> Layer<S> for InFlight {
    type Service = Tracked<S>;

    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked {
            inner,
            in_flight: self.clone(),
        }
    }
}

/// The runtime service, counted in and out by [`InFlight`].
#[derive(Debug)]
struct Tracked<S> {
    inner: S,
    in_flight: InFlight,
}

impl<S> Service<LambdaInvocation> for Tracked<S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
{
    type Response = ();
    type Error = lambda_runtime::Error;
    type Future = TrackedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let leave = self.in_flight.enter();
        TrackedFuture {
            inner: Box::pin(self.inner.call(invocation)),
            _leave: leave,
        }
    }
}

/// An invocation's future and its [`Leave`] guard (one allocation per invocation).
struct TrackedFuture<F> {
    inner: Pin<Box<F>>,
    _leave: Leave,
}

impl<F: Future> Future for TrackedFuture<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.inner.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_is_seen_by_every_clone_and_wakes_waiters() {
        let shutdown = Shutdown::new();
        let clone = shutdown.clone();
        assert!(!clone.is_requested());
        let waiter = tokio::spawn({
            let clone = clone.clone();
            async move { clone.requested().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        shutdown.request();
        shutdown.request();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .expect("no panic");
        assert!(clone.is_requested());
        // Already requested: resolves at once.
        tokio::time::timeout(Duration::from_millis(100), clone.requested())
            .await
            .expect("at once");
        assert!(!Shutdown::new().is_requested(), "independent handles");
    }

    #[tokio::test]
    async fn idle_waits_for_the_request_and_for_the_invocations_in_flight() {
        let shutdown = Shutdown::new();
        let in_flight = InFlight::default();
        let first = in_flight.enter();
        let second = in_flight.enter();
        let idle = tokio::spawn({
            let (in_flight, shutdown) = (in_flight.clone(), shutdown.clone());
            async move { in_flight.idle_after(&shutdown).await }
        });
        drop(first);
        drop(second);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!idle.is_finished(), "idle, but no stop requested");
        let third = in_flight.enter();
        shutdown.request();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!idle.is_finished(), "an invocation is in flight");
        drop(third);
        tokio::time::timeout(Duration::from_secs(1), idle)
            .await
            .expect("idle")
            .expect("no panic");
    }
}
