//! The API tests: one binary, a real router per test, on SQLite and on PostgreSQL
//! (`OMS_TEST_POSTGRES_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod analytics;
mod answers;
mod builders;
mod claims;
mod codes;
mod engine_model;
mod events;
mod faults;
mod gateway;
mod guard;
mod harness;
mod hostile;
mod idempotency;
mod live;
mod notify_channels;
mod oidc;
mod orders;
mod payments;
mod plugins;
mod protocol;
mod replicas;
mod sandbox;
mod secrets;
mod seed;
mod sinks;
mod startup;
mod tenancy;
mod text;
mod tls;
mod toss;
mod wasm;
mod webhook_targets;
