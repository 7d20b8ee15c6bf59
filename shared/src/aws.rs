//! AWS SDK clients, built from one SDK configuration per process.
//!
//! The configuration (environment, profile files, the HTTPS client) is loaded once, at init
//! ([`load_config`], called by `App::from_env`), and shared by every client; each client is made
//! from it the first time it is used, since a function may never need some of them (no
//! idempotency table, no queue).

use aws_config::SdkConfig;
use std::sync::OnceLock;

/// The SDK's standard configuration (region, credentials, `AWS_ENDPOINT_URL`), with Ponte's
/// HTTPS client ([`crate::tls`]).
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::tls::sdk_http_client())
        .load()
        .await
}

/// One SDK client, given ready-made (tests) or made from the process's configuration on first
/// use.
pub enum LazyClient<C> {
    Ready(C),
    Lazy {
        client: OnceLock<C>,
        config: Box<SdkConfig>,
        make: fn(&SdkConfig) -> C,
    },
}

impl<C> LazyClient<C> {
    pub fn from_config(config: &SdkConfig, make: fn(&SdkConfig) -> C) -> Self {
        LazyClient::Lazy {
            client: OnceLock::new(),
            config: Box::new(config.clone()),
            make,
        }
    }

    pub fn get(&self) -> &C {
        match self {
            LazyClient::Ready(client) => client,
            LazyClient::Lazy {
                client,
                config,
                make,
            } => client.get_or_init(|| make(config)),
        }
    }
}
