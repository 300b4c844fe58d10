//! `courier_events`: courier tracking events already applied (the webhook is idempotent).

use sea_orm::entity::prelude::*;

/// A courier tracking event that was applied.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courier_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    pub tracking_number: String,
    pub kind: String,
    pub received_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
