//! `order_lines`: One product option in an order (주문상품) with its checkout allocations.

use sea_orm::entity::prelude::*;

/// One product option in an order (주문상품) with its checkout allocations.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub line_no: i32,
    pub seller_id: i64,
    pub product_id: i64,
    pub option_id: i64,
    pub product_name: String,
    pub option_name: String,
    pub unit_price: i64,
    pub quantity: i32,
    pub line_discount: i64,
    pub bundle_id: Option<String>,
    pub net: i64,
    pub coupon_share: i64,
    pub points_share: i64,
    pub cash_share: i64,
    pub status: String,
    pub cancelled_quantity: i32,
    pub returned_quantity: i32,
    pub claimed_quantity: i32,
    pub shipment_id: Option<i64>,
    pub shipped_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
