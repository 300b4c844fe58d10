//! Customers and sellers may carry the subject (`sub`) their identity provider gives them:
//! `external_id`, nullable (accounts made here have none) and unique per table, so one
//! identity speaks for one account. A unique index allows many NULLs on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000007_external_identities"
    }
}

const CUSTOMER_INDEX: &str = "ux_customers_external_id";
const SELLER_INDEX: &str = "ux_sellers_external_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Customer::Table)
                .add_column(string_null(Customer::ExternalId))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Seller::Table)
                .add_column(string_null(Seller::ExternalId))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(CUSTOMER_INDEX)
                .table(Customer::Table)
                .col(Customer::ExternalId)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(SELLER_INDEX)
                .table(Seller::Table)
                .col(Seller::ExternalId)
                .unique()
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(CUSTOMER_INDEX)
                .table(Customer::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name(SELLER_INDEX)
                .table(Seller::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Customer::Table)
                .drop_column(Customer::ExternalId)
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Seller::Table)
                .drop_column(Seller::ExternalId)
                .take(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Customer {
    #[sea_orm(iden = "customers")]
    Table,
    ExternalId,
}

#[derive(DeriveIden)]
enum Seller {
    #[sea_orm(iden = "sellers")]
    Table,
    ExternalId,
}
