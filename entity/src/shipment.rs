//! `shipments`: A parcel a seller sent: courier and tracking number.

use sea_orm::entity::prelude::*;

/// A parcel a seller sent: courier and tracking number.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub seller_id: i64,
    pub courier: String,
    pub tracking_number: String,
    pub shipped_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
