//! Claim statistics as the API shows them: rows of group keys and measures, and the open claims
//! that have waited longest. The definitions behind every figure are `domain::analytics`; the
//! field descriptions repeat them, because GraphiQL's docs pane is the analysts' manual.

use async_graphql::{Enum, Object, SimpleObject, ID};
use chrono::{DateTime, FixedOffset};

use super::claim::Claim;
use super::claim_enums::{ClaimReason, ClaimType, Fault, HoldReason};
use crate::domain::analytics::{self as domain, Grouping, StatsRow};
use crate::domain::money::Won;
use crate::graphql::ids::{to_id, Kind};
use crate::service::analytics::{OpenClaimAge as OpenClaimAgeModel, StatsPage};

/// What `claimStats` groups by. Give any combination, with at most one of DAY, WEEK and MONTH;
/// none gives one row for all the claims the filter covers.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::Dimension", name = "ClaimStatsDimension")]
pub enum ClaimStatsDimension {
    /// The claim's seller (판매자).
    Seller,
    /// The product of the claimed units (상품). A claim over several products counts once in
    /// each, with that product's units and a share of its money.
    Product,
    /// The claim's reason (사유). Deliveries have no reason: the claim rate's denominator is that
    /// of the row's seller, product and period.
    Reason,
    /// Cancel, return or exchange (유형). Same denominator rule as REASON.
    Type,
    /// Who caused the claim (귀책). Same denominator rule as REASON.
    Fault,
    /// The day of the request, in Korea Standard Time (UTC+09:00).
    Day,
    /// The week of the request, Monday to Sunday (ISO 8601), in Korea Standard Time.
    Week,
    /// The month of the request, in Korea Standard Time.
    Month,
}

/// What `claimStats` rows can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::OrderField", name = "ClaimStatsOrderField")]
pub enum ClaimStatsOrderField {
    /// The period's start.
    Period,
    /// The seller's name.
    Seller,
    /// The product's name.
    Product,
    /// `claims`.
    Claims,
    /// `claimedUnits`.
    ClaimedUnits,
    /// `deliveredUnits`.
    DeliveredUnits,
    /// `orderedUnits` (counts them, as selecting the field does).
    OrderedUnits,
    /// `claimRate` (rows without deliveries last).
    ClaimRate,
    /// `cancelRate` (rows without orders last; counts the ordered units).
    CancelRate,
    /// `returnRate` (rows without deliveries last).
    ReturnRate,
    /// `exchangeRate` (rows without deliveries last).
    ExchangeRate,
    /// `refundedCash`.
    RefundedCash,
    /// `refundedPoints`.
    RefundedPoints,
    /// `feesCharged`.
    FeesCharged,
    /// `feesRefunded`.
    FeesRefunded,
    /// `medianHoursToComplete` (rows without claims that waited last).
    MedianHoursToComplete,
    /// `p90HoursToComplete` (rows without claims that waited last).
    P90HoursToComplete,
    /// `openClaims`.
    OpenClaims,
    /// `onHold`.
    OnHold,
    /// `withdrawals`.
    Withdrawals,
}

/// Claim statistics: rows of group keys and measures.
pub struct ClaimStats {
    /// The rows.
    pub page: StatsPage,
    /// What they are grouped by.
    pub grouping: Grouping,
}

/// Claim statistics: rows of group keys and measures (`claimStats`).
#[Object]
impl ClaimStats {
    /// One row per group, sorted as asked (then by the group keys). Groups with deliveries but
    /// no claims appear too (claim rate 0) unless REASON, TYPE or FAULT is a dimension.
    async fn rows(&self) -> Vec<ClaimStatsRow<'_>> {
        self.page.rows.iter().map(ClaimStatsRow).collect()
    }

    /// True when there were more rows than `first`; `GET /export/claim-stats.csv` streams
    /// them all.
    async fn truncated(&self) -> bool {
        self.page.truncated
    }

    /// The dimensions of the rows, in column order.
    async fn group_by(&self) -> Vec<ClaimStatsDimension> {
        self.grouping
            .dimensions()
            .iter()
            .map(|d| ClaimStatsDimension::from(*d))
            .collect()
    }

    /// The time zone of DAY, WEEK and MONTH: `Asia/Seoul` (UTC+09:00, no daylight saving).
    async fn time_zone(&self) -> &'static str {
        "Asia/Seoul"
    }
}

/// Claims on hold now for one hold reason.
#[derive(SimpleObject)]
pub struct HoldCount {
    /// The hold reason (보류 사유).
    pub reason: HoldReason,
    /// Claims held (in force, not pending approval) for it now.
    pub claims: i64,
}

/// One group of claims and its measures. A key is null when the rows are not grouped by it.
///
/// The claims of a row are those **requested** in the filter's period (`from` ≤ requestedAt <
/// `to`); claims closed by a conversion (`*_CONVERTED`) count in `conversions` only, since the
/// claim the conversion opened covers the same units. Money is the refund priced for each claim
/// (`Claim.refund`), whatever its payment state.
pub struct ClaimStatsRow<'a>(&'a StatsRow);

/// One group of claims and its measures; a key is null when the rows are not grouped by it.
/// The claims of a row are those requested in the filter's period; claims closed by a
/// conversion count in `conversions` only. Money is the refund priced for each claim, whatever
/// its payment state, with the goods (`refundedCash`, `refundedPoints`) and the fees
/// (`feesCharged`, `feesRefunded`) apart. Periods are in Korea Standard Time (UTC+09:00);
/// hours are rounded to the hundredth.
#[Object]
impl ClaimStatsRow<'_> {
    /// The period (DAY, WEEK or MONTH dimension): `2026-11-24`, `2026-W48` (ISO week) or
    /// `2026-11`, in Korea Standard Time.
    async fn period(&self) -> Option<String> {
        self.0.keys.period.map(|p| p.label())
    }

    /// When the period starts: midnight KST of its first day (a Monday for weeks), RFC 3339
    /// (`2026-11-30T00:00:00+09:00`; the CSV's `period_start` is the same text).
    async fn period_start(&self) -> Option<DateTime<FixedOffset>> {
        self.0.keys.period.map(|p| p.starts_at())
    }

    /// The seller (SELLER dimension), `Seller.id`.
    async fn seller_id(&self) -> Option<ID> {
        self.0
            .keys
            .seller
            .as_ref()
            .map(|(id, _)| to_id(Kind::Seller, *id))
    }

    /// The seller's name.
    async fn seller_name(&self) -> Option<&str> {
        self.0.keys.seller.as_ref().map(|(_, name)| name.as_str())
    }

    /// The product (PRODUCT dimension), `Product.id`.
    async fn product_id(&self) -> Option<ID> {
        self.0
            .keys
            .product
            .as_ref()
            .map(|(id, _)| to_id(Kind::Product, *id))
    }

    /// The product's name in the catalogue.
    async fn product_name(&self) -> Option<&str> {
        self.0.keys.product.as_ref().map(|(_, name)| name.as_str())
    }

    /// The claim type (TYPE dimension).
    async fn r#type(&self) -> Option<ClaimType> {
        self.0.keys.claim_type.map(ClaimType::from)
    }

    /// The reason (REASON dimension).
    async fn reason(&self) -> Option<ClaimReason> {
        self.0.keys.reason.map(ClaimReason::from)
    }

    /// The fault party (FAULT dimension).
    async fn fault(&self) -> Option<Fault> {
        self.0.keys.fault.map(Fault::from)
    }

    /// Claims requested (클레임 건수), not counting those closed by a conversion.
    async fn claims(&self) -> i64 {
        self.0.measures.claims
    }

    /// Units those claims cover (클레임 수량), of every type: `cancelledUnits + returnedUnits +
    /// exchangedUnits`.
    async fn claimed_units(&self) -> i64 {
        self.0.measures.claimed_units
    }

    /// The part of `claimedUnits` in cancels (취소 수량), requested whatever became of them.
    async fn cancelled_units(&self) -> i64 {
        self.0.measures.cancelled_units
    }

    /// The part of `claimedUnits` in returns (반품 수량), requested whatever became of them.
    async fn returned_units(&self) -> i64 {
        self.0.measures.returned_units
    }

    /// The part of `claimedUnits` in exchanges (교환 수량), requested whatever became of them.
    async fn exchanged_units(&self) -> i64 {
        self.0.measures.exchanged_units
    }

    /// Units delivered in the period (배송완료 수량; less units cancelled), for the row's seller,
    /// product and period — not split by reason, type or fault, which deliveries do not have.
    async fn delivered_units(&self) -> i64 {
        self.0.measures.delivered_units
    }

    /// Units of the orders placed in the period (주문 수량; cancelled units included), for the
    /// row's seller, product and period, like `deliveredUnits`: the cancel rate's denominator.
    /// Read from the period's order lines, so only counted when this field or `cancelRate` is
    /// selected (or sorted by).
    async fn ordered_units(&self) -> i64 {
        self.0.measures.ordered_units.unwrap_or_default()
    }

    /// `cancelledUnits ÷ orderedUnits` (취소율); null without orders. Period-based: cancels
    /// requested and orders placed in the same period.
    async fn cancel_rate(&self) -> Option<f64> {
        self.0.measures.cancel_rate()
    }

    /// `returnedUnits ÷ deliveredUnits` (반품률); null without deliveries. Period-based:
    /// returns requested and units delivered in the same period.
    async fn return_rate(&self) -> Option<f64> {
        self.0.measures.return_rate()
    }

    /// `exchangedUnits ÷ deliveredUnits` (교환율); null without deliveries. Period-based, like
    /// `returnRate`.
    async fn exchange_rate(&self) -> Option<f64> {
        self.0.measures.exchange_rate()
    }

    /// `claimedUnits ÷ deliveredUnits` (클레임률), every type together; null without
    /// deliveries. Cancels precede delivery, so this mixes two denominators' worth of claims:
    /// for what each type means use `cancelRate`, `returnRate` and `exchangeRate`.
    async fn claim_rate(&self) -> Option<f64> {
        self.0.measures.claim_rate()
    }

    /// Cash refunded for the goods (환불 금액, 현금): the items, the shipping refunded with them
    /// and any clawback given back, less the deductions kept; paid out or still on their way.
    /// Fees given back are not in it (`feesRefunded`).
    async fn refunded_cash(&self) -> Won {
        self.0.measures.refunded_cash
    }

    /// Cash refunded to cards (카드 취소), goods and fees: with `refundedToBankTransfer`, it adds
    /// up to `refundedCash + feesRefunded`.
    async fn refunded_to_card(&self) -> Won {
        self.0.measures.refunded_to_card
    }

    /// Cash refunded to bank accounts (계좌 환불), goods and fees.
    async fn refunded_to_bank_transfer(&self) -> Won {
        self.0.measures.refunded_to_bank_transfer
    }

    /// The cash refunded (goods and fees) the payment gateway has not confirmed yet (pending,
    /// failed, or waiting for a refund account).
    async fn cash_refund_pending(&self) -> Won {
        self.0.measures.cash_refund_pending
    }

    /// Points restored (적립금 환원).
    async fn refunded_points(&self) -> Won {
        self.0.measures.refunded_points
    }

    /// Fees charged for the claims (배송비·수수료 청구), never negative: the fees paid
    /// separately (exchange fees, a return's fee due once paid) plus the deductions kept from
    /// refunds (initial shipping, return shipping, coupon clawback), less any part of them paid
    /// out of a fee credited from an earlier claim (charged there already). A fee due that a
    /// seller waived is not charged.
    async fn fees_charged(&self) -> Won {
        self.0.measures.fees_charged
    }

    /// Fees paid earlier and given back (수수료 환불), in cash: the fee of an exchange withdrawn,
    /// rejected before collection or refunded instead (`refundExchange`), and an exchange fee
    /// credited to the return a conversion opened — as far as the refund's cash holds it. What
    /// the customers bore is `feesCharged − feesRefunded`.
    async fn fees_refunded(&self) -> Won {
        self.0.measures.fees_refunded
    }

    /// Claims completed (CANCEL_COMPLETED, RETURN_COMPLETED, EXCHANGE_COMPLETED,
    /// EXCHANGE_REFUNDED), at once or not.
    async fn completed(&self) -> i64 {
        self.0.measures.completed
    }

    /// The part of `completed` closed at the instant of their request (즉시 완료): cancels
    /// approved and refunded in the request's own transaction. They never waited, so the hours
    /// to complete leave them out.
    async fn completed_at_once(&self) -> i64 {
        self.0.measures.completed_at_once
    }

    /// Median hours from request to completion of the completed claims that waited (not
    /// `completedAtOnce`), to the hundredth (linear interpolation, as PostgreSQL's
    /// `percentile_cont(0.5)`); null when none. A claim opened by a conversion counts from the
    /// conversion.
    async fn median_hours_to_complete(&self) -> Option<f64> {
        self.0.measures.median_hours_to_complete
    }

    /// 90th percentile of the same hours (as `percentile_cont(0.9)`), to the hundredth.
    async fn p90_hours_to_complete(&self) -> Option<f64> {
        self.0.measures.p90_hours_to_complete
    }

    /// Claims still open now: not in a final status. `*_REFUNDING` (refund on its way) and
    /// RETURN_AWAITING_FEE (units closed and priced, the customer's fee or the seller's waiver
    /// still to come) are open.
    async fn open_claims(&self) -> i64 {
        self.0.measures.open_claims
    }

    /// Claims on hold now (보류 중; holds in force, not those pending approval).
    async fn on_hold(&self) -> i64 {
        self.0.measures.on_hold_total()
    }

    /// Claims on hold now, by hold reason (reasons with none are left out).
    async fn on_hold_by_reason(&self) -> Vec<HoldCount> {
        self.0
            .measures
            .on_hold
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(reason, claims)| HoldCount {
                reason: HoldReason::from(*reason),
                claims: *claims,
            })
            .collect()
    }

    /// Claims closed by a conversion into a claim of the other type (전환; RETURN_CONVERTED,
    /// EXCHANGE_CONVERTED). They are not in `claims`.
    async fn conversions(&self) -> i64 {
        self.0.measures.conversions
    }

    /// Claims rejected (거부; CANCEL_REJECTED, RETURN_REJECTED, EXCHANGE_REJECTED).
    async fn rejections(&self) -> i64 {
        self.0.measures.rejections
    }

    /// Claims withdrawn (철회; CANCEL_WITHDRAWN, RETURN_WITHDRAWN, EXCHANGE_WITHDRAWN): taken
    /// back by the customer, or by the SYSTEM for an exchange fee left unpaid.
    async fn withdrawals(&self) -> i64 {
        self.0.measures.withdrawals
    }
}

/// An open claim and how long it has waited.
pub struct OpenClaimAge(pub OpenClaimAgeModel);

/// An open claim and how long it has waited (`slowestOpenClaims`).
#[Object]
impl OpenClaimAge {
    /// Hours since the claim was requested, to the hundredth.
    async fn hours_open(&self) -> f64 {
        self.0.hours_open
    }

    /// The claim.
    async fn claim(&self) -> Claim {
        Claim(self.0.claim.clone())
    }
}
