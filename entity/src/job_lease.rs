//! `job_leases`: A lease that lets one replica at a time run a SYSTEM job.

use sea_orm::entity::prelude::*;

/// A lease that lets one replica at a time run a SYSTEM job.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub owner: String,
    pub lease_until: DateTimeUtc,
    pub last_run_at: Option<DateTimeUtc>,
}

/// No relations are declared: the repository layer joins explicitly and batches loads.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
