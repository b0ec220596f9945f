//! A private moto server per test, on a free loopback port, stopped when the handle drops.
//!
//! Each test gets its own emulator so tests run in parallel without sharing state. moto is
//! installed by `make setup` into the workspace's `.venv`; `MOTO_SERVER` overrides the path.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::config::Credentials;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent")
        .to_path_buf()
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether the server on `port` is moto: its API answers `GET /moto-api/data.json` with 200
/// and a JSON object (a stand-in or another service would not).
fn answers_as_moto(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    let ok = answer
        .lines()
        .next()
        .is_some_and(|status| status.split_whitespace().nth(1) == Some("200"));
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    ok && body.trim_start().starts_with('{')
}

fn moto_binary() -> PathBuf {
    std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/moto_server"))
}

/// A running moto server. Dropping it stops the process.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`: pass as `AWS_ENDPOINT_URL`.
    pub endpoint: String,
}

impl Moto {
    /// Starts a fresh emulator and waits until it answers. Retries on another port if the one it
    /// picked was taken in between (tests start emulators concurrently).
    ///
    /// # Panics
    /// When no emulator could be started (see [`Moto::try_start`]).
    pub fn start() -> Moto {
        Self::try_start(None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts a fresh emulator on `port` (`None`: a free one, retried on another if taken in
    /// between) and waits until it answers; an error names what went wrong (moto missing, the
    /// port taken, no answer within 30 s).
    pub fn try_start(port: Option<u16>) -> Result<Moto, String> {
        let binary = moto_binary();
        if !binary.exists() {
            return Err(format!(
                "moto_server not found at {}: run `make setup` first",
                binary.display()
            ));
        }
        let mut last_error = String::new();
        let tries = if port.is_some() { 1 } else { 5 };
        for _ in 0..tries {
            let port = port.unwrap_or_else(free_port);
            let mut child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            let endpoint = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = format!("moto_server exited with {status} on port {port}");
                    break;
                }
                // Something answering on the port is not enough: another test's stand-in may
                // have taken it between free_port() and moto's bind. Ask moto itself.
                if answers_as_moto(port) && matches!(child.try_wait(), Ok(None)) {
                    return Ok(Moto { child, endpoint });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last_error.is_empty() {
                last_error = format!("moto_server did not answer on port {port} within 30 s");
            }
        }
        Err(format!("could not start moto: {last_error}"))
    }

    /// The environment a child process (a function binary) needs to reach this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// SDK configuration pointing at this emulator with dummy credentials.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_provider())
            .build()
    }

    /// An SQS client on this emulator.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config())
    }

    /// A Secrets Manager client on this emulator.
    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config())
    }

    /// A DynamoDB client on this emulator.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config())
    }

    /// Creates a table as the idempotency layer expects it (String partition key `id`, on-demand
    /// billing, TTL on `expiration`) and returns its name. moto records the TTL setting but never
    /// deletes expired items, which is why the layer checks expiry in code.
    pub async fn create_idempotency_table(&self, name: &str) -> String {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let client = self.dynamodb();
        client
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key schema"),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create table");
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expiration")
                    .enabled(true)
                    .build()
                    .expect("ttl specification"),
            )
            .send()
            .await
            .expect("enable ttl");
        name.to_string()
    }

    /// Creates a standard queue and returns its URL.
    pub async fn create_queue(&self, name: &str) -> String {
        self.sqs()
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url")
    }

    /// Creates a FIFO queue (`name` must end in `.fifo`) and returns its URL.
    pub async fn create_fifo_queue(&self, name: &str) -> String {
        use aws_sdk_sqs::types::QueueAttributeName;
        self.sqs()
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
            .send()
            .await
            .expect("create fifo queue")
            .queue_url
            .expect("queue url")
    }

    /// Receives up to 10 messages (with all attributes) waiting at most `wait_secs`.
    pub async fn receive(
        &self,
        queue_url: &str,
        wait_secs: i32,
    ) -> Vec<aws_sdk_sqs::types::Message> {
        use aws_sdk_sqs::types::MessageSystemAttributeName;
        self.sqs()
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default()
    }

    /// Creates a secret holding `value` as its string and returns its ARN.
    pub async fn create_secret(&self, name: &str, value: &str) -> String {
        self.secrets_manager()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create secret")
            .arn
            .expect("secret arn")
    }

    /// Stores a new value for an existing secret (the emulator's side of a rotation).
    pub async fn put_secret(&self, name: &str, value: &str) {
        self.secrets_manager()
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .expect("put secret value");
    }
}

fn aws_credential_provider() -> aws_credential_types::provider::SharedCredentialsProvider {
    aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
        "test", "test", None, None, "moto",
    ))
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
