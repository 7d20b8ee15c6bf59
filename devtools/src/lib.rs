//! Local stand-ins that let Ponte's functions run, be tested and be measured on one machine,
//! with no AWS account and no provider account.

pub mod function;
pub mod moto;
pub mod readme;
pub mod runtime_api;
pub mod sandbox;
