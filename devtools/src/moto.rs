//! A moto server (a local AWS: Secrets Manager, SQS, DynamoDB…) on a loopback port.
//!
//! moto is a Python package (`pip install 'moto[server]'`). The server runs from
//! `moto_server.py` beside this crate and stops when its standard input closes, which happens
//! when the process holding [`Moto`] exits, however it exits.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

pub struct Moto {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl Moto {
    /// Starts a server on a free port.
    pub fn start() -> Result<Self, String> {
        Self::start_on(0)
    }

    /// Starts a server on `port` (0: a free one) with the Python of `PONTE_PYTHON`, else
    /// `python3`.
    pub fn start_on(port: u16) -> Result<Self, String> {
        let python = std::env::var("PONTE_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_server.py");
        let port = match port {
            0 => free_port().map_err(|e| format!("no free port: {e}"))?,
            port => port,
        };
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {python}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("moto did not start: {e}"))?;
        if line.trim() != "ready" {
            let _ = child.kill();
            return Err(format!(
                "moto did not start (is it installed? pip install 'moto[server]'): {line:?}"
            ));
        }
        Ok(Self {
            child,
            _stdin: stdin,
            port,
        })
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The SDK configuration for the moto server at `endpoint`, through the SDK's own loader.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    use aws_sdk_secretsmanager::config::{Credentials, Region};
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

/// A Secrets Manager client for the moto server at `endpoint`.
pub async fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config(endpoint).await)
}

/// Creates the idempotency table Ponte's template creates (key `id`, on demand) unless it
/// exists.
pub async fn create_idempotency_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(err) => {
            let err = err.into_service_error();
            if err.is_resource_in_use_exception() {
                Ok(())
            } else {
                Err(format!("cannot create table {table}: {err}"))
            }
        }
    }
}

/// Creates the secret `name` holding `value`, or gives it that value if it exists.
pub async fn put_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &serde_json::Value,
) -> Result<(), String> {
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await;
    if created.is_ok() {
        return Ok(());
    }
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot store secret {name}: {e}"))
}

/// The environment a function needs to reach Secrets Manager at moto, with dummy credentials
/// (without them the SDK would look for an instance role and fail).
pub fn function_env(endpoint: &str, secret_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", "us-east-1".into()),
        // Lambda sets both; botocore reads only this one.
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
        ("SECRET_ID", secret_id.into()),
        // The signed form events in events/ are recorded deliveries, stamped when they were
        // recorded: their age is not held against them here (100 years).
        ("SIGNED_DELIVERY_MAX_AGE_SECONDS", "3153600000".into()),
        // A delivery is remembered as long as a copy of it may be taken.
        ("IDEMPOTENCY_TTL_SECONDS", "3153600000".into()),
    ]
}
