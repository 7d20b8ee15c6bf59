//! AWS SDK clients, built from one SDK configuration per process.
//!
//! The configuration (environment, profile files, the HTTPS client) is loaded once, at init
//! (see `App::from_env`), and shared by every client; each client is made from it the first
//! time it is used, since a function may never need some of them (no idempotency table, no
//! queue).

use aws_config::SdkConfig;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The SDK configuration of this process, loaded by the first caller.
#[derive(Default)]
pub struct SdkSource {
    config: OnceCell<SdkConfig>,
}

impl SdkSource {
    pub fn new() -> Self {
        Self::default()
    }

    /// The SDK's standard configuration (region, credentials, `AWS_ENDPOINT_URL`), with Ponte's
    /// HTTPS client ([`crate::tls`]).
    pub async fn get(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| async {
                aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .http_client(crate::tls::sdk_http_client())
                    .load()
                    .await
            })
            .await
    }
}

/// One SDK client, given ready-made (tests) or built from an [`SdkSource`] on first use.
pub enum LazyClient<C> {
    Ready(C),
    Lazy {
        client: OnceCell<C>,
        source: Arc<SdkSource>,
        make: fn(&SdkConfig) -> C,
    },
}

impl<C> LazyClient<C> {
    pub fn from_source(source: Arc<SdkSource>, make: fn(&SdkConfig) -> C) -> Self {
        LazyClient::Lazy {
            client: OnceCell::new(),
            source,
            make,
        }
    }

    pub async fn get(&self) -> &C {
        match self {
            LazyClient::Ready(client) => client,
            LazyClient::Lazy {
                client,
                source,
                make,
            } => {
                client
                    .get_or_init(|| async { make(source.get().await) })
                    .await
            }
        }
    }
}
