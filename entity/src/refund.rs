//! `refunds`: The priced refund of a claim that closed units; never changes once stored.

use sea_orm::entity::prelude::*;

/// The priced refund of a claim that closed units; never changes once stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub claim_id: i64,
    pub order_id: i64,
    pub items_cash: i64,
    pub items_points: i64,
    pub shipping_refund_cash: i64,
    pub shipping_refund_points: i64,
    pub clawback_returned_cash: i64,
    pub clawback_returned_points: i64,
    pub credit: i64,
    #[sea_orm(column_type = "Text")]
    pub deductions: String,
    pub fee_due: i64,
    pub cash: i64,
    pub points: i64,
    pub due_reduced: i64,
    pub coupon_restored: bool,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
