//! `refund_parts`: One movement of a refund: points restored, or cash back to one payment.

use sea_orm::entity::prelude::*;

/// One movement of a refund: points restored, or cash back to one payment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refund_parts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub refund_id: i64,
    pub claim_id: i64,
    pub tender_id: Option<i64>,
    pub method: String,
    pub amount: i64,
    pub status: String,
    pub idempotency_key: String,
    pub gateway_reference: Option<String>,
    pub attempts: i32,
    #[sea_orm(column_type = "Text")]
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub manual: bool,
    #[sea_orm(column_type = "Text")]
    pub memo: Option<String>,
    pub updated_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
