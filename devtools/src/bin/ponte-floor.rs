//! `ponte-floor`: the least a Rust Lambda can do for Ponte's first action, measured by
//! `scripts/bench` as the floor beside Ponte and the Python peer.
//!
//! It reads the same secret, posts each event's body to Cloud Chat's conversations endpoint as
//! it came (no mapping, no validation, no idempotency, no dead letters) and answers. It is
//! built with Ponte's release profile and the same TLS stack (rustls on *ring*, see
//! `shared/src/tls.rs`), so what separates the two in the benchmark is Ponte's own work.

use aws_sdk_secretsmanager::Client as Secrets;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The connection, read once per process as Ponte does.
struct Connection {
    url: String,
    token: String,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    ponte::tls::install_crypto();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ponte::tls::sdk_http_client())
        .load()
        .await;
    let secrets = Secrets::new(&config);
    let http = reqwest::Client::new();
    let secret_id = std::env::var("SECRET_ID")?;
    let connection = OnceCell::new();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (secrets, http, secret_id, connection) = (&secrets, &http, &secret_id, &connection);
        async move {
            let connection = connection
                .get_or_try_init(|| read_connection(secrets, secret_id))
                .await?;
            let bodies: Vec<String> = match event.payload["Records"].as_array() {
                Some(records) => records
                    .iter()
                    .map(|r| r["body"].as_str().unwrap_or_default().to_string())
                    .collect(),
                None => vec![
                    event.payload["body"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ],
            };
            let mut answer = Value::Null;
            for body in bodies {
                let response = http
                    .post(&connection.url)
                    .header("api_access_token", &connection.token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?
                    .error_for_status()?;
                answer = response.json().await?;
            }
            Ok::<Value, Error>(if event.payload["Records"].is_array() {
                json!({"batchItemFailures": []})
            } else {
                json!({"statusCode": 200, "body": answer.to_string()})
            })
        }
    }))
    .await
}

async fn read_connection(secrets: &Secrets, secret_id: &str) -> Result<Connection, Error> {
    let secret = secrets
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await?;
    let value: Value = serde_json::from_str(secret.secret_string().unwrap_or("{}"))?;
    let base_url = value["base_url"]
        .as_str()
        .unwrap_or("https://app.cloudchat.com.br");
    Ok(Connection {
        url: format!(
            "{}/api/v1/accounts/{}/conversations",
            base_url.trim_end_matches('/'),
            value["account_id"]
        ),
        token: value["api_access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    })
}
