//! Claim analytics (`claimStats`, the CSV exports): what is counted, grouped and compared, as
//! plain rules. The repository turns them into aggregate SQL; nothing here touches a database.
//!
//! # What a row measures
//!
//! A row of `claimStats` is one group of claims **requested** in the filter's period (`from`
//! inclusive, `to` exclusive, on `claims.requested_at`), keyed by the chosen [`Dimension`]s.
//!
//! - *Claims* and *claimed units* leave out claims closed by a conversion (`*_CONVERTED`): the
//!   claim the conversion opened covers the same units and counts instead, so a return turned
//!   into an exchange is one claim of one unit, not two. *Conversions* counts the claims left
//!   out that way. Claimed units split by type into *cancelled*, *returned* and *exchanged*
//!   units (claims requested, whatever became of them: a rejected return is a return asked for).
//! - *Delivered units* (the denominator of the return, exchange and claim rates) are the units
//!   of order lines **delivered** in the same period (`order_lines.delivered_at`), less their
//!   cancelled units, for the same seller, product and time bucket as the row. REASON, TYPE and
//!   FAULT do not partition deliveries (a delivered unit has no reason), so a row grouped by
//!   them shares the denominator of its seller/product/time bucket: its rate is that reason's
//!   (type's, fault's) share of the claims per delivered unit, and the rates of the reasons of
//!   one seller add up to the seller's rate. The type, reason and status filters narrow the
//!   claims, never the deliveries. The rates compare claims and deliveries of one period (a
//!   period rate, not a cohort of the period's deliveries). `markDelivered` keeps a count of
//!   them per KST day and seller ([`deliveries`]), so that a year of figures need not add up
//!   every order line; the lines themselves answer for products and for the parts of days at a
//!   period's edges ([`DeliverySpan`]).
//! - *Rates by type*: a cancel stops units before they ship, so the **cancel rate** is
//!   cancelled units ÷ *ordered units* (the units of orders **placed** in the period, for the
//!   row's seller, product and time bucket, cancelled ones included); the **return rate** and
//!   the **exchange rate** are returned and exchanged units ÷ delivered units. The *claim rate*
//!   (all claimed units ÷ delivered units) mixes the cancels in and is kept for comparison.
//!   Ordered units are read from the order lines of the period (no daily count is kept: placing
//!   an order would then wait on one row per seller and day), so they are counted only when
//!   asked for ([`StatsQuery::with_ordered_units`]).
//! - *Money* is the refund priced for each claim (`refunds`, `money.md`) whatever its payment
//!   state, split into what the claim gave back for the goods and what it charged or gave back
//!   as fees (see [Fees](#fees)). *Refunded cash* is the cash refunded for the goods (the items,
//!   the shipping refunded with them and the clawback returned, less the deductions kept): the
//!   refund's cash less the [fees refunded](#fees). The cash by tender (card, bank transfer, and
//!   the part not yet confirmed by the gateway) is read from the refund's parts, so it holds
//!   both: card + bank transfer = refunded cash + fees refunded. *Refunded points* are the
//!   points restored. What a cancel before the deposit takes off the amount due moves no cash
//!   and is not refunded cash.
//! - *Hours to complete*: from `requested_at` to `closed_at` of the claims that
//!   [completed](completes) (for a claim opened by a conversion, from the conversion), rounded
//!   to the hundredth of an hour ([`round_hours`]). A claim *completed at once* — closed at the
//!   instant of its request: a cancel approved and refunded in the request's own transaction —
//!   never waited; it counts in *completed* and *completed at once* but not in the hours, which
//!   describe the claims that waited. The median and p90 interpolate linearly between the two
//!   nearest hours (PostgreSQL's `percentile_cont`).
//! - *Open*, *on hold* and *held by reason* are the claims' state now, among the group's claims.
//!   Open is every status that is not final ([`is_open`]): a return awaiting its fee
//!   (`RETURN_AWAITING_FEE`) has its units closed and priced but still waits for the customer to
//!   pay or the seller to waive the fee, so it is open, like a claim whose refund is under way.
//! - *Rejections*: claims that ended [rejected](is_rejection); *withdrawals*: claims that ended
//!   [withdrawn](is_withdrawal) (by the customer, or by the SYSTEM for an unpaid exchange fee).
//!
//! # Fees
//!
//! Claim fees are the deductions a refund keeps (initial shipping, return shipping, coupon
//! clawback — the part the refund covered) and the fees paid separately (an exchange fee, a
//! return's fee due). A fee paid earlier can come back: a withdrawn or rejected exchange
//! refunds its fee, `refundExchange` adds it to the refund, and a conversion of an exchange into
//! a return credits it to the return (`money.md`). Per claim, with its refund `r`:
//!
//! - **fees refunded** = the credit the refund carries (`r.credit`, a fee paid earlier), as far
//!   as the refund's cash holds it: `min(credit, cash)`. The rest of a credit, if any, paid the
//!   claim's own deductions: that part of the earlier fee is kept, not refunded.
//! - **fees charged** = `fee_paid` + the deductions the refund covered, less the part of them
//!   paid out of a credit (counted as charged already, on the claim that took the fee):
//!   `fee_paid + (items + shipping refund + clawback returned, cash and points) − (cash +
//!   points + amount due reduced) + fees refunded`. Never negative.
//!
//! What the customers bore is fees charged − fees refunded. A conversion of a paid exchange
//! into a return shows the fee charged on the exchange and refunded on the return; a fee due
//! that a seller waived was never charged. A fee refunded is not refunded cash.
//!
//! # Products
//!
//! A claim covers lines of one seller, possibly of several products. Grouped (or filtered) by
//! PRODUCT, a claim counts once in every product it covers, with that product's units; its money
//! is split among its products in proportion to the list price of the claimed units (by units
//! when they are all free), in whole won that add up to the claim's amount.
//!
//! # Time zone
//!
//! DAY, WEEK (Monday to Sunday, ISO 8601) and MONTH are calendar periods in Korea Standard Time,
//! UTC+09:00 (Korea has no daylight saving time): a claim requested at 23:30 UTC counts on the
//! next day. Both databases shift timestamps by the same fixed nine hours.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

use super::actor::Actor;
use super::claim::{ClaimStatus, ClaimType, Fault, HoldReason, Reason};
use super::money::Won;

/// Korea Standard Time's offset from UTC, in seconds (UTC+09:00, no daylight saving time).
pub const KST_OFFSET_SECONDS: i32 = 9 * 3600;

/// Korea Standard Time, UTC+09:00.
pub const KST: FixedOffset = match FixedOffset::east_opt(KST_OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("UTC+09:00 is a valid offset"),
};

/// The KST calendar day of an instant.
pub fn kst_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&KST).date_naive()
}

/// Midnight KST at the start of `day`.
pub fn kst_midnight(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(chrono::NaiveTime::MIN);
    DateTime::from_naive_utc_and_offset(
        local - chrono::Duration::seconds(KST_OFFSET_SECONDS.into()),
        Utc,
    )
}

/// Units delivered by `lines` (seller, units) at `at`, per KST day and seller, sorted by
/// seller: what the delivery count (the claim rate's denominator, kept per day and seller) adds.
pub fn deliveries(
    lines: impl IntoIterator<Item = (i64, i64)>,
    at: DateTime<Utc>,
) -> Vec<(NaiveDate, i64, i64)> {
    let mut by_seller: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for (seller, units) in lines {
        *by_seller.entry(seller).or_default() += units;
    }
    let day = kst_day(at);
    by_seller
        .into_iter()
        .filter(|(_, units)| *units != 0)
        .map(|(seller, units)| (day, seller, units))
        .collect()
}

/// How a period splits for the delivery count: the whole KST days inside it, read from the
/// per-day count, and the pieces of days at its edges, read from the order lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySpan {
    /// The whole days: from this day (inclusive; unbounded when `None`)...
    pub first_day: Option<NaiveDate>,
    /// ...to this one (exclusive; unbounded when `None`). No whole day when not before
    /// `first_day`.
    pub end_day: Option<NaiveDate>,
    /// Parts of days, `[from, to)`, read from the lines.
    pub pieces: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl DeliverySpan {
    /// The split of `[from, to)`.
    pub fn of(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> DeliverySpan {
        let ceil_day = |t: DateTime<Utc>| {
            let day = kst_day(t);
            if kst_midnight(day) == t {
                day
            } else {
                day + chrono::Duration::days(1)
            }
        };
        let first_day = from.map(ceil_day);
        let end_day = to.map(kst_day);
        if let (Some(f), Some(e), Some(from), Some(to)) = (first_day, end_day, from, to) {
            if f >= e {
                let pieces = if from < to {
                    vec![(from, to)]
                } else {
                    Vec::new()
                };
                return DeliverySpan {
                    first_day: Some(f),
                    end_day: Some(f),
                    pieces,
                };
            }
        }
        let mut pieces = Vec::new();
        if let (Some(from), Some(f)) = (from, first_day) {
            if from < kst_midnight(f) {
                pieces.push((from, kst_midnight(f)));
            }
        }
        if let (Some(to), Some(e)) = (to, end_day) {
            if kst_midnight(e) < to {
                pieces.push((kst_midnight(e), to));
            }
        }
        DeliverySpan {
            first_day,
            end_day,
            pieces,
        }
    }

    /// True when some whole day is inside the period.
    pub fn has_whole_days(&self) -> bool {
        match (self.first_day, self.end_day) {
            (Some(f), Some(e)) => f < e,
            _ => true,
        }
    }
}

/// What `claimStats` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// The claim's seller.
    Seller,
    /// The product of the claimed units.
    Product,
    /// The claim's reason (사유).
    Reason,
    /// Cancel, return or exchange.
    Type,
    /// Who caused the claim (귀책).
    Fault,
    /// The KST day of the request.
    Day,
    /// The KST week (Monday to Sunday) of the request.
    Week,
    /// The KST month of the request.
    Month,
}

impl Dimension {
    /// Every dimension, in the order of a row's columns.
    pub const ALL: [Dimension; 8] = [
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
        Dimension::Seller,
        Dimension::Product,
        Dimension::Type,
        Dimension::Reason,
        Dimension::Fault,
    ];

    /// The SCREAMING_SNAKE_CASE name (GraphQL enum value, CSV `groupBy` parameter).
    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::Seller => "SELLER",
            Dimension::Product => "PRODUCT",
            Dimension::Reason => "REASON",
            Dimension::Type => "TYPE",
            Dimension::Fault => "FAULT",
            Dimension::Day => "DAY",
            Dimension::Week => "WEEK",
            Dimension::Month => "MONTH",
        }
    }

    /// The dimension named `name` (case-insensitive), if any.
    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The time bucket this dimension is, if it is one.
    pub const fn bucket(self) -> Option<TimeBucket> {
        match self {
            Dimension::Day => Some(TimeBucket::Day),
            Dimension::Week => Some(TimeBucket::Week),
            Dimension::Month => Some(TimeBucket::Month),
            Dimension::Seller
            | Dimension::Product
            | Dimension::Reason
            | Dimension::Type
            | Dimension::Fault => None,
        }
    }
}

/// A calendar period in KST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeBucket {
    /// A day.
    Day,
    /// A week, Monday to Sunday.
    Week,
    /// A month.
    Month,
}

/// The dimensions of one `claimStats` request: at most one time bucket, each dimension once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouping {
    dimensions: Vec<Dimension>,
}

/// A grouping that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupingError {
    /// Two time buckets (say DAY and MONTH) in one request.
    #[error("group by at most one of DAY, WEEK and MONTH (got {0} and {1})")]
    TwoBuckets(&'static str, &'static str),
}

impl Grouping {
    /// The grouping by `dimensions` (repeats ignored), or why it cannot be.
    pub fn new(dimensions: &[Dimension]) -> Result<Grouping, GroupingError> {
        let mut kept: Vec<Dimension> = Vec::new();
        for &d in dimensions {
            if kept.contains(&d) {
                continue;
            }
            if let (Some(_), Some(other)) = (d.bucket(), kept.iter().find(|k| k.bucket().is_some()))
            {
                return Err(GroupingError::TwoBuckets(other.as_str(), d.as_str()));
            }
            kept.push(d);
        }
        kept.sort_by_key(|d| Dimension::ALL.iter().position(|a| a == d));
        Ok(Grouping { dimensions: kept })
    }

    /// The dimensions, in column order (time bucket, seller, product, type, reason, fault).
    pub fn dimensions(&self) -> &[Dimension] {
        &self.dimensions
    }

    /// True when grouped by `d`.
    pub fn has(&self, d: Dimension) -> bool {
        self.dimensions.contains(&d)
    }

    /// The time bucket, if grouped by one.
    pub fn bucket(&self) -> Option<TimeBucket> {
        self.dimensions.iter().find_map(|d| d.bucket())
    }

    /// True when every dimension also partitions deliveries (seller, product, time bucket):
    /// then groups with deliveries but no claims exist too (claim rate 0), and the rows are the
    /// union of both sides.
    pub fn partitions_deliveries(&self) -> bool {
        !(self.has(Dimension::Reason) || self.has(Dimension::Type) || self.has(Dimension::Fault))
    }
}

/// Which claims (and deliveries) a statistic covers. All given conditions hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFilter {
    /// Requested (claims) or delivered (units) at or after.
    pub from: Option<DateTime<Utc>>,
    /// Requested or delivered before.
    pub to: Option<DateTime<Utc>>,
    /// One seller.
    pub seller_id: Option<i64>,
    /// One product: claims covering it, with its units only, and its deliveries.
    pub product_id: Option<i64>,
    /// One claim type (claims only).
    pub claim_type: Option<ClaimType>,
    /// One reason (claims only).
    pub reason: Option<Reason>,
    /// One status (claims only).
    pub status: Option<ClaimStatus>,
}

/// A filter narrowed to what the caller may see. Only [`scope`] makes one, so the repository
/// never runs an unscoped filter for a seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoped(StatsFilter);

impl Scoped {
    /// The filter.
    pub fn filter(&self) -> &StatsFilter {
        &self.0
    }
}

/// Why a caller may not see claim analytics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Customers see their own claims, not statistics.
    #[error("claim statistics are for operators, analysts and sellers (a seller sees its own)")]
    NotForCustomers,
}

/// Narrows `filter` to what `actor` may see: OPERATOR and ANALYST everything, a SELLER its own
/// claims and deliveries only (another seller's id matches nothing, as if it had none: no
/// existence leak), a CUSTOMER nothing at all.
pub fn scope(actor: Actor, mut filter: StatsFilter) -> Result<Scoped, ScopeError> {
    match actor {
        Actor::Operator | Actor::Analyst | Actor::System => Ok(Scoped(filter)),
        Actor::Seller(own) => {
            filter.seller_id = match filter.seller_id {
                Some(asked) if asked != own => Some(NO_SELLER),
                Some(_) | None => Some(own),
            };
            Ok(Scoped(filter))
        }
        Actor::Customer(_) => Err(ScopeError::NotForCustomers),
    }
}

/// A seller id no seller has (ids start at 1): what another seller's id becomes for a seller.
const NO_SELLER: i64 = -1;

/// True for the statuses in which a claim has completed (완료): its hours to complete count.
pub const fn completes(status: ClaimStatus) -> bool {
    use ClaimStatus as S;
    match status {
        S::CancelCompleted | S::ReturnCompleted | S::ExchangeCompleted | S::ExchangeRefunded => {
            true
        }
        S::CancelRequested
        | S::CancelRefunding
        | S::CancelRejected
        | S::CancelWithdrawn
        | S::ReturnRequested
        | S::ReturnCollecting
        | S::ReturnCollected
        | S::ReturnAwaitingFee
        | S::ReturnRefunding
        | S::ReturnRejectPending
        | S::ReturnRejected
        | S::ReturnWithdrawn
        | S::ReturnConverted
        | S::ExchangeRequested
        | S::ExchangeCollecting
        | S::ExchangeCollected
        | S::ExchangeReshipping
        | S::ExchangeRejectPending
        | S::ExchangeRejected
        | S::ExchangeWithdrawn
        | S::ExchangeConverted
        | S::ExchangeRefunding => false,
    }
}

/// True for the statuses of a refused claim (거부).
pub const fn is_rejection(status: ClaimStatus) -> bool {
    use ClaimStatus as S;
    match status {
        S::CancelRejected | S::ReturnRejected | S::ExchangeRejected => true,
        S::CancelRequested
        | S::CancelCompleted
        | S::CancelRefunding
        | S::CancelWithdrawn
        | S::ReturnRequested
        | S::ReturnCollecting
        | S::ReturnCollected
        | S::ReturnAwaitingFee
        | S::ReturnRefunding
        | S::ReturnCompleted
        | S::ReturnRejectPending
        | S::ReturnWithdrawn
        | S::ReturnConverted
        | S::ExchangeRequested
        | S::ExchangeCollecting
        | S::ExchangeCollected
        | S::ExchangeReshipping
        | S::ExchangeCompleted
        | S::ExchangeRejectPending
        | S::ExchangeWithdrawn
        | S::ExchangeConverted
        | S::ExchangeRefunding
        | S::ExchangeRefunded => false,
    }
}

/// True for the statuses of a claim taken back (철회): by the customer, or by the SYSTEM for an
/// exchange fee left unpaid.
pub const fn is_withdrawal(status: ClaimStatus) -> bool {
    use ClaimStatus as S;
    match status {
        S::CancelWithdrawn | S::ReturnWithdrawn | S::ExchangeWithdrawn => true,
        S::CancelRequested
        | S::CancelCompleted
        | S::CancelRefunding
        | S::CancelRejected
        | S::ReturnRequested
        | S::ReturnCollecting
        | S::ReturnCollected
        | S::ReturnAwaitingFee
        | S::ReturnRefunding
        | S::ReturnCompleted
        | S::ReturnRejectPending
        | S::ReturnRejected
        | S::ReturnConverted
        | S::ExchangeRequested
        | S::ExchangeCollecting
        | S::ExchangeCollected
        | S::ExchangeReshipping
        | S::ExchangeCompleted
        | S::ExchangeRejectPending
        | S::ExchangeRejected
        | S::ExchangeConverted
        | S::ExchangeRefunding
        | S::ExchangeRefunded => false,
    }
}

/// True while a claim is open (not final): it still needs someone — a decision, the goods, the
/// customer's fee (`RETURN_AWAITING_FEE`) — or its refund is under way.
pub const fn is_open(status: ClaimStatus) -> bool {
    !status.is_terminal()
}

/// The statuses for which `class` holds, as their stored codes.
pub fn status_codes(class: fn(ClaimStatus) -> bool) -> Vec<&'static str> {
    ClaimStatus::ALL
        .iter()
        .copied()
        .filter(|s| class(*s))
        .map(ClaimStatus::as_str)
        .collect()
}

/// What a `claimStats` row can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    /// The time bucket's start.
    Period,
    /// The seller's name.
    Seller,
    /// The product's name.
    Product,
    /// Claims.
    Claims,
    /// Claimed units.
    ClaimedUnits,
    /// Delivered units.
    DeliveredUnits,
    /// Ordered units (counts them: [`StatsQuery::with_ordered_units`]).
    OrderedUnits,
    /// Claimed units ÷ delivered units (rows without deliveries last).
    ClaimRate,
    /// Cancelled units ÷ ordered units (rows without orders last).
    CancelRate,
    /// Returned units ÷ delivered units (rows without deliveries last).
    ReturnRate,
    /// Exchanged units ÷ delivered units (rows without deliveries last).
    ExchangeRate,
    /// Refunded cash.
    RefundedCash,
    /// Refunded points.
    RefundedPoints,
    /// Fees charged.
    FeesCharged,
    /// Fees refunded.
    FeesRefunded,
    /// Median hours to complete (rows without claims that waited last).
    MedianHoursToComplete,
    /// 90th percentile of hours to complete (rows without claims that waited last).
    P90HoursToComplete,
    /// Claims open now.
    OpenClaims,
    /// Claims on hold now.
    OnHold,
    /// Claims withdrawn.
    Withdrawals,
}

impl OrderField {
    /// Every field.
    pub const ALL: [OrderField; 20] = [
        OrderField::Period,
        OrderField::Seller,
        OrderField::Product,
        OrderField::Claims,
        OrderField::ClaimedUnits,
        OrderField::DeliveredUnits,
        OrderField::OrderedUnits,
        OrderField::ClaimRate,
        OrderField::CancelRate,
        OrderField::ReturnRate,
        OrderField::ExchangeRate,
        OrderField::RefundedCash,
        OrderField::RefundedPoints,
        OrderField::FeesCharged,
        OrderField::FeesRefunded,
        OrderField::MedianHoursToComplete,
        OrderField::P90HoursToComplete,
        OrderField::OpenClaims,
        OrderField::OnHold,
        OrderField::Withdrawals,
    ];

    /// The SCREAMING_SNAKE_CASE name (GraphQL enum value, CSV `orderBy` parameter).
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderField::Period => "PERIOD",
            OrderField::Seller => "SELLER",
            OrderField::Product => "PRODUCT",
            OrderField::Claims => "CLAIMS",
            OrderField::ClaimedUnits => "CLAIMED_UNITS",
            OrderField::DeliveredUnits => "DELIVERED_UNITS",
            OrderField::OrderedUnits => "ORDERED_UNITS",
            OrderField::ClaimRate => "CLAIM_RATE",
            OrderField::CancelRate => "CANCEL_RATE",
            OrderField::ReturnRate => "RETURN_RATE",
            OrderField::ExchangeRate => "EXCHANGE_RATE",
            OrderField::RefundedCash => "REFUNDED_CASH",
            OrderField::RefundedPoints => "REFUNDED_POINTS",
            OrderField::FeesCharged => "FEES_CHARGED",
            OrderField::FeesRefunded => "FEES_REFUNDED",
            OrderField::MedianHoursToComplete => "MEDIAN_HOURS_TO_COMPLETE",
            OrderField::P90HoursToComplete => "P90_HOURS_TO_COMPLETE",
            OrderField::OpenClaims => "OPEN_CLAIMS",
            OrderField::OnHold => "ON_HOLD",
            OrderField::Withdrawals => "WITHDRAWALS",
        }
    }

    /// The field named `name` (case-insensitive), if any.
    pub fn parse(name: &str) -> Option<OrderField> {
        OrderField::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// True when sorting by it needs the ordered units counted.
    pub const fn needs_ordered_units(self) -> bool {
        matches!(self, OrderField::OrderedUnits | OrderField::CancelRate)
    }
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    /// The field.
    pub field: OrderField,
    /// Largest first.
    pub descending: bool,
}

/// A whole `claimStats` request, scoped to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    /// The claims and deliveries covered.
    pub filter: Scoped,
    /// The groups.
    pub grouping: Grouping,
    /// Sort keys, then the group keys ascending.
    pub order: Vec<OrderKey>,
    /// Count the units ordered in the period (the cancel rate's denominator). They are read
    /// from the period's order lines, which costs a scan of them: only when the caller asks
    /// for ordered units or the cancel rate (or sorts by them).
    pub with_ordered_units: bool,
}

impl StatsQuery {
    /// True when the ordered units are counted: asked for, or needed by a sort key.
    pub fn counts_ordered_units(&self) -> bool {
        self.with_ordered_units || self.order.iter().any(|o| o.field.needs_ordered_units())
    }
}

/// A time bucket and the KST date it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Day, week or month.
    pub bucket: TimeBucket,
    /// Its first day (a Monday for weeks, the 1st for months).
    pub start: NaiveDate,
}

impl Period {
    /// `2026-11-24`, `2026-W48` (ISO week) or `2026-11`.
    pub fn label(&self) -> String {
        match self.bucket {
            TimeBucket::Day => self.start.format("%Y-%m-%d").to_string(),
            TimeBucket::Week => {
                let week = self.start.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            TimeBucket::Month => self.start.format("%Y-%m").to_string(),
        }
    }

    /// Midnight KST of its first day.
    pub fn starts_at(&self) -> DateTime<FixedOffset> {
        kst_midnight(self.start).with_timezone(&KST)
    }
}

/// The keys of a `claimStats` row: those of the grouping's dimensions are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupKeys {
    /// The time bucket.
    pub period: Option<Period>,
    /// The seller id and name.
    pub seller: Option<(i64, String)>,
    /// The product id and name.
    pub product: Option<(i64, String)>,
    /// The claim type.
    pub claim_type: Option<ClaimType>,
    /// The reason.
    pub reason: Option<Reason>,
    /// The fault.
    pub fault: Option<Fault>,
}

/// The measures of one group (see the module documentation for each definition).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measures {
    /// Claims, leaving out those closed by a conversion.
    pub claims: i64,
    /// Units of those claims.
    pub claimed_units: i64,
    /// The part of `claimed_units` in cancels.
    pub cancelled_units: i64,
    /// The part of `claimed_units` in returns.
    pub returned_units: i64,
    /// The part of `claimed_units` in exchanges.
    pub exchanged_units: i64,
    /// Units delivered in the same seller/product/time bucket.
    pub delivered_units: i64,
    /// Units ordered in the same seller/product/time bucket; `None` when not counted
    /// ([`StatsQuery::with_ordered_units`]).
    pub ordered_units: Option<i64>,
    /// Cash refunded for the goods (fees given back excluded).
    pub refunded_cash: Won,
    /// Cash refunded to cards (goods and fees).
    pub refunded_to_card: Won,
    /// Cash refunded to bank accounts (goods and fees).
    pub refunded_to_bank_transfer: Won,
    /// The cash (goods and fees) the gateway has not confirmed yet.
    pub cash_refund_pending: Won,
    /// Points restored.
    pub refunded_points: Won,
    /// Fees and deductions charged to the customers; never negative.
    pub fees_charged: Won,
    /// Fees paid earlier and given back.
    pub fees_refunded: Won,
    /// Claims completed, at once or not.
    pub completed: i64,
    /// Claims completed at the instant of their request (not in the hours).
    pub completed_at_once: i64,
    /// Median hours from request to completion of the claims that waited.
    pub median_hours_to_complete: Option<f64>,
    /// 90th percentile of those hours.
    pub p90_hours_to_complete: Option<f64>,
    /// Claims open now.
    pub open_claims: i64,
    /// Claims on hold now (HELD), per hold reason, in [`HoldReason::ALL`] order.
    pub on_hold: Vec<(HoldReason, i64)>,
    /// Claims closed by a conversion into another claim.
    pub conversions: i64,
    /// Claims rejected.
    pub rejections: i64,
    /// Claims withdrawn.
    pub withdrawals: i64,
}

impl Measures {
    /// Claimed units ÷ delivered units; `None` without deliveries.
    pub fn claim_rate(&self) -> Option<f64> {
        rate(self.claimed_units, self.delivered_units)
    }

    /// Cancelled units ÷ ordered units; `None` without orders, or when not counted.
    pub fn cancel_rate(&self) -> Option<f64> {
        self.ordered_units
            .and_then(|ordered| rate(self.cancelled_units, ordered))
    }

    /// Returned units ÷ delivered units; `None` without deliveries.
    pub fn return_rate(&self) -> Option<f64> {
        rate(self.returned_units, self.delivered_units)
    }

    /// Exchanged units ÷ delivered units; `None` without deliveries.
    pub fn exchange_rate(&self) -> Option<f64> {
        rate(self.exchanged_units, self.delivered_units)
    }

    /// Claims on hold now, whatever the reason.
    pub fn on_hold_total(&self) -> i64 {
        self.on_hold.iter().map(|(_, n)| n).sum()
    }
}

/// `units ÷ of`; `None` when `of` is not positive.
pub fn rate(units: i64, of: i64) -> Option<f64> {
    // Unit counts stay far below 2^53: the conversions are exact.
    #[allow(clippy::cast_precision_loss)]
    (of > 0).then(|| units as f64 / of as f64)
}

/// Hours rounded to the hundredth (36 seconds): what a duration is shown as, without the noise
/// of the databases' floating-point date arithmetic (`21.99999999627471` is 22).
pub fn round_hours(hours: f64) -> f64 {
    (hours * 100.0).round() / 100.0
}

/// An instant as `claimStats` and the CSV exports take it: RFC 3339 as the GraphQL `DateTime`
/// scalar reads it (`2026-11-01T00:00:00+09:00`, `...Z`, a space for the `T`), or a date
/// (`2026-11-01`) meaning its midnight in KST. A query string decodes `+` to a space, so an
/// offset whose `+` became a space (`2026-11-01T00:00:00 09:00`) is read as `+09:00`.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = text.parse::<DateTime<FixedOffset>>() {
        return Some(t.with_timezone(&Utc));
    }
    // `...:SS 09:00` or `...:SS.fff 0900`: the offset's sign decoded to a space.
    if let Some((time, offset)) = text.rsplit_once(' ') {
        let digits = offset.bytes().filter(u8::is_ascii_digit).count();
        let offset_like = digits == 4 && offset.bytes().all(|b| b.is_ascii_digit() || b == b':');
        if offset_like && time.contains(':') {
            if let Ok(t) = format!("{time}+{offset}").parse::<DateTime<FixedOffset>>() {
                return Some(t.with_timezone(&Utc));
            }
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(kst_midnight)
}

/// One row of `claimStats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsRow {
    /// The group.
    pub keys: GroupKeys,
    /// Its measures.
    pub measures: Measures,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_grouping_has_one_time_bucket_and_a_fixed_column_order() {
        let g = Grouping::new(&[
            Dimension::Reason,
            Dimension::Seller,
            Dimension::Day,
            Dimension::Seller,
        ])
        .unwrap();
        assert_eq!(
            g.dimensions(),
            [Dimension::Day, Dimension::Seller, Dimension::Reason]
        );
        assert_eq!(g.bucket(), Some(TimeBucket::Day));
        assert!(!g.partitions_deliveries());
        assert!(Grouping::new(&[Dimension::Seller, Dimension::Month])
            .unwrap()
            .partitions_deliveries());
        assert_eq!(
            Grouping::new(&[Dimension::Day, Dimension::Month]),
            Err(GroupingError::TwoBuckets("DAY", "MONTH"))
        );
        assert_eq!(Dimension::parse(" week "), Some(Dimension::Week));
    }

    #[test]
    fn sellers_see_their_own_and_customers_nothing() {
        let asked = StatsFilter {
            seller_id: Some(2),
            ..Default::default()
        };
        assert_eq!(
            scope(Actor::Seller(2), asked.clone())
                .unwrap()
                .filter()
                .seller_id,
            Some(2)
        );
        assert_eq!(
            scope(Actor::Seller(3), asked.clone())
                .unwrap()
                .filter()
                .seller_id,
            Some(NO_SELLER)
        );
        assert_eq!(
            scope(Actor::Seller(3), StatsFilter::default())
                .unwrap()
                .filter()
                .seller_id,
            Some(3)
        );
        assert_eq!(
            scope(Actor::Analyst, asked.clone()).unwrap().filter(),
            &asked
        );
        assert_eq!(
            scope(Actor::Customer(1), asked),
            Err(ScopeError::NotForCustomers)
        );
    }

    #[test]
    fn periods_are_labelled_and_start_at_kst_midnight() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let p = Period {
            bucket: TimeBucket::Week,
            start: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        assert_eq!(p.label(), "2026-W48");
        assert_eq!(
            Period {
                bucket: TimeBucket::Month,
                start: day
            }
            .label(),
            "2026-11"
        );
        let d = Period {
            bucket: TimeBucket::Day,
            start: day,
        };
        assert_eq!(d.label(), "2026-11-24");
        assert_eq!(d.starts_at().to_rfc3339(), "2026-11-24T00:00:00+09:00");
        assert_eq!(
            d.starts_at().with_timezone(&Utc).to_rfc3339(),
            "2026-11-23T15:00:00+00:00"
        );
    }

    #[test]
    fn a_period_splits_into_whole_kst_days_and_pieces() {
        let t = |h: u32, d: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        // 00:00 KST on the 24th to 00:00 KST on the 26th: two whole days.
        let s = DeliverySpan::of(Some(t(15, 23)), Some(t(15, 25)));
        assert_eq!(
            (s.first_day, s.end_day, s.pieces.len()),
            (Some(day(24)), Some(day(26)), 0)
        );
        // 21:00 KST on the 24th to 01:00 KST on the 27th: the 25th and 26th whole, two pieces.
        let s = DeliverySpan::of(Some(t(12, 24)), Some(t(16, 26)));
        assert_eq!((s.first_day, s.end_day), (Some(day(25)), Some(day(27))));
        assert_eq!(s.pieces, [(t(12, 24), t(15, 24)), (t(15, 26), t(16, 26))]);
        // Within one day: one piece, no whole day.
        let s = DeliverySpan::of(Some(t(1, 24)), Some(t(5, 24)));
        assert!(!s.has_whole_days());
        assert_eq!(s.pieces, [(t(1, 24), t(5, 24))]);
        // Unbounded.
        let s = DeliverySpan::of(None, Some(t(16, 26)));
        assert_eq!((s.first_day, s.end_day), (None, Some(day(27))));
        assert_eq!(s.pieces, [(t(15, 26), t(16, 26))]);
        assert!(DeliverySpan::of(None, None).has_whole_days());
        // Deliveries at 23:30 KST count on that day, per seller.
        assert_eq!(
            deliveries(
                [(2, 1), (1, 3), (2, 2)],
                t(14, 24) + chrono::Duration::minutes(30)
            ),
            [(day(24), 1, 3), (day(24), 2, 3)]
        );
    }

    #[test]
    fn instants_read_as_rfc_3339_or_a_kst_date() {
        let want = Utc.with_ymd_and_hms(2026, 10, 31, 15, 0, 0).unwrap();
        for text in [
            "2026-11-01T00:00:00+09:00",
            "2026-11-01 00:00:00+09:00",
            "2026-10-31T15:00:00Z",
            // A query string's `+` decoded to a space.
            "2026-11-01T00:00:00 09:00",
            "2026-11-01T00:00:00.000 0900",
            " 2026-11-01 ",
        ] {
            assert_eq!(parse_instant(text), Some(want), "{text}");
        }
        // A space before a negative offset's minus sign is not a sign to restore.
        assert_eq!(
            parse_instant("2026-10-31T10:00:00-05:00"),
            Some(want),
            "a negative offset"
        );
        for text in ["2026-11-01T00:00:00", "11/01/2026", "2026-11-01 09:00", ""] {
            assert_eq!(parse_instant(text), None, "{text}");
        }
    }

    #[test]
    fn hours_round_to_the_hundredth() {
        assert_eq!(round_hours(21.999_999_996_274_71), 22.0);
        assert_eq!(round_hours(2.833_333_333), 2.83);
        assert_eq!(round_hours(0.004_9), 0.0);
    }

    #[test]
    fn status_classes_are_disjoint_where_they_must_be() {
        for s in ClaimStatus::ALL.iter().copied() {
            assert!(!(completes(s) && is_rejection(s)), "{s}");
            assert!(!(completes(s) && is_open(s)), "{s}");
        }
        assert_eq!(status_codes(completes).len(), 4);
        assert_eq!(status_codes(is_withdrawal).len(), 3);
        assert_eq!(rate(1, 0), None);
        assert_eq!(rate(1, 4), Some(0.25));
    }
}
