//! One function served by `cargo lambda watch`: the real binary behind cargo-lambda's Lambda
//! emulator, with its Function URL (`/lambda-url/<function>/`) and Invoke API
//! (`/2015-03-31/functions/<function>/invocations`) on a port of its own.
//!
//! One `watch` per function, because each function needs its own environment (the template
//! gives every receiver a `SECRET_ID` and `QUEUE_URL` of its own, under the same names) and
//! cargo-lambda's per-function environment lives in `Cargo.toml` metadata, which cannot hold
//! the emulator's ports chosen at start. The environment is given to `watch`'s process, which
//! passes it on to the function it runs.
//!
//! `watch` compiles the function on its first invocation (`cargo run --bin <function>`): the
//! stack warms each one up with a harmless request and, while it waits, shows the last line
//! cargo printed, so a build is never silent.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::gate::Gate;
use super::process::ProcessTree;

/// How `watch` is run.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Rebuild and restart the function when its code changes (`make dev`); off, `watch`
    /// ignores changes (`--ignore-changes`: the demo and tests run what was built).
    pub reload: bool,
    /// Instances of the function at once (`--concurrency`).
    pub concurrency: u32,
}

/// A running `cargo lambda watch` for one function; dropping it stops `watch` and the function.
#[derive(Debug)]
pub struct FunctionServer {
    /// The function's binary name.
    pub function: String,
    /// `http://127.0.0.1:<port>`: the Invoke API and Function URLs.
    pub base_url: String,
    /// Where `watch` and the function write (cargo's output and the function's log lines).
    pub log_path: PathBuf,
    /// How `watch` was started, to start it again after a crash.
    recipe: Recipe,
    process: Mutex<ProcessTree>,
    /// The address callers use (`base_url`'s port), in front of `watch`'s own port.
    gate: Gate,
}

/// What starts a function's `watch`.
#[derive(Debug, Clone)]
struct Recipe {
    root: PathBuf,
    function: String,
    environment: BTreeMap<String, String>,
    options: WatchOptions,
    log_path: PathBuf,
}

/// What [`FunctionServer::crash`] did.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The function processes killed (one per instance `watch` ran).
    pub killed: usize,
    /// From the kill until the new `watch` answered its warm-up request.
    pub restart: Duration,
}

impl FunctionServer {
    /// Starts `watch` for `function` on `port` with `environment`, its output appended to
    /// `log_path`, and waits until it listens (not until the function is built: see
    /// [`FunctionServer::warm_up`]).
    pub fn start(
        root: &Path,
        function: &str,
        port: u16,
        environment: &BTreeMap<String, String>,
        options: &WatchOptions,
        log_path: &Path,
    ) -> Result<FunctionServer, String> {
        let recipe = Recipe {
            root: root.to_owned(),
            function: function.to_owned(),
            environment: environment.clone(),
            options: options.clone(),
            log_path: log_path.to_owned(),
        };
        // `watch` listens on a port of its own, behind the gate on `port` (see `gate.rs`).
        let watch_port = crate::moto::free_port();
        let mut process = recipe.spawn(watch_port)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = process.exited() {
                return Err(format!(
                    "`cargo lambda watch` for {function} exited with {status}: {}",
                    last_line(log_path)
                ));
            }
            if std::net::TcpStream::connect(("127.0.0.1", watch_port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "`cargo lambda watch` for {function} did not listen on port {watch_port} within 30 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let gate = Gate::open(port, watch_port)?;
        Ok(FunctionServer {
            function: function.to_owned(),
            base_url: format!("http://127.0.0.1:{port}"),
            log_path: log_path.to_owned(),
            recipe,
            process: Mutex::new(process),
            gate,
        })
    }

    /// Crashes the function as a Lambda execution environment can crash: every instance of
    /// the function is killed with `SIGKILL` (no shutdown, no answer to the invocation in
    /// flight, nothing recorded), then — as Lambda starts a new environment — `watch` is
    /// started again and warmed up, behind the same address (the [`Gate`] refuses callers
    /// meanwhile). (`cargo lambda watch` does not restart a function that died; it would leave
    /// every later invocation waiting.) The invocation in flight fails at its caller, so the
    /// local event source leaves its records invisible until the queue's visibility timeout,
    /// as Lambda's does.
    ///
    /// Async, with short blocking steps only (`kill`, `fork`): the stand-ins may share the
    /// runtime.
    pub async fn crash(&self, client: &reqwest::Client) -> Result<Crash, String> {
        let started = Instant::now();
        // Callers are refused until the new environment is warm.
        self.gate.close();
        let killed = {
            let mut process = self.process.lock().map_err(|_| "poisoned".to_owned())?;
            let killed = process.kill_descendants_named(&self.function);
            // The environment goes with it: `watch` too, at once.
            process.kill_now();
            killed
        };
        let watch_port = crate::moto::free_port();
        let fresh = self.recipe.spawn(watch_port)?;
        *self.process.lock().map_err(|_| "poisoned".to_owned())? = fresh;
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", watch_port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(format!(
                    "`cargo lambda watch` for {} did not listen again within 30 s: {}",
                    self.function,
                    last_line(&self.log_path)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let direct = format!("http://127.0.0.1:{watch_port}");
        self.warm_up_at(&direct, client, false, Duration::from_secs(120), &|_| {})
            .await?;
        self.gate.point_to(watch_port);
        Ok(Crash {
            killed,
            restart: started.elapsed(),
        })
    }

    /// The function's Function URL.
    pub fn function_url(&self) -> String {
        format!("{}/lambda-url/{}/", self.base_url, self.function)
    }

    /// The function's Invoke API URL.
    pub fn invoke_url(&self) -> String {
        format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.base_url, self.function
        )
    }

    /// Makes `watch` build and start the function with a request it answers without side
    /// effects — a `GET` on a receiver's Function URL (answered 405), an empty SQS batch for a
    /// deliverer — and waits for the answer, calling `progress` with cargo's latest line every
    /// few seconds meanwhile. An error carries the end of the function's log.
    pub async fn warm_up(
        &self,
        client: &reqwest::Client,
        receiver: bool,
        timeout: Duration,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Duration, String> {
        self.warm_up_at(&self.base_url, client, receiver, timeout, progress)
            .await
    }

    /// [`FunctionServer::warm_up`] through `base` (the gate, or `watch` itself).
    async fn warm_up_at(
        &self,
        base: &str,
        client: &reqwest::Client,
        receiver: bool,
        timeout: Duration,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Duration, String> {
        let started = Instant::now();
        let request = if receiver {
            client.get(format!("{base}/lambda-url/{}/", self.function))
        } else {
            client
                .post(format!(
                    "{base}/2015-03-31/functions/{}/invocations",
                    self.function
                ))
                .body(r#"{"Records":[]}"#.to_owned())
        };
        let answer = request.timeout(timeout).send();
        tokio::pin!(answer);
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        let answer = loop {
            tokio::select! {
                answer = &mut answer => break answer,
                _ = tick.tick() => progress(&format!(
                    "{}: still starting ({} s): {}",
                    self.function,
                    started.elapsed().as_secs(),
                    last_line(&self.log_path)
                )),
            }
        };
        let answer = answer.map_err(|e| {
            format!(
                "{} did not answer its first request: {e}; its log ends: {}",
                self.function,
                last_line(&self.log_path)
            )
        })?;
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        let ok = if receiver {
            status.is_client_error()
        } else {
            status.is_success()
        };
        if !ok {
            return Err(format!(
                "{} did not start: its first request was answered {status} {}; its log ends: {}",
                self.function,
                body.chars().take(300).collect::<String>(),
                last_line(&self.log_path)
            ));
        }
        Ok(started.elapsed())
    }

    /// Stops `watch` and the function.
    pub fn stop(&mut self) {
        if let Ok(process) = self.process.get_mut() {
            process.stop();
        }
    }
}

impl Recipe {
    /// Starts `watch` on `port` (not waiting for it to listen).
    fn spawn(&self, port: u16) -> Result<ProcessTree, String> {
        let cargo_lambda = self.root.join(".venv/bin/cargo-lambda");
        if !cargo_lambda.exists() {
            return Err(format!(
                "{} not found: run `make setup` first",
                cargo_lambda.display()
            ));
        }
        let log_path = &self.log_path;
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut command = Command::new(&cargo_lambda);
        command
            .current_dir(&self.root)
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .args([
                "--concurrency",
                &self.options.concurrency.max(1).to_string(),
            ])
            .args(["--bin", &self.function]);
        if !self.options.reload {
            command.arg("--ignore-changes");
        }
        // cargo-lambda finds cargo on PATH; the venv's tools come first, as in the Makefile.
        let path = std::env::var("PATH").unwrap_or_default();
        command
            .env(
                "PATH",
                format!("{}:{path}", self.root.join(".venv/bin").display()),
            )
            .envs(&self.environment)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        ProcessTree::spawn(&mut command).map_err(|e| format!("cannot start watch: {e}"))
    }
}

/// The last non-empty line of a log file, for progress and error messages.
pub fn last_line(path: &Path) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(4096);
    String::from_utf8_lossy(&text[start..])
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
        .unwrap_or_else(|| "(nothing yet)".to_owned())
}
