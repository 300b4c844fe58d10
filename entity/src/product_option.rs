//! `product_options`: One option (size, colour) of a product, with its price and stock on hand.

use sea_orm::entity::prelude::*;

/// One option (size, colour) of a product, with its price and stock on hand.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_options")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    /// The seller's instant discount per unit (즉시할인).
    pub instant_discount: i64,
    /// Set once discontinued (단종): no new orders.
    pub discontinued_at: Option<DateTimeUtc>,
    /// Bumped by every edit (`expectedVersion`).
    pub version: i32,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
