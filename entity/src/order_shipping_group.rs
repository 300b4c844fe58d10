//! `order_shipping_groups`: One seller's lines of an order (묶음배송 그룹) with the shipping settings copied at checkout.

use sea_orm::entity::prelude::*;

/// One seller's lines of an order (묶음배송 그룹) with the shipping settings copied at checkout.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_shipping_groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub seller_id: i64,
    pub base_fee: i64,
    pub free_threshold: i64,
    pub return_fee: i64,
    pub shipping_fee: i64,
    /// Shipping the customer really paid in cash (money.md): refunded once.
    pub ship_paid_cash: i64,
    /// Shipping paid in points (an initial-shipping charge taken from points).
    pub ship_paid_points: i64,
    /// The initial-shipping charge has applied (once per group).
    pub free_broken_charged: bool,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
