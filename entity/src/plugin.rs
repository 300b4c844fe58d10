//! `plugins`: an uploaded policy module, one version of one seller's hook.

use sea_orm::entity::prelude::*;

/// An uploaded policy module.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub seller_id: i64,
    pub hook: String,
    pub version: i32,
    pub sha256: String,
    pub size_bytes: i64,
    pub wasm: Vec<u8>,
    pub uploaded_by: String,
    pub uploaded_at: DateTimeUtc,
    pub fuel_used_at_upload: i32,
    pub consecutive_failures: i32,
    pub switched_off_at: Option<DateTimeUtc>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
