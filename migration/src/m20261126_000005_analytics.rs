//! Claim analytics: the count of delivered units per KST day and seller (the claim rate's
//! denominator, kept by `markDelivered` so that `claimStats` need not add up every order line
//! of a year), indexes for `claimStats` and the exports, and `closed_at` for claims that were
//! opened straight into a final status (a cancel completed at once) before the claim service
//! recorded it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000005_analytics"
    }
}

/// The final statuses of `claims.md` as of this migration.
const TERMINAL: [&str; 12] = [
    "CANCEL_COMPLETED",
    "CANCEL_REJECTED",
    "CANCEL_WITHDRAWN",
    "RETURN_COMPLETED",
    "RETURN_REJECTED",
    "RETURN_WITHDRAWN",
    "RETURN_CONVERTED",
    "EXCHANGE_COMPLETED",
    "EXCHANGE_REJECTED",
    "EXCHANGE_WITHDRAWN",
    "EXCHANGE_CONVERTED",
    "EXCHANGE_REFUNDED",
];

/// Indexes on order lines for deliveries of parts of days and of products: each answers its
/// queries alone (on PostgreSQL the quantities ride along).
const LINE_INDEXES: [(&str, [OrderLine; 3]); 3] = [
    (
        "idx_order_lines_delivered",
        [
            OrderLine::DeliveredAt,
            OrderLine::SellerId,
            OrderLine::ProductId,
        ],
    ),
    (
        "idx_order_lines_seller_delivered",
        [
            OrderLine::SellerId,
            OrderLine::DeliveredAt,
            OrderLine::ProductId,
        ],
    ),
    (
        "idx_order_lines_product_delivered",
        [
            OrderLine::ProductId,
            OrderLine::DeliveredAt,
            OrderLine::SellerId,
        ],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Units delivered per KST day and seller, less cancelled units (they do not change once
        // delivered): `markDelivered` adds to it in its transaction.
        m.create_table(
            Table::create()
                .table(DeliveredUnits::Table)
                .col(date(DeliveredUnits::Day))
                .col(big_integer(DeliveredUnits::SellerId))
                .col(big_integer(DeliveredUnits::Units))
                .primary_key(
                    Index::create()
                        .col(DeliveredUnits::Day)
                        .col(DeliveredUnits::SellerId),
                )
                .take(),
        )
        .await?;
        let kst_day = match m.get_database_backend() {
            DbBackend::Postgres => {
                "CAST(((delivered_at AT TIME ZONE 'UTC') + INTERVAL '9 hours') AS DATE)"
            }
            DbBackend::Sqlite | DbBackend::MySql => "date(delivered_at, '+9 hours')",
        };
        m.get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO analytics_delivered_units (day, seller_id, units) \
                 SELECT {kst_day}, seller_id, SUM(quantity - cancelled_quantity) \
                 FROM order_lines WHERE delivered_at IS NOT NULL GROUP BY 1, 2"
            ))
            .await?;
        for (name, cols) in LINE_INDEXES {
            let mut idx = Index::create();
            idx.name(name).table(OrderLine::Table);
            for c in cols {
                idx.col(c);
            }
            idx.include(OrderLine::Quantity)
                .include(OrderLine::CancelledQuantity);
            m.create_index(idx).await?;
        }
        // Refund parts by claim (card / transfer split, the claims' refund loader).
        m.create_index(
            Index::create()
                .name("idx_refund_parts_claim")
                .table(RefundPart::Table)
                .col(RefundPart::ClaimId)
                .take(),
        )
        .await?;
        // Claims that opened in a final status kept no closing time: their last change is it.
        m.exec_stmt(
            Query::update()
                .table(Claim::Table)
                .value(Claim::ClosedAt, Expr::col(Claim::UpdatedAt))
                .and_where(Expr::col(Claim::ClosedAt).is_null())
                .and_where(Expr::col(Claim::Status).is_in(TERMINAL))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_refund_parts_claim")
                .table(RefundPart::Table)
                .to_owned(),
        )
        .await?;
        for (name, _) in LINE_INDEXES {
            m.drop_index(Index::drop().name(name).table(OrderLine::Table).to_owned())
                .await?;
        }
        m.drop_table(Table::drop().table(DeliveredUnits::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum DeliveredUnits {
    #[sea_orm(iden = "analytics_delivered_units")]
    Table,
    Day,
    SellerId,
    Units,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderLine {
    #[sea_orm(iden = "order_lines")]
    Table,
    DeliveredAt,
    SellerId,
    ProductId,
    Quantity,
    CancelledQuantity,
}

#[derive(DeriveIden, Clone, Copy)]
enum RefundPart {
    #[sea_orm(iden = "refund_parts")]
    Table,
    ClaimId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Claim {
    #[sea_orm(iden = "claims")]
    Table,
    Status,
    UpdatedAt,
    ClosedAt,
}
