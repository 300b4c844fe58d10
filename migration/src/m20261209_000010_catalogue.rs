//! The catalogue through the API (issue 20, part 2): products carry images by URL; products
//! and options can be discontinued (단종: no new orders, placed orders untouched) and carry a
//! version for `expectedVersion`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000010_catalogue"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        let product = [
            text(Product::ImageUrls).default("[]").take(),
            timestamp_with_time_zone_null(Product::DiscontinuedAt),
            integer(Product::Version).default(1).take(),
        ];
        for mut column in product {
            m.alter_table(
                Table::alter()
                    .table(Product::Table)
                    .add_column(&mut column)
                    .take(),
            )
            .await?;
        }
        let option = [
            timestamp_with_time_zone_null(ProductOption::DiscontinuedAt),
            integer(ProductOption::Version).default(1).take(),
        ];
        for mut column in option {
            m.alter_table(
                Table::alter()
                    .table(ProductOption::Table)
                    .add_column(&mut column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [ProductOption::Version, ProductOption::DiscontinuedAt] {
            m.alter_table(
                Table::alter()
                    .table(ProductOption::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        for column in [
            Product::Version,
            Product::DiscontinuedAt,
            Product::ImageUrls,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Product::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Product {
    #[sea_orm(iden = "products")]
    Table,
    ImageUrls,
    DiscontinuedAt,
    Version,
}

#[derive(DeriveIden)]
enum ProductOption {
    #[sea_orm(iden = "product_options")]
    Table,
    DiscontinuedAt,
    Version,
}
