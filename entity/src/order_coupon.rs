//! `order_coupons`: The coupon applied to an order.

use sea_orm::entity::prelude::*;

/// The coupon applied to an order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_coupons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub order_id: i64,
    pub code: String,
    pub amount: i64,
    pub min_purchase: i64,
    pub restored: bool,
    /// A coupon clawback has applied (once per order).
    pub clawed: bool,
    /// What the clawback took in cash, less what later claims gave back.
    pub claw_pool_cash: i64,
    /// What the clawback took in points, less what later claims gave back.
    pub claw_pool_points: i64,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
