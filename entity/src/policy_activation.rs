//! `policy_activations`: the active plugin of a seller's hook (none: the built-in default).

use sea_orm::entity::prelude::*;

/// The active plugin of one seller's hook.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_activations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub seller_id: i64,
    pub hook: String,
    pub plugin_id: i64,
    pub activated_by: String,
    pub activated_at: DateTimeUtc,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
