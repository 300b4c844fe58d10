//! Nothing goes unheard: the transactional outbox (one message per order or claim transition,
//! written in the transition's transaction), its deliveries (notifications, partner webhooks,
//! the event stream) with attempts and a dead-letter state, sellers' webhook endpoints, and the
//! contact details notifications go to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000004_outbox"
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
                .table(Customer::Table)
                .add_column(string_null(Customer::Phone))
                .take(),
        )
        .await?;
        for col in [string_null(Seller::Email), string_null(Seller::Phone)] {
            m.alter_table(Table::alter().table(Seller::Table).add_column(col).take())
                .await?;
        }

        m.create_table(
            Table::create()
                .table(Message::Table)
                .col(id(Message::Id))
                .col(string(Message::EventType))
                .col(big_integer(Message::OrderId))
                .col(big_integer_null(Message::ClaimId))
                .col(big_integer_null(Message::SellerId))
                .col(big_integer(Message::CustomerId))
                .col(text(Message::Payload))
                .col(timestamp_with_time_zone(Message::CreatedAt))
                .col(timestamp_with_time_zone_null(Message::DispatchedAt))
                .take(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_outbox_undispatched",
                vec![Message::DispatchedAt, Message::Id],
            ),
            ("idx_outbox_claim", vec![Message::ClaimId, Message::Id]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Message::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx).await?;
        }

        m.create_table(
            Table::create()
                .table(Delivery::Table)
                .col(id(Delivery::Id))
                .col(big_integer(Delivery::MessageId))
                .col(string(Delivery::Destination))
                .col(string(Delivery::Audience))
                .col(string(Delivery::Target))
                .col(big_integer_null(Delivery::WebhookId))
                .col(string_null(Delivery::Template))
                .col(string(Delivery::Status))
                .col(integer(Delivery::Attempts).default(0))
                .col(timestamp_with_time_zone(Delivery::NextAttemptAt))
                .col(timestamp_with_time_zone_null(Delivery::LockedUntil))
                .col(string_null(Delivery::LockedBy))
                .col(text_null(Delivery::LastError))
                .col(integer_null(Delivery::ResponseStatus))
                .col(timestamp_with_time_zone_null(Delivery::DeliveredAt))
                .col(timestamp_with_time_zone(Delivery::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Delivery::Table, Delivery::MessageId)
                        .to(Message::Table, Message::Id),
                )
                .take(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_deliveries_due",
                vec![Delivery::Status, Delivery::NextAttemptAt],
            ),
            ("idx_deliveries_message", vec![Delivery::MessageId]),
            (
                "idx_deliveries_webhook",
                vec![Delivery::WebhookId, Delivery::Id],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Delivery::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx).await?;
        }

        m.create_table(
            Table::create()
                .table(Webhook::Table)
                .col(id(Webhook::Id))
                .col(big_integer(Webhook::SellerId))
                .col(string(Webhook::Url))
                .col(text(Webhook::EventTypes))
                .col(string_null(Webhook::Description))
                .col(string(Webhook::Secret))
                .col(string_null(Webhook::PreviousSecret))
                .col(timestamp_with_time_zone_null(Webhook::PreviousSecretUntil))
                .col(timestamp_with_time_zone(Webhook::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Webhook::Table, Webhook::SellerId)
                        .to(Seller::Table, Seller::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhooks_seller")
                .table(Webhook::Table)
                .col(Webhook::SellerId)
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Delivery::Table).take())
            .await?;
        m.drop_table(Table::drop().table(Message::Table).take())
            .await?;
        m.drop_table(Table::drop().table(Webhook::Table).take())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Customer {
    #[sea_orm(iden = "customers")]
    Table,
    Phone,
}

#[derive(DeriveIden, Clone, Copy)]
enum Seller {
    #[sea_orm(iden = "sellers")]
    Table,
    Id,
    Email,
    Phone,
}

#[derive(DeriveIden, Clone, Copy)]
enum Message {
    #[sea_orm(iden = "outbox_messages")]
    Table,
    Id,
    EventType,
    OrderId,
    ClaimId,
    SellerId,
    CustomerId,
    Payload,
    CreatedAt,
    DispatchedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Delivery {
    #[sea_orm(iden = "outbox_deliveries")]
    Table,
    Id,
    MessageId,
    Destination,
    Audience,
    Target,
    WebhookId,
    Template,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LockedBy,
    LastError,
    ResponseStatus,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Webhook {
    #[sea_orm(iden = "webhook_endpoints")]
    Table,
    Id,
    SellerId,
    Url,
    EventTypes,
    Description,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    CreatedAt,
}
