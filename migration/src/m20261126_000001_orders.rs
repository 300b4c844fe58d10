//! The foundation: sellers, catalogue, customers, orders with their lines, tenders, coupons,
//! shipping groups and shipments, the points ledger, idempotency keys and job leases.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_orders"
    }
}

/// A `BIGINT` surrogate key: `bigserial` on PostgreSQL, `INTEGER PRIMARY KEY AUTOINCREMENT` on
/// SQLite (sea-query maps it).
fn id<T: IntoIden>(name: T) -> ColumnDef {
    big_integer(name).auto_increment().primary_key().take()
}

fn fk(
    from_table: impl IntoIden + 'static,
    from_col: impl IntoIden + 'static,
    to_table: impl IntoIden + 'static,
    to_col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Seller::Table)
                .col(id(Seller::Id))
                .col(string(Seller::Name))
                .col(big_integer(Seller::BaseShippingFee))
                .col(big_integer(Seller::FreeShippingThreshold))
                .col(big_integer(Seller::ReturnFee))
                .col(timestamp_with_time_zone(Seller::CreatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Product::Table)
                .col(id(Product::Id))
                .col(big_integer(Product::SellerId))
                .col(string(Product::Name))
                .col(timestamp_with_time_zone(Product::CreatedAt))
                .foreign_key(&mut fk(
                    Product::Table,
                    Product::SellerId,
                    Seller::Table,
                    Seller::Id,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProductOption::Table)
                .col(id(ProductOption::Id))
                .col(big_integer(ProductOption::ProductId))
                .col(string(ProductOption::Name))
                .col(big_integer(ProductOption::Price))
                .col(big_integer(ProductOption::Stock))
                .col(big_integer(ProductOption::InstantDiscount))
                .check(Expr::col(ProductOption::Stock).gte(0))
                .check(Expr::col(ProductOption::Price).gte(0))
                .foreign_key(&mut fk(
                    ProductOption::Table,
                    ProductOption::ProductId,
                    Product::Table,
                    Product::Id,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Customer::Table)
                .col(id(Customer::Id))
                .col(string(Customer::Name))
                .col(string(Customer::Email))
                .col(big_integer(Customer::PointsBalance))
                .col(string_null(Customer::RefundBank))
                .col(string_null(Customer::RefundAccountNumber))
                .col(string_null(Customer::RefundAccountHolder))
                .col(timestamp_with_time_zone(Customer::CreatedAt))
                .check(Expr::col(Customer::PointsBalance).gte(0))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Coupon::Table)
                .col(string(Coupon::Code).primary_key())
                .col(string(Coupon::Name))
                .col(big_integer(Coupon::Amount))
                .col(big_integer(Coupon::MinPurchase))
                .check(Expr::col(Coupon::Amount).gte(0))
                .check(Expr::col(Coupon::MinPurchase).gte(0))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OrderNumberCounter::Table)
                .col(string(OrderNumberCounter::Day).primary_key())
                .col(big_integer(OrderNumberCounter::LastValue))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Order::Table)
                .col(id(Order::Id))
                .col(string_uniq(Order::OrderNumber))
                .col(big_integer(Order::CustomerId))
                .col(string(Order::Status))
                .col(string(Order::PaymentMethod))
                .col(big_integer(Order::ItemsNet))
                .col(big_integer(Order::CouponAmount))
                .col(big_integer(Order::PointsUsed))
                .col(big_integer(Order::ShippingTotal))
                .col(big_integer(Order::CashTotal))
                .col(big_integer(Order::AmountDue))
                .col(timestamp_with_time_zone_null(Order::DepositDeadline))
                .col(timestamp_with_time_zone_null(Order::DepositedAt))
                .col(timestamp_with_time_zone(Order::PlacedAt))
                .col(timestamp_with_time_zone(Order::UpdatedAt))
                .col(integer(Order::Version))
                .check(Expr::col(Order::AmountDue).gte(0))
                .foreign_key(&mut fk(
                    Order::Table,
                    Order::CustomerId,
                    Customer::Table,
                    Customer::Id,
                ))
                .take(),
        )
        .await?;
        index(
            m,
            Order::Table,
            "idx_orders_placed",
            &[Order::PlacedAt, Order::Id],
        )
        .await?;
        index(
            m,
            Order::Table,
            "idx_orders_customer",
            &[Order::CustomerId, Order::PlacedAt],
        )
        .await?;
        index(
            m,
            Order::Table,
            "idx_orders_status",
            &[Order::Status, Order::PlacedAt],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OrderShippingGroup::Table)
                .col(id(OrderShippingGroup::Id))
                .col(big_integer(OrderShippingGroup::OrderId))
                .col(big_integer(OrderShippingGroup::SellerId))
                .col(big_integer(OrderShippingGroup::BaseFee))
                .col(big_integer(OrderShippingGroup::FreeThreshold))
                .col(big_integer(OrderShippingGroup::ReturnFee))
                .col(big_integer(OrderShippingGroup::ShippingFee))
                .foreign_key(&mut fk(
                    OrderShippingGroup::Table,
                    OrderShippingGroup::OrderId,
                    Order::Table,
                    Order::Id,
                ))
                .foreign_key(&mut fk(
                    OrderShippingGroup::Table,
                    OrderShippingGroup::SellerId,
                    Seller::Table,
                    Seller::Id,
                ))
                .take(),
        )
        .await?;
        unique_index(
            m,
            OrderShippingGroup::Table,
            "uq_shipping_group_order_seller",
            &[OrderShippingGroup::OrderId, OrderShippingGroup::SellerId],
        )
        .await?;
        index(
            m,
            OrderShippingGroup::Table,
            "idx_shipping_group_seller",
            &[OrderShippingGroup::SellerId, OrderShippingGroup::OrderId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Shipment::Table)
                .col(id(Shipment::Id))
                .col(big_integer(Shipment::OrderId))
                .col(big_integer(Shipment::SellerId))
                .col(string(Shipment::Courier))
                .col(string(Shipment::TrackingNumber))
                .col(timestamp_with_time_zone(Shipment::ShippedAt))
                .col(timestamp_with_time_zone_null(Shipment::DeliveredAt))
                .foreign_key(&mut fk(
                    Shipment::Table,
                    Shipment::OrderId,
                    Order::Table,
                    Order::Id,
                ))
                .take(),
        )
        .await?;
        index(
            m,
            Shipment::Table,
            "idx_shipments_order",
            &[Shipment::OrderId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OrderLine::Table)
                .col(id(OrderLine::Id))
                .col(big_integer(OrderLine::OrderId))
                .col(integer(OrderLine::LineNo))
                .col(big_integer(OrderLine::SellerId))
                .col(big_integer(OrderLine::ProductId))
                .col(big_integer(OrderLine::OptionId))
                .col(string(OrderLine::ProductName))
                .col(string(OrderLine::OptionName))
                .col(big_integer(OrderLine::UnitPrice))
                .col(integer(OrderLine::Quantity))
                .col(big_integer(OrderLine::LineDiscount))
                .col(string_null(OrderLine::BundleId))
                .col(big_integer(OrderLine::Net))
                .col(big_integer(OrderLine::CouponShare))
                .col(big_integer(OrderLine::PointsShare))
                .col(big_integer(OrderLine::CashShare))
                .col(string(OrderLine::Status))
                .col(integer(OrderLine::CancelledQuantity))
                .col(integer(OrderLine::ReturnedQuantity))
                .col(integer(OrderLine::ClaimedQuantity))
                .col(big_integer_null(OrderLine::ShipmentId))
                .col(timestamp_with_time_zone_null(OrderLine::ShippedAt))
                .col(timestamp_with_time_zone_null(OrderLine::DeliveredAt))
                .col(timestamp_with_time_zone_null(OrderLine::ConfirmedAt))
                .check(Expr::col(OrderLine::Quantity).gt(0))
                .check(Expr::col(OrderLine::CancelledQuantity).gte(0))
                .check(Expr::col(OrderLine::ReturnedQuantity).gte(0))
                .check(Expr::col(OrderLine::ClaimedQuantity).gte(0))
                // Quantities add up: closed and claimed units never exceed what was ordered.
                .check(
                    Expr::col(OrderLine::CancelledQuantity)
                        .add(Expr::col(OrderLine::ReturnedQuantity))
                        .add(Expr::col(OrderLine::ClaimedQuantity))
                        .lte(Expr::col(OrderLine::Quantity)),
                )
                .foreign_key(&mut fk(
                    OrderLine::Table,
                    OrderLine::OrderId,
                    Order::Table,
                    Order::Id,
                ))
                .foreign_key(&mut fk(
                    OrderLine::Table,
                    OrderLine::SellerId,
                    Seller::Table,
                    Seller::Id,
                ))
                .foreign_key(&mut fk(
                    OrderLine::Table,
                    OrderLine::OptionId,
                    ProductOption::Table,
                    ProductOption::Id,
                ))
                .foreign_key(&mut fk(
                    OrderLine::Table,
                    OrderLine::ShipmentId,
                    Shipment::Table,
                    Shipment::Id,
                ))
                .take(),
        )
        .await?;
        index(
            m,
            OrderLine::Table,
            "idx_order_lines_order",
            &[OrderLine::OrderId, OrderLine::LineNo],
        )
        .await?;
        index(
            m,
            OrderLine::Table,
            "idx_order_lines_seller",
            &[OrderLine::SellerId, OrderLine::OrderId],
        )
        .await?;
        index(
            m,
            OrderLine::Table,
            "idx_order_lines_status_delivered",
            &[OrderLine::Status, OrderLine::DeliveredAt],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Tender::Table)
                .col(id(Tender::Id))
                .col(big_integer(Tender::OrderId))
                .col(string(Tender::Method))
                .col(big_integer(Tender::Amount))
                .col(string(Tender::Status))
                .col(big_integer(Tender::RefundedAmount))
                .col(string_null(Tender::GatewayReference))
                .col(timestamp_with_time_zone_null(Tender::PaidAt))
                .col(timestamp_with_time_zone(Tender::CreatedAt))
                .check(Expr::col(Tender::Amount).gte(0))
                .check(Expr::col(Tender::RefundedAmount).gte(0))
                // Per tender: never refunded more than it paid.
                .check(Expr::col(Tender::RefundedAmount).lte(Expr::col(Tender::Amount)))
                .foreign_key(&mut fk(
                    Tender::Table,
                    Tender::OrderId,
                    Order::Table,
                    Order::Id,
                ))
                .take(),
        )
        .await?;
        index(m, Tender::Table, "idx_tenders_order", &[Tender::OrderId]).await?;

        m.create_table(
            Table::create()
                .table(OrderCoupon::Table)
                .col(id(OrderCoupon::Id))
                .col(big_integer_uniq(OrderCoupon::OrderId))
                .col(string(OrderCoupon::Code))
                .col(big_integer(OrderCoupon::Amount))
                .col(big_integer(OrderCoupon::MinPurchase))
                .col(boolean(OrderCoupon::Restored))
                .foreign_key(&mut fk(
                    OrderCoupon::Table,
                    OrderCoupon::OrderId,
                    Order::Table,
                    Order::Id,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PointsLedger::Table)
                .col(id(PointsLedger::Id))
                .col(big_integer(PointsLedger::CustomerId))
                .col(big_integer_null(PointsLedger::OrderId))
                .col(string(PointsLedger::Kind))
                .col(big_integer(PointsLedger::Delta))
                .col(big_integer(PointsLedger::BalanceAfter))
                .col(timestamp_with_time_zone(PointsLedger::CreatedAt))
                .check(Expr::col(PointsLedger::BalanceAfter).gte(0))
                .foreign_key(&mut fk(
                    PointsLedger::Table,
                    PointsLedger::CustomerId,
                    Customer::Table,
                    Customer::Id,
                ))
                .take(),
        )
        .await?;
        index(
            m,
            PointsLedger::Table,
            "idx_points_ledger_customer",
            &[PointsLedger::CustomerId, PointsLedger::Id],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IdempotencyKey::Table)
                .col(id(IdempotencyKey::Id))
                .col(string(IdempotencyKey::Caller))
                .col(string(IdempotencyKey::Key))
                .col(string(IdempotencyKey::Operation))
                .col(string(IdempotencyKey::RequestHash))
                .col(text(IdempotencyKey::Response))
                .col(timestamp_with_time_zone(IdempotencyKey::CreatedAt))
                .take(),
        )
        .await?;
        unique_index(
            m,
            IdempotencyKey::Table,
            "uq_idempotency_caller_key",
            &[IdempotencyKey::Caller, IdempotencyKey::Key],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(JobLease::Table)
                .col(string(JobLease::Name).primary_key())
                .col(string(JobLease::Owner))
                .col(timestamp_with_time_zone(JobLease::LeaseUntil))
                .col(timestamp_with_time_zone_null(JobLease::LastRunAt))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            JobLease::Table.into_iden(),
            IdempotencyKey::Table.into_iden(),
            PointsLedger::Table.into_iden(),
            OrderCoupon::Table.into_iden(),
            Tender::Table.into_iden(),
            OrderLine::Table.into_iden(),
            Shipment::Table.into_iden(),
            OrderShippingGroup::Table.into_iden(),
            Order::Table.into_iden(),
            OrderNumberCounter::Table.into_iden(),
            Coupon::Table.into_iden(),
            Customer::Table.into_iden(),
            ProductOption::Table.into_iden(),
            Product::Table.into_iden(),
            Seller::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}

async fn index<C: IntoIden + Copy + 'static>(
    m: &SchemaManager<'_>,
    table: impl IntoIden + 'static,
    name: &str,
    cols: &[C],
) -> Result<(), DbErr> {
    m.create_index(index_stmt(table, name, cols)).await
}

async fn unique_index<C: IntoIden + Copy + 'static>(
    m: &SchemaManager<'_>,
    table: impl IntoIden + 'static,
    name: &str,
    cols: &[C],
) -> Result<(), DbErr> {
    m.create_index(index_stmt(table, name, cols).unique().take())
        .await
}

fn index_stmt<C: IntoIden + Copy + 'static>(
    table: impl IntoIden + 'static,
    name: &str,
    cols: &[C],
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(*c);
    }
    stmt
}

#[derive(DeriveIden, Clone, Copy)]
enum Seller {
    #[sea_orm(iden = "sellers")]
    Table,
    Id,
    Name,
    BaseShippingFee,
    FreeShippingThreshold,
    ReturnFee,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Product {
    #[sea_orm(iden = "products")]
    Table,
    Id,
    SellerId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProductOption {
    #[sea_orm(iden = "product_options")]
    Table,
    Id,
    ProductId,
    Name,
    Price,
    Stock,
    InstantDiscount,
}

#[derive(DeriveIden, Clone, Copy)]
enum Customer {
    #[sea_orm(iden = "customers")]
    Table,
    Id,
    Name,
    Email,
    PointsBalance,
    RefundBank,
    RefundAccountNumber,
    RefundAccountHolder,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Coupon {
    #[sea_orm(iden = "coupons")]
    Table,
    Code,
    Name,
    Amount,
    MinPurchase,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderNumberCounter {
    #[sea_orm(iden = "order_number_counters")]
    Table,
    Day,
    LastValue,
}

// `OrderNumber` is the column's name in the domain's words.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden, Clone, Copy)]
enum Order {
    #[sea_orm(iden = "orders")]
    Table,
    Id,
    OrderNumber,
    CustomerId,
    Status,
    PaymentMethod,
    ItemsNet,
    CouponAmount,
    PointsUsed,
    ShippingTotal,
    CashTotal,
    AmountDue,
    DepositDeadline,
    DepositedAt,
    PlacedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderShippingGroup {
    #[sea_orm(iden = "order_shipping_groups")]
    Table,
    Id,
    OrderId,
    SellerId,
    BaseFee,
    FreeThreshold,
    ReturnFee,
    ShippingFee,
}

#[derive(DeriveIden, Clone, Copy)]
enum Shipment {
    #[sea_orm(iden = "shipments")]
    Table,
    Id,
    OrderId,
    SellerId,
    Courier,
    TrackingNumber,
    ShippedAt,
    DeliveredAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderLine {
    #[sea_orm(iden = "order_lines")]
    Table,
    Id,
    OrderId,
    LineNo,
    SellerId,
    ProductId,
    OptionId,
    ProductName,
    OptionName,
    UnitPrice,
    Quantity,
    LineDiscount,
    BundleId,
    Net,
    CouponShare,
    PointsShare,
    CashShare,
    Status,
    CancelledQuantity,
    ReturnedQuantity,
    ClaimedQuantity,
    ShipmentId,
    ShippedAt,
    DeliveredAt,
    ConfirmedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tender {
    #[sea_orm(iden = "tenders")]
    Table,
    Id,
    OrderId,
    Method,
    Amount,
    Status,
    RefundedAmount,
    GatewayReference,
    PaidAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderCoupon {
    #[sea_orm(iden = "order_coupons")]
    Table,
    Id,
    OrderId,
    Code,
    Amount,
    MinPurchase,
    Restored,
}

#[derive(DeriveIden, Clone, Copy)]
enum PointsLedger {
    #[sea_orm(iden = "points_ledger")]
    Table,
    Id,
    CustomerId,
    OrderId,
    Kind,
    Delta,
    BalanceAfter,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKey {
    #[sea_orm(iden = "idempotency_keys")]
    Table,
    Id,
    Caller,
    Key,
    Operation,
    RequestHash,
    Response,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum JobLease {
    #[sea_orm(iden = "job_leases")]
    Table,
    Name,
    Owner,
    LeaseUntil,
    LastRunAt,
}
