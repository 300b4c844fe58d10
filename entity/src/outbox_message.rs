//! `outbox_messages`: one order or claim transition, written in its transaction.

use sea_orm::entity::prelude::*;

/// An outbox message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_type: String,
    pub order_id: i64,
    pub claim_id: Option<i64>,
    pub seller_id: Option<i64>,
    pub customer_id: i64,
    pub payload: String,
    pub created_at: DateTimeUtc,
    pub dispatched_at: Option<DateTimeUtc>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
