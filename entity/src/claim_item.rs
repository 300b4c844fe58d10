//! `claim_items`: Units of one order line in a claim, and the replacement option of an exchange.

use sea_orm::entity::prelude::*;

/// Units of one order line in a claim, and the replacement option of an exchange.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub claim_id: i64,
    pub line_id: i64,
    pub quantity: i32,
    pub replacement_option_id: Option<i64>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
