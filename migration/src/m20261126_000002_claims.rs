//! Claims (취소·교환·반품): the claims with their items and timeline, refunds with their
//! parts, and the order's refund ledger (shipping paid, clawback) on groups and coupons.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_claims"
    }
}

fn id<T: IntoIden>(name: T) -> ColumnDef {
    big_integer(name).auto_increment().primary_key().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The refund ledger of money.md, kept with the rows it belongs to.
        for col in [
            big_integer(Group::ShipPaidCash).default(0).take(),
            big_integer(Group::ShipPaidPoints).default(0).take(),
            boolean(Group::FreeBrokenCharged).default(false).take(),
        ] {
            m.alter_table(Table::alter().table(Group::Table).add_column(col).take())
                .await?;
        }
        m.get_connection()
            .execute_unprepared("UPDATE order_shipping_groups SET ship_paid_cash = shipping_fee")
            .await?;
        for col in [
            boolean(Coupon::Clawed).default(false).take(),
            big_integer(Coupon::ClawPoolCash).default(0).take(),
            big_integer(Coupon::ClawPoolPoints).default(0).take(),
        ] {
            m.alter_table(Table::alter().table(Coupon::Table).add_column(col).take())
                .await?;
        }

        // Fee payments (payClaimFee) are tenders of their own, tied to their claim.
        m.alter_table(
            Table::alter()
                .table(Tender::Table)
                .add_column(big_integer_null(Tender::ClaimId))
                .take(),
        )
        .await?;

        // Courier tracking events already applied: the webhook is idempotent per event id.
        m.create_table(
            Table::create()
                .table(CourierEvent::Table)
                .col(string(CourierEvent::EventId).primary_key())
                .col(string(CourierEvent::TrackingNumber))
                .col(string(CourierEvent::Kind))
                .col(timestamp_with_time_zone(CourierEvent::ReceivedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Claim::Table)
                .col(id(Claim::Id))
                .col(string_uniq(Claim::ClaimNumber))
                .col(big_integer(Claim::OrderId))
                .col(big_integer(Claim::SellerId))
                .col(big_integer(Claim::CustomerId))
                .col(string(Claim::ClaimType))
                .col(string(Claim::Status))
                .col(string(Claim::Reason))
                .col(text_null(Claim::Memo))
                .col(string(Claim::Fault))
                .col(string(Claim::HoldPhase))
                .col(string_null(Claim::HoldReason))
                .col(string_null(Claim::HoldBy))
                .col(text_null(Claim::HoldMemo))
                .col(boolean(Claim::CarriesCollection))
                .col(string_null(Claim::RejectedFrom))
                .col(string_null(Claim::RejectionCode))
                .col(string(Claim::CollectionMethod))
                .col(string_null(Claim::CollectionCourier))
                .col(string_null(Claim::CollectionTracking))
                .col(string_null(Claim::ReshipCourier))
                .col(string_null(Claim::ReshipTracking))
                .col(string_null(Claim::RedeliveryCourier))
                .col(string_null(Claim::RedeliveryTracking))
                .col(big_integer_null(Claim::ConvertedFromId))
                .col(big_integer_null(Claim::ConvertedToId))
                .col(text(Claim::PolicyDecision))
                .col(big_integer(Claim::ReturnFee))
                .col(boolean(Claim::InitialShippingApplies))
                .col(boolean(Claim::CouponClawbackApplies))
                .col(big_integer(Claim::ExchangeFee))
                .col(big_integer(Claim::FeePaid))
                .col(big_integer(Claim::FeeCredit))
                .col(boolean_null(Claim::Restock))
                .col(string(Claim::RequestedBy))
                .col(timestamp_with_time_zone(Claim::RequestedAt))
                .col(timestamp_with_time_zone(Claim::UpdatedAt))
                .col(timestamp_with_time_zone_null(Claim::ClosedAt))
                .col(integer(Claim::Version))
                .check(Expr::col(Claim::FeePaid).gte(0))
                .check(Expr::col(Claim::ExchangeFee).gte(0))
                .take(),
        )
        .await?;
        for (name, cols) in [
            ("idx_claims_order", vec![Claim::OrderId, Claim::Id]),
            (
                "idx_claims_seller",
                vec![Claim::SellerId, Claim::RequestedAt],
            ),
            (
                "idx_claims_customer",
                vec![Claim::CustomerId, Claim::RequestedAt],
            ),
            ("idx_claims_status", vec![Claim::Status, Claim::RequestedAt]),
            ("idx_claims_requested", vec![Claim::RequestedAt, Claim::Id]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Claim::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx).await?;
        }

        m.create_table(
            Table::create()
                .table(ClaimItem::Table)
                .col(id(ClaimItem::Id))
                .col(big_integer(ClaimItem::ClaimId))
                .col(big_integer(ClaimItem::LineId))
                .col(integer(ClaimItem::Quantity))
                .col(big_integer_null(ClaimItem::ReplacementOptionId))
                .check(Expr::col(ClaimItem::Quantity).gt(0))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_claim_items_claim")
                .table(ClaimItem::Table)
                .col(ClaimItem::ClaimId)
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_claim_items_line")
                .table(ClaimItem::Table)
                .col(ClaimItem::LineId)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ClaimEvent::Table)
                .col(id(ClaimEvent::Id))
                .col(big_integer(ClaimEvent::ClaimId))
                .col(integer(ClaimEvent::Version))
                .col(string(ClaimEvent::ActorRole))
                .col(big_integer_null(ClaimEvent::ActorId))
                .col(string(ClaimEvent::Action))
                .col(string_null(ClaimEvent::FromStatus))
                .col(string(ClaimEvent::ToStatus))
                .col(text(ClaimEvent::Payload))
                .col(timestamp_with_time_zone(ClaimEvent::CreatedAt))
                .take(),
        )
        .await?;
        // One event per version: a transition is written once.
        m.create_index(
            Index::create()
                .name("uq_claim_events_version")
                .table(ClaimEvent::Table)
                .col(ClaimEvent::ClaimId)
                .col(ClaimEvent::Version)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Refund::Table)
                .col(id(Refund::Id))
                .col(big_integer_uniq(Refund::ClaimId))
                .col(big_integer(Refund::OrderId))
                .col(big_integer(Refund::ItemsCash))
                .col(big_integer(Refund::ItemsPoints))
                .col(big_integer(Refund::ShippingRefundCash))
                .col(big_integer(Refund::ShippingRefundPoints))
                .col(big_integer(Refund::ClawbackReturnedCash))
                .col(big_integer(Refund::ClawbackReturnedPoints))
                .col(big_integer(Refund::Credit))
                .col(text(Refund::Deductions))
                .col(big_integer(Refund::FeeDue))
                .col(big_integer(Refund::Cash))
                .col(big_integer(Refund::Points))
                .col(big_integer(Refund::DueReduced))
                .col(boolean(Refund::CouponRestored))
                .col(timestamp_with_time_zone(Refund::CreatedAt))
                .check(Expr::col(Refund::Cash).gte(0))
                .check(Expr::col(Refund::Points).gte(0))
                .check(Expr::col(Refund::FeeDue).gte(0))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefundPart::Table)
                .col(id(RefundPart::Id))
                .col(big_integer(RefundPart::RefundId))
                .col(big_integer(RefundPart::ClaimId))
                .col(big_integer_null(RefundPart::TenderId))
                .col(string(RefundPart::Method))
                .col(big_integer(RefundPart::Amount))
                .col(string(RefundPart::Status))
                .col(string(RefundPart::IdempotencyKey))
                .col(string_null(RefundPart::GatewayReference))
                .col(integer(RefundPart::Attempts))
                .col(text_null(RefundPart::LastError))
                .col(timestamp_with_time_zone_null(RefundPart::NextAttemptAt))
                .col(boolean(RefundPart::Manual))
                .col(text_null(RefundPart::Memo))
                .col(timestamp_with_time_zone(RefundPart::UpdatedAt))
                .check(Expr::col(RefundPart::Amount).gt(0))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_refund_parts_key")
                .table(RefundPart::Table)
                .col(RefundPart::IdempotencyKey)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refund_parts_status")
                .table(RefundPart::Table)
                .col(RefundPart::Status)
                .col(RefundPart::NextAttemptAt)
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            CourierEvent::Table.into_iden(),
            RefundPart::Table.into_iden(),
            Refund::Table.into_iden(),
            ClaimEvent::Table.into_iden(),
            ClaimItem::Table.into_iden(),
            Claim::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Group {
    #[sea_orm(iden = "order_shipping_groups")]
    Table,
    ShipPaidCash,
    ShipPaidPoints,
    FreeBrokenCharged,
}

#[derive(DeriveIden, Clone, Copy)]
enum CourierEvent {
    #[sea_orm(iden = "courier_events")]
    Table,
    EventId,
    TrackingNumber,
    Kind,
    ReceivedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tender {
    #[sea_orm(iden = "tenders")]
    Table,
    ClaimId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Coupon {
    #[sea_orm(iden = "order_coupons")]
    Table,
    Clawed,
    ClawPoolCash,
    ClawPoolPoints,
}

// `ClaimNumber` and `ClaimType` are the columns' names in the domain's words.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden, Clone, Copy)]
enum Claim {
    #[sea_orm(iden = "claims")]
    Table,
    Id,
    ClaimNumber,
    OrderId,
    SellerId,
    CustomerId,
    ClaimType,
    Status,
    Reason,
    Memo,
    Fault,
    HoldPhase,
    HoldReason,
    HoldBy,
    HoldMemo,
    CarriesCollection,
    RejectedFrom,
    RejectionCode,
    CollectionMethod,
    CollectionCourier,
    CollectionTracking,
    ReshipCourier,
    ReshipTracking,
    RedeliveryCourier,
    RedeliveryTracking,
    ConvertedFromId,
    ConvertedToId,
    PolicyDecision,
    ReturnFee,
    InitialShippingApplies,
    CouponClawbackApplies,
    ExchangeFee,
    FeePaid,
    FeeCredit,
    Restock,
    RequestedBy,
    RequestedAt,
    UpdatedAt,
    ClosedAt,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum ClaimItem {
    #[sea_orm(iden = "claim_items")]
    Table,
    Id,
    ClaimId,
    LineId,
    Quantity,
    ReplacementOptionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ClaimEvent {
    #[sea_orm(iden = "claim_events")]
    Table,
    Id,
    ClaimId,
    Version,
    ActorRole,
    ActorId,
    Action,
    FromStatus,
    ToStatus,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Refund {
    #[sea_orm(iden = "refunds")]
    Table,
    Id,
    ClaimId,
    OrderId,
    ItemsCash,
    ItemsPoints,
    ShippingRefundCash,
    ShippingRefundPoints,
    ClawbackReturnedCash,
    ClawbackReturnedPoints,
    Credit,
    Deductions,
    FeeDue,
    Cash,
    Points,
    DueReduced,
    CouponRestored,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RefundPart {
    #[sea_orm(iden = "refund_parts")]
    Table,
    Id,
    RefundId,
    ClaimId,
    TenderId,
    Method,
    Amount,
    Status,
    IdempotencyKey,
    GatewayReference,
    Attempts,
    LastError,
    NextAttemptAt,
    Manual,
    Memo,
    UpdatedAt,
}
