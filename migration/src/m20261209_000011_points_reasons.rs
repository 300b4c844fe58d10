//! Points granted or taken back by an OPERATOR carry the reason they give (issue 20, part 5).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000011_points_reasons"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(PointsLedger::Table)
                .add_column(text_null(PointsLedger::Reason))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(PointsLedger::Table)
                .drop_column(PointsLedger::Reason)
                .take(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum PointsLedger {
    #[sea_orm(iden = "points_ledger")]
    Table,
    Reason,
}
