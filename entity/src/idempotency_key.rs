//! `idempotency_keys`: A mutation's idempotency key and the outcome it produced, stored with the
//! change (or, for a refusal, instead of it).

use sea_orm::entity::prelude::*;

/// A mutation's idempotency key and the outcome it produced.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub caller: String,
    pub key: String,
    pub operation: String,
    pub request_hash: String,
    /// How `request_hash` was computed: 1 = the `Debug` text of the request (rows from before
    /// migration 6, matched by operation only), 2 = the canonical JSON of the input.
    pub fingerprint_version: i16,
    /// Version 2: the outcome, `{"done": ...}` or `{"refused": ...}`; version 1: the result.
    #[sea_orm(column_type = "Text")]
    pub response: String,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
