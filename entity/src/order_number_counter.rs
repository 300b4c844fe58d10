//! `order_number_counters`: Per-day counter behind order numbers (`YYYYMMDD-NNNNNN`).

use sea_orm::entity::prelude::*;

/// Per-day counter behind order numbers (`YYYYMMDD-NNNNNN`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_number_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    pub last_value: i64,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
