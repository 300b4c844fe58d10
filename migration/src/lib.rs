//! Schema migrations of the OMS database, run by `oms migrate` and on every `oms serve` start.
//!
//! The same migrations run on SQLite (the embedded default) and on PostgreSQL (production).
//! Money columns are `BIGINT` counts of won; statuses are stored as their SCREAMING_CASE names
//! and parsed into the domain's enums by the repository layer.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_orders;
mod m20261126_000002_claims;
mod m20261126_000003_plugins;
mod m20261126_000004_outbox;
mod m20261126_000005_analytics;
mod m20261201_000006_idempotency_outcomes;
mod m20261208_000007_external_identities;
mod m20261209_000008_payments;
mod m20261209_000009_seller_onboarding;
mod m20261209_000010_catalogue;
mod m20261209_000011_points_reasons;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_orders::Migration),
            Box::new(m20261126_000002_claims::Migration),
            Box::new(m20261126_000003_plugins::Migration),
            Box::new(m20261126_000004_outbox::Migration),
            Box::new(m20261126_000005_analytics::Migration),
            Box::new(m20261201_000006_idempotency_outcomes::Migration),
            Box::new(m20261208_000007_external_identities::Migration),
            Box::new(m20261209_000008_payments::Migration),
            Box::new(m20261209_000009_seller_onboarding::Migration),
            Box::new(m20261209_000010_catalogue::Migration),
            Box::new(m20261209_000011_points_reasons::Migration),
        ]
    }
}
