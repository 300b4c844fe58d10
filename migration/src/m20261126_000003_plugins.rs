//! Seller policy plugins (`policies.md`): uploaded modules with their versions, the active
//! module per seller and hook, the failures of evaluations, and the `bulky` flag products
//! carry into a policy's input.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_plugins"
    }
}

fn id<T: IntoIden>(name: T) -> ColumnDef {
    big_integer(name).auto_increment().primary_key().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Product::Table)
                .add_column(boolean(Product::Bulky).default(false))
                .take(),
        )
        .await?;

        // Uploaded modules. The bytes are kept so every replica can compile a module it has not
        // seen; (seller, hook, version) numbers the uploads of one seller's hook.
        m.create_table(
            Table::create()
                .table(Plugin::Table)
                .col(id(Plugin::Id))
                .col(big_integer(Plugin::SellerId))
                .col(string(Plugin::Hook))
                .col(integer(Plugin::Version))
                .col(string(Plugin::Sha256))
                .col(big_integer(Plugin::SizeBytes))
                .col(blob(Plugin::Wasm))
                .col(string(Plugin::UploadedBy))
                .col(timestamp_with_time_zone(Plugin::UploadedAt))
                .col(integer(Plugin::FuelUsedAtUpload))
                .col(integer(Plugin::ConsecutiveFailures).default(0))
                .col(timestamp_with_time_zone_null(Plugin::SwitchedOffAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Plugin::Table, Plugin::SellerId)
                        .to(Seller::Table, Seller::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_plugins_version")
                .table(Plugin::Table)
                .col(Plugin::SellerId)
                .col(Plugin::Hook)
                .col(Plugin::Version)
                .unique()
                .take(),
        )
        .await?;

        // At most one active module per seller and hook; no row means the built-in default.
        m.create_table(
            Table::create()
                .table(Activation::Table)
                .col(id(Activation::Id))
                .col(big_integer(Activation::SellerId))
                .col(string(Activation::Hook))
                .col(big_integer(Activation::PluginId))
                .col(string(Activation::ActivatedBy))
                .col(timestamp_with_time_zone(Activation::ActivatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Activation::Table, Activation::PluginId)
                        .to(Plugin::Table, Plugin::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_policy_activations_hook")
                .table(Activation::Table)
                .col(Activation::SellerId)
                .col(Activation::Hook)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Failure::Table)
                .col(id(Failure::Id))
                .col(big_integer(Failure::PluginId))
                .col(big_integer(Failure::SellerId))
                .col(string(Failure::Hook))
                .col(big_integer_null(Failure::ClaimId))
                .col(string(Failure::Reason))
                .col(text(Failure::Message))
                .col(big_integer(Failure::FuelUsed))
                .col(timestamp_with_time_zone(Failure::OccurredAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Failure::Table, Failure::PluginId)
                        .to(Plugin::Table, Plugin::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_plugin_failures_seller")
                .table(Failure::Table)
                .col(Failure::SellerId)
                .col(Failure::Id)
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Failure::Table).take())
            .await?;
        m.drop_table(Table::drop().table(Activation::Table).take())
            .await?;
        m.drop_table(Table::drop().table(Plugin::Table).take())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Product::Table)
                .drop_column(Product::Bulky)
                .take(),
        )
        .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Product {
    #[sea_orm(iden = "products")]
    Table,
    Bulky,
}

#[derive(DeriveIden, Clone, Copy)]
enum Seller {
    #[sea_orm(iden = "sellers")]
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Plugin {
    #[sea_orm(iden = "plugins")]
    Table,
    Id,
    SellerId,
    Hook,
    Version,
    Sha256,
    SizeBytes,
    Wasm,
    UploadedBy,
    UploadedAt,
    FuelUsedAtUpload,
    ConsecutiveFailures,
    SwitchedOffAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Activation {
    #[sea_orm(iden = "policy_activations")]
    Table,
    Id,
    SellerId,
    Hook,
    PluginId,
    ActivatedBy,
    ActivatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Failure {
    #[sea_orm(iden = "plugin_failures")]
    Table,
    Id,
    PluginId,
    SellerId,
    Hook,
    ClaimId,
    Reason,
    Message,
    FuelUsed,
    OccurredAt,
}
