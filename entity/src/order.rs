//! `orders`: One checkout by one customer (주문).

use sea_orm::entity::prelude::*;

/// One checkout by one customer (주문).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub order_number: String,
    pub customer_id: i64,
    pub status: String,
    pub payment_method: String,
    pub items_net: i64,
    pub coupon_amount: i64,
    pub points_used: i64,
    pub shipping_total: i64,
    pub cash_total: i64,
    pub amount_due: i64,
    pub deposit_deadline: Option<DateTimeUtc>,
    pub deposited_at: Option<DateTimeUtc>,
    pub placed_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
