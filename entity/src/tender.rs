//! `tenders`: A payment of an order: card, bank transfer or points.

use sea_orm::entity::prelude::*;

/// A payment of an order: card, bank transfer or points.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub method: String,
    pub amount: i64,
    pub status: String,
    pub refunded_amount: i64,
    pub gateway_reference: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// For a claim-fee payment (payClaimFee): its claim. None for the order's own payments.
    pub claim_id: Option<i64>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
