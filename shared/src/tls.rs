//! TLS for every outgoing call, with one crypto library: rustls on *ring*.
//!
//! The AWS SDK's default client and reqwest's default both bring aws-lc, a large C library
//! that also gathers CPU-jitter entropy when it starts. *ring* is a fraction of its size, which
//! keeps each zipped function under 3 MB (see BENCHMARKS.md), and takes its randomness from the
//! operating system (`getrandom`), as most TLS stacks do. What it lacks: FIPS validation and
//! post-quantum key exchange. A deployment that needs either can switch both clients back to
//! aws-lc here.

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// Makes *ring* the process-wide rustls provider, which reqwest's client uses. Idempotent.
pub fn install_crypto() {
    // An error only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTPS client for AWS SDK clients: rustls on *ring*, with the system's root certificates.
pub fn sdk_http_client() -> aws_sdk_secretsmanager::config::SharedHttpClient {
    install_crypto();
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
