//! Test harness: the local AWS emulator (moto's server) and helpers shared by the
//! end-to-end tests under `tests/tests/`.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

pub mod backpressure;
pub mod chaos;
pub mod connection;
pub mod control;
pub mod deliverer;
pub mod demo;
pub mod destination;
pub mod function_url;
pub mod hubspot;
pub mod in_flight;
pub mod moto;
pub mod providers;
pub mod runtime_api;
pub mod slack;
pub mod sqs_event;
pub mod stack;
