//! `products`: A product of one seller.

use sea_orm::entity::prelude::*;

/// A product of one seller.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub seller_id: i64,
    pub name: String,
    /// Bulky goods (대형 상품); a seller's policy may charge more to take them back.
    pub bulky: bool,
    pub created_at: DateTimeUtc,
    /// Images by URL, as a JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub image_urls: String,
    /// Set once discontinued (단종): no new orders.
    pub discontinued_at: Option<DateTimeUtc>,
    /// Bumped by every edit (`expectedVersion`).
    pub version: i32,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
