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
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
