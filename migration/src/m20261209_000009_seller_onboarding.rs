//! Sellers onboarded through the API (issue 20, part 1): the business registration number
//! (사업자등록번호), a return address and a default courier, a suspension (no new orders;
//! existing claims go on) and a version for `expectedVersion` when the seller edits its terms.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000009_seller_onboarding"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        let columns = [
            string_null(Seller::BusinessNumber),
            string_null(Seller::ReturnAddress),
            string_null(Seller::DefaultCourier),
            timestamp_with_time_zone_null(Seller::SuspendedAt),
            string_null(Seller::SuspensionReason),
            integer(Seller::Version).default(1).take(),
        ];
        for mut column in columns {
            m.alter_table(
                Table::alter()
                    .table(Seller::Table)
                    .add_column(&mut column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Seller::Version,
            Seller::SuspensionReason,
            Seller::SuspendedAt,
            Seller::DefaultCourier,
            Seller::ReturnAddress,
            Seller::BusinessNumber,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Seller::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Seller {
    #[sea_orm(iden = "sellers")]
    Table,
    BusinessNumber,
    ReturnAddress,
    DefaultCourier,
    SuspendedAt,
    SuspensionReason,
    Version,
}
