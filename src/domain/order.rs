//! Orders as the domain sees them: line and order statuses, payment methods, order numbers,
//! and which lifecycle step is allowed from which line status.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::money::Won;

labelled_enum! {
    /// The status of an order line's active units (주문상품 상태, `domain.md`), in the order a
    /// line moves through them; claims open from it.
    pub enum LineStatus {
        /// Waiting for a bank-transfer deposit (입금대기).
        AwaitingPayment => ("AWAITING_PAYMENT", "입금대기"),
        /// Paid; the seller has not confirmed yet (결제완료).
        Paid => ("PAID", "결제완료"),
        /// The seller is preparing the shipment (상품준비중).
        Preparing => ("PREPARING", "상품준비중"),
        /// On its way (배송중).
        Shipped => ("SHIPPED", "배송중"),
        /// Delivered (배송완료).
        Delivered => ("DELIVERED", "배송완료"),
        /// The customer accepted the goods (구매확정).
        PurchaseConfirmed => ("PURCHASE_CONFIRMED", "구매확정"),
        /// Every unit cancelled (취소완료).
        Cancelled => ("CANCELLED", "취소완료"),
        /// Every unit returned; some may have been cancelled (반품완료).
        Returned => ("RETURNED", "반품완료"),
    }
}

impl LineStatus {
    /// True when no unit of the line is active any more.
    pub const fn is_closed(self) -> bool {
        match self {
            LineStatus::Cancelled | LineStatus::Returned => true,
            LineStatus::AwaitingPayment
            | LineStatus::Paid
            | LineStatus::Preparing
            | LineStatus::Shipped
            | LineStatus::Delivered
            | LineStatus::PurchaseConfirmed => false,
        }
    }
}

/// A stored name that is not one of the enum's values: the database holds something this
/// version of the code does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownName {
    /// What was being parsed.
    pub kind: &'static str,
    /// The text found.
    pub value: String,
}

macro_rules! parse_by_name {
    ($ty:ty, $kind:literal) => {
        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        kind: $kind,
                        value: s.to_owned(),
                    })
            }
        }
    };
}

parse_by_name!(LineStatus, "line status");

/// The order's status: where its least advanced active line is, or how it closed.
///
/// It is derived from the lines by [`order_status`] and stored so that orders can be filtered
/// by it in SQL.
pub type OrderStatus = LineStatus;

/// The status an order shows for its lines: the least advanced status among active lines;
/// when no line is active, RETURNED if any line was returned, else CANCELLED.
pub fn order_status(lines: impl IntoIterator<Item = LineStatus>) -> OrderStatus {
    let mut least_active: Option<LineStatus> = None;
    let mut any_returned = false;
    for status in lines {
        if status.is_closed() {
            any_returned |= status == LineStatus::Returned;
        } else {
            least_active = Some(least_active.map_or(status, |s| s.min(status)));
        }
    }
    match least_active {
        Some(status) => status,
        None if any_returned => LineStatus::Returned,
        None => LineStatus::Cancelled,
    }
}

/// How the cash part of an order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentMethod {
    /// 카드: charged at checkout; refunds are partial cancels at the gateway.
    Card,
    /// 무통장입금 / 가상계좌: the order waits for a deposit before its deadline.
    BankTransfer,
}

impl PaymentMethod {
    /// Both methods.
    pub const ALL: [PaymentMethod; 2] = [PaymentMethod::Card, PaymentMethod::BankTransfer];

    /// The stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "CARD",
            PaymentMethod::BankTransfer => "BANK_TRANSFER",
        }
    }

    /// When a new order placed at `placed_at` with `cash_total` to pay lapses unpaid (미입금
    /// 취소): a card order when `windows.card_minutes` pass without `confirmPayment`, a bank
    /// transfer after `windows.deposit_hours` (or its virtual account's own due date, once one
    /// is issued). An order with no cash to pay never lapses: points paid it at once.
    pub fn payment_deadline(
        self,
        placed_at: DateTime<Utc>,
        cash_total: Won,
        windows: PaymentWindows,
    ) -> Option<DateTime<Utc>> {
        if !cash_total.is_positive() {
            return None;
        }
        Some(match self {
            PaymentMethod::Card => placed_at + chrono::Duration::minutes(windows.card_minutes),
            PaymentMethod::BankTransfer => {
                placed_at + chrono::Duration::hours(windows.deposit_hours)
            }
        })
    }

    /// The tender status of the cash part before it is paid: a card waits for `confirmPayment`,
    /// a bank transfer for its deposit.
    pub const fn unpaid_tender_status(self) -> TenderStatus {
        match self {
            PaymentMethod::Card => TenderStatus::AwaitingPayment,
            PaymentMethod::BankTransfer => TenderStatus::AwaitingDeposit,
        }
    }
}

/// How long an order waits for its payment (`--card-payment-minutes`,
/// `--deposit-deadline-hours`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentWindows {
    /// Minutes a card order waits for `confirmPayment`.
    pub card_minutes: i64,
    /// Hours a bank-transfer order waits for its deposit.
    pub deposit_hours: i64,
}

/// The status a new order's lines start in (`domain.md`): every order with cash to pay waits
/// for it (입금대기); an order paid entirely with points is paid at once.
pub fn initial_line_status(cash_total: Won) -> LineStatus {
    if cash_total.is_positive() {
        LineStatus::AwaitingPayment
    } else {
        LineStatus::Paid
    }
}
parse_by_name!(PaymentMethod, "payment method");

/// The kind of a tender (one payment of an order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenderMethod {
    /// A card payment.
    Card,
    /// A bank transfer (deposit).
    BankTransfer,
    /// Points (적립금) used as a tender.
    Points,
}

impl TenderMethod {
    /// Every tender method.
    pub const ALL: [TenderMethod; 3] = [
        TenderMethod::Card,
        TenderMethod::BankTransfer,
        TenderMethod::Points,
    ];

    /// The stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TenderMethod::Card => "CARD",
            TenderMethod::BankTransfer => "BANK_TRANSFER",
            TenderMethod::Points => "POINTS",
        }
    }
}
parse_by_name!(TenderMethod, "tender method");

impl From<PaymentMethod> for TenderMethod {
    fn from(m: PaymentMethod) -> Self {
        match m {
            PaymentMethod::Card => TenderMethod::Card,
            PaymentMethod::BankTransfer => TenderMethod::BankTransfer,
        }
    }
}

/// Whether a tender's money has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenderStatus {
    /// The money was taken (card confirmed, deposit arrived in full, points spent).
    Paid,
    /// A bank transfer not deposited (in full) yet.
    AwaitingDeposit,
    /// A card payment the customer has not had confirmed yet (`confirmPayment`).
    AwaitingPayment,
}

impl TenderStatus {
    /// Every tender status.
    pub const ALL: [TenderStatus; 3] = [
        TenderStatus::Paid,
        TenderStatus::AwaitingDeposit,
        TenderStatus::AwaitingPayment,
    ];

    /// The stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TenderStatus::Paid => "PAID",
            TenderStatus::AwaitingDeposit => "AWAITING_DEPOSIT",
            TenderStatus::AwaitingPayment => "AWAITING_PAYMENT",
        }
    }
}
parse_by_name!(TenderStatus, "tender status");

/// An order-side lifecycle step (not a claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineStep {
    /// `confirmDeposit` or the gateway's deposit callback: the bank transfer arrived in full.
    ConfirmDeposit,
    /// `confirmPayment`: the gateway confirmed the card payment.
    ConfirmPayment,
    /// `confirmOrder`: the seller accepts the order and prepares it.
    ConfirmOrder,
    /// `shipLines`: the seller hands the parcel to a courier.
    Ship,
    /// `markDelivered`: the courier delivered it.
    MarkDelivered,
    /// `confirmPurchase`: the customer (or the SYSTEM after N days) accepts the goods.
    ConfirmPurchase,
}

impl LineStep {
    /// The outbox event the step writes (`order.shipped`).
    pub const fn event_type(self) -> &'static str {
        match self {
            LineStep::ConfirmDeposit => "order.deposit_confirmed",
            LineStep::ConfirmPayment => "order.paid",
            LineStep::ConfirmOrder => "order.preparing",
            LineStep::Ship => "order.shipped",
            LineStep::MarkDelivered => "order.delivered",
            LineStep::ConfirmPurchase => "order.purchase_confirmed",
        }
    }

    /// The GraphQL mutation that performs the step.
    pub const fn mutation_name(self) -> &'static str {
        match self {
            LineStep::ConfirmDeposit => "confirmDeposit",
            LineStep::ConfirmPayment => "confirmPayment",
            LineStep::ConfirmOrder => "confirmOrder",
            LineStep::Ship => "shipLines",
            LineStep::MarkDelivered => "markDelivered",
            LineStep::ConfirmPurchase => "confirmPurchase",
        }
    }

    /// The single (from, to) pair of the step: the line lifecycle of `domain.md` as data.
    pub const fn transition(self) -> (LineStatus, LineStatus) {
        match self {
            LineStep::ConfirmDeposit | LineStep::ConfirmPayment => {
                (LineStatus::AwaitingPayment, LineStatus::Paid)
            }
            LineStep::ConfirmOrder => (LineStatus::Paid, LineStatus::Preparing),
            LineStep::Ship => (LineStatus::Preparing, LineStatus::Shipped),
            LineStep::MarkDelivered => (LineStatus::Shipped, LineStatus::Delivered),
            LineStep::ConfirmPurchase => (LineStatus::Delivered, LineStatus::PurchaseConfirmed),
        }
    }
}

/// A human-readable order number, `YYYYMMDD-NNNNNN`: the day it was placed (UTC) and a per-day
/// sequence drawn from the database, so it is unique across replicas and sorts by time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderNumber(String);

impl OrderNumber {
    /// The number for the `sequence`-th order of the day of `placed_at`.
    pub fn new(placed_at: DateTime<Utc>, sequence: i64) -> Self {
        OrderNumber(format!("{}-{sequence:06}", placed_at.format("%Y%m%d")))
    }

    /// The counter key: the day part.
    pub fn day_key(placed_at: DateTime<Utc>) -> String {
        placed_at.format("%Y%m%d").to_string()
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_with_cash_to_pay_waits_for_it() {
        assert_eq!(
            initial_line_status(Won::new(1)),
            LineStatus::AwaitingPayment
        );
        assert_eq!(initial_line_status(Won::ZERO), LineStatus::Paid);
        let placed = DateTime::parse_from_rfc3339("2026-12-08T09:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let windows = PaymentWindows {
            card_minutes: 30,
            deposit_hours: 72,
        };
        let card = PaymentMethod::Card.payment_deadline(placed, Won::new(1000), windows);
        assert_eq!(card, Some(placed + chrono::Duration::minutes(30)));
        let transfer =
            PaymentMethod::BankTransfer.payment_deadline(placed, Won::new(1000), windows);
        assert_eq!(transfer, Some(placed + chrono::Duration::hours(72)));
        // Points paid it all: nothing lapses.
        assert_eq!(
            PaymentMethod::Card.payment_deadline(placed, Won::ZERO, windows),
            None
        );
        assert_eq!(
            PaymentMethod::Card.unpaid_tender_status(),
            TenderStatus::AwaitingPayment
        );
        assert_eq!(
            PaymentMethod::BankTransfer.unpaid_tender_status(),
            TenderStatus::AwaitingDeposit
        );
    }

    #[test]
    fn order_status_is_the_least_advanced_active_line() {
        use LineStatus::*;
        assert_eq!(order_status([Delivered, Preparing, Cancelled]), Preparing);
        assert_eq!(order_status([Cancelled, Returned]), Returned);
        assert_eq!(order_status([Cancelled, Cancelled]), Cancelled);
        assert_eq!(order_status([PurchaseConfirmed]), PurchaseConfirmed);
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for &s in LineStatus::ALL {
            assert_eq!(s.as_str().parse::<LineStatus>().ok(), Some(s));
        }
        assert!("SHIPPING".parse::<LineStatus>().is_err());
    }

    #[test]
    fn order_numbers_sort_by_day_then_sequence() {
        let day = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(OrderNumber::new(day, 123).as_str(), "20261124-000123");
        assert!(OrderNumber::new(day, 9) < OrderNumber::new(day, 10));
    }

    #[test]
    fn each_step_moves_one_status_forward() {
        for step in [
            LineStep::ConfirmDeposit,
            LineStep::ConfirmOrder,
            LineStep::Ship,
            LineStep::MarkDelivered,
            LineStep::ConfirmPurchase,
        ] {
            let (from, to) = step.transition();
            assert!(from < to, "{step:?}");
        }
    }
}
