//! Idempotency keys remember refusals too, and say how their request was fingerprinted:
//! `fingerprint_version` 1 for the rows written before (a hash of Rust's `Debug` text of the
//! request, which changes between releases; such rows match a replay by operation only), 2 for
//! the canonical JSON of the input (`service::idempotency`). Version 2 rows hold
//! `{"done": ...}` or `{"refused": {code, field, message}}` in `response`; version 1 rows hold
//! the successful result alone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_idempotency_outcomes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(IdempotencyKey::Table)
                .add_column(small_integer(IdempotencyKey::FingerprintVersion).default(1))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(IdempotencyKey::Table)
                .drop_column(IdempotencyKey::FingerprintVersion)
                .take(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKey {
    #[sea_orm(iden = "idempotency_keys")]
    Table,
    FingerprintVersion,
}
