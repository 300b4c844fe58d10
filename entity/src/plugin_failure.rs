//! `plugin_failures`: an evaluation of a plugin that failed; the default decided instead.

use sea_orm::entity::prelude::*;

/// A failed evaluation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugin_failures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plugin_id: i64,
    pub seller_id: i64,
    pub hook: String,
    pub claim_id: Option<i64>,
    pub reason: String,
    pub message: String,
    pub fuel_used: i64,
    pub occurred_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
