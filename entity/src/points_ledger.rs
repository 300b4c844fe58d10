//! `points_ledger`: One movement of a customer's points (적립금).

use sea_orm::entity::prelude::*;

/// One movement of a customer's points (적립금).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub order_id: Option<i64>,
    pub kind: String,
    pub delta: i64,
    pub balance_after: i64,
    pub created_at: DateTimeUtc,
    /// Why an OPERATOR granted or took back points (`adjustPoints`); none for orders and
    /// refunds, whose order says why.
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
