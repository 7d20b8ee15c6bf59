//! Ponte's adapter crate: everything the provider-action functions share.
//!
//! An event flows one way: [`trigger`] tells API Gateway from SQS; [`api_gateway`] and
//! [`sqs_batch`] read the body ([`envelope`] unwraps SNS and EventBridge); [`App::deliver`]
//! validates it into the action's typed request ([`validate`], [`phone`]), reads the
//! connection ([`secrets`]) and calls the provider ([`provider`]); the outcome becomes an HTTP
//! answer or a batch item failure ([`failure`]). Each provider action is one [`Action`] in
//! [`actions`], listed once in [`registry`].

// `#[declared]` (shared/declare) names this crate `ponte`, as the functions and tools do.
extern crate self as ponte;

pub mod action;
pub mod actions;
pub mod api_gateway;
pub mod app;
pub mod authenticity;
pub mod aws;
pub mod connection;
pub mod dead_letters;
pub mod delivery;
pub mod endpoint;
pub mod envelope;
pub mod explain;
pub mod expressions;
pub mod failure;
pub mod fan_out;
pub mod forms;
pub mod handler;
pub mod idempotency;
pub mod intake;
pub mod json;
pub mod limits;
pub mod logging;
pub mod lookup;
pub mod mapping;
pub mod mask;
pub mod metrics;
pub mod outcome;
pub mod pace;
pub mod phone;
pub mod provider;
pub mod queue;
pub mod received;
pub mod reception;
pub mod registry;
pub mod replay;
pub mod report;
pub mod retry;
pub mod routes;
pub mod secrets;
pub mod settings;
pub mod sqs_batch;
pub mod tls;
pub mod trigger;
pub mod validate;
pub mod webhooks;

pub use action::Action;
pub use app::{App, Error};
pub use failure::Failure;
pub use handler::run;
pub use report::{Delivered, Report};
pub use settings::Settings;
