//! GraphQL mirrors of the domain's enums. `remote` makes the compiler check that they stay
//! identical to the domain's.

use async_graphql::Enum;

use crate::domain::actor::Role as DomainRole;
use crate::domain::order::{
    LineStatus as DomainLineStatus, PaymentMethod as DomainPaymentMethod,
    TenderMethod as DomainTenderMethod, TenderStatus as DomainTenderStatus,
};

/// Status of an order line's active units (주문상품 상태); an order shows its least advanced
/// active line.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainLineStatus", name = "LineStatus")]
pub enum LineStatus {
    /// 입금대기 / 결제대기: waiting for the payment (`confirmPayment`, or the bank transfer).
    AwaitingPayment,
    /// 결제완료: paid, not yet confirmed by the seller.
    Paid,
    /// 상품준비중: the seller is preparing it.
    Preparing,
    /// 배송중: shipped.
    Shipped,
    /// 배송완료: delivered.
    Delivered,
    /// 구매확정: purchase confirmed.
    PurchaseConfirmed,
    /// 취소완료: cancelled.
    Cancelled,
    /// 반품완료: returned.
    Returned,
}

/// How the cash part of an order is paid.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainPaymentMethod", name = "PaymentMethod")]
pub enum PaymentMethod {
    /// 카드 결제: the order waits for `confirmPayment`.
    Card,
    /// 무통장입금 / 가상계좌: the order waits for a deposit.
    BankTransfer,
}

/// The kind of a tender.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainTenderMethod", name = "TenderMethod")]
pub enum TenderMethod {
    /// Card.
    Card,
    /// Bank transfer.
    BankTransfer,
    /// Points (적립금).
    Points,
}

/// Whether a tender's money has arrived.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainTenderStatus", name = "TenderStatus")]
pub enum TenderStatus {
    /// Paid.
    Paid,
    /// 입금대기: the transfer has not arrived (in full: see `depositedAmount`).
    AwaitingDeposit,
    /// 결제대기: a card payment not confirmed yet (`confirmPayment`).
    AwaitingPayment,
}

/// The role a bearer token names.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainRole", name = "Role")]
pub enum Role {
    /// A shopper (고객).
    Customer,
    /// A merchant (판매자 / 협력사).
    Seller,
    /// Marketplace staff (운영자).
    Operator,
    /// Read-only analyst.
    Analyst,
    /// The server itself (never a token).
    System,
}

/// Which field sorts the orders list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderSortField {
    /// Time placed (then id).
    PlacedAt,
    /// Order number (also by day).
    OrderNumber,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}
