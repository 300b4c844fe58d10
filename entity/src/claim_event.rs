//! `claim_events`: One transition of a claim: the timeline and audit trail.

use sea_orm::entity::prelude::*;

/// One transition of a claim: the timeline and audit trail.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub claim_id: i64,
    pub version: i32,
    pub actor_role: String,
    pub actor_id: Option<i64>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
