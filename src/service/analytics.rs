//! Claim analytics for analysts, operators and sellers: `claimStats`, the oldest open claims,
//! and the rows of the two CSV exports. Every function scopes the caller first
//! (`domain::analytics::scope`: a seller sees its own, a customer nothing) and reads from the
//! read replica when one is configured (`Db::reader`), so analytics never queue behind the claim
//! desk's writes. The figures are computed by the database (`repo::analytics`); nothing here
//! loads claims to count them.

use std::future::Future;

use chrono::{DateTime, Utc};
use entity::claim;
use futures_util::StreamExt;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::analytics::{
    round_hours, scope, GroupKeys, Grouping, Measures, OrderKey, Period, ScopeError, Scoped,
    StatsFilter, StatsQuery, StatsRow,
};
use crate::domain::claim::{ClaimStatus, ClaimType, Fault, HoldReason, Reason};
use crate::domain::money::Won;
use crate::error::ServiceError;
use crate::repo;
use crate::repo::analytics::{ClaimExportRecord, ClaimedProduct, StatsRecord};

/// Claims per page of the claims export: the memory an export holds whatever its size.
pub const EXPORT_PAGE: u64 = 500;

/// Narrows `filter` to what `actor` may see, or refuses (FORBIDDEN for customers).
pub fn authorize(actor: Actor, filter: StatsFilter) -> Result<Scoped, ServiceError> {
    scope(actor, filter).map_err(|e| match e {
        ScopeError::NotForCustomers => ServiceError::Forbidden(e.to_string()),
    })
}

/// A page of `claimStats`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsPage {
    /// The rows, sorted as asked.
    pub rows: Vec<StatsRow>,
    /// True when there were more rows than the limit.
    pub truncated: bool,
}

/// Most sort keys of `claimStats` and its CSV export.
pub const MAX_ORDER_KEYS: usize = 20;

/// What a `claimStats` request asks for, before scoping.
#[derive(Debug, Clone)]
pub struct StatsRequest {
    /// Which claims and deliveries.
    pub filter: StatsFilter,
    /// The groups.
    pub grouping: Grouping,
    /// Sort keys.
    pub order: Vec<OrderKey>,
    /// Count the units ordered (`StatsQuery::with_ordered_units`).
    pub with_ordered_units: bool,
}

/// `claimStats` for `actor`: at most `limit` rows.
pub async fn claim_stats(
    app: &App,
    actor: Actor,
    request: StatsRequest,
    limit: u64,
) -> Result<StatsPage, ServiceError> {
    let StatsRequest {
        filter,
        grouping,
        order,
        with_ordered_units,
    } = request;
    // Each sort key is a term of the statement's ORDER BY; a repeated key adds nothing.
    if order.len() > MAX_ORDER_KEYS {
        return Err(ServiceError::BadInput(format!(
            "orderBy has {} keys; the limit is {MAX_ORDER_KEYS}",
            order.len()
        )));
    }
    let query = StatsQuery {
        filter: authorize(actor, filter)?,
        grouping,
        order,
        with_ordered_units,
    };
    let db = app.db.reader();
    let txn = repo::analytics::begin(db.conn()).await?;
    let mut records = repo::analytics::claim_stats(&txn, &query, limit + 1).await?;
    txn.commit().await?;
    let truncated = records.len() as u64 > limit;
    records.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let rows = records
        .into_iter()
        .map(|r| to_row(&query.grouping, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StatsPage { rows, truncated })
}

/// Every row of `claimStats` (already scoped), handed to `each` as the database produces it;
/// stops early when `each` answers false (the client went away).
pub async fn stream_claim_stats<F, Fut>(
    app: &App,
    query: &StatsQuery,
    mut each: F,
) -> Result<(), ServiceError>
where
    F: FnMut(StatsRow) -> Fut,
    Fut: Future<Output = bool>,
{
    let db = app.db.reader();
    let txn = repo::analytics::begin(db.conn()).await?;
    {
        let mut rows = repo::analytics::stream_claim_stats(&txn, query).await?;
        while let Some(record) = rows.next().await {
            if !each(to_row(&query.grouping, record?)?).await {
                break;
            }
        }
    }
    txn.commit().await?;
    Ok(())
}

fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::Corrupt(format!("unknown {what} `{value}` in claim statistics"))
}

fn parse<T>(
    what: &str,
    value: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ServiceError> {
    value
        .map(|v| parse(&v).ok_or_else(|| corrupt(what, &v)))
        .transpose()
}

fn to_row(grouping: &Grouping, r: StatsRecord) -> Result<StatsRow, ServiceError> {
    let period = match (grouping.bucket(), r.period) {
        (Some(bucket), Some(text)) => Some(Period {
            bucket,
            start: repo::analytics::parse_period(&text).ok_or_else(|| corrupt("period", &text))?,
        }),
        _ => None,
    };
    let named = |id: Option<i64>, name: Option<String>| id.map(|id| (id, name.unwrap_or_default()));
    Ok(StatsRow {
        keys: GroupKeys {
            period,
            seller: named(r.seller_id, r.seller_name),
            product: named(r.product_id, r.product_name),
            claim_type: parse("claim type", r.claim_type, ClaimType::parse)?,
            reason: parse("reason", r.reason, Reason::parse)?,
            fault: parse("fault", r.fault, Fault::parse)?,
        },
        measures: Measures {
            claims: r.claims,
            claimed_units: r.claimed_units,
            cancelled_units: r.cancelled_units,
            returned_units: r.returned_units,
            exchanged_units: r.exchanged_units,
            delivered_units: r.delivered_units,
            ordered_units: r.ordered_units,
            refunded_cash: Won::new(r.refunded_cash),
            refunded_to_card: Won::new(r.refunded_to_card),
            refunded_to_bank_transfer: Won::new(r.refunded_to_bank_transfer),
            cash_refund_pending: Won::new(r.cash_refund_pending),
            refunded_points: Won::new(r.refunded_points),
            fees_charged: Won::new(r.fees_charged),
            fees_refunded: Won::new(r.fees_refunded),
            completed: r.completed,
            completed_at_once: r.completed_at_once,
            median_hours_to_complete: r.median_hours.map(round_hours),
            p90_hours_to_complete: r.p90_hours.map(round_hours),
            open_claims: r.open_claims,
            on_hold: r.held,
            conversions: r.conversions,
            rejections: r.rejections,
            withdrawals: r.withdrawals,
        },
    })
}

/// An open claim and how long it has been open.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenClaimAge {
    /// The claim.
    pub claim: claim::Model,
    /// Hours since it was requested, to the hundredth.
    pub hours_open: f64,
}

/// The open claims `actor` may see that have waited longest, oldest first.
pub async fn oldest_open_claims(
    app: &App,
    actor: Actor,
    filter: StatsFilter,
    limit: u64,
) -> Result<Vec<OpenClaimAge>, ServiceError> {
    let filter = authorize(actor, filter)?;
    let now = app.clock.now();
    let claims =
        repo::analytics::oldest_open_claims(app.db.reader().conn(), &filter, limit).await?;
    Ok(claims
        .into_iter()
        .map(|claim| OpenClaimAge {
            hours_open: hours_between(claim.requested_at, now),
            claim,
        })
        .collect())
}

fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    // Milliseconds of a claim's age fit an f64 exactly.
    #[allow(clippy::cast_precision_loss)]
    let ms = (to - from).num_milliseconds() as f64;
    round_hours(ms / 3_600_000.0)
}

/// One claim of the claims export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedClaim {
    /// 클레임 번호.
    pub claim_number: String,
    /// 주문 번호.
    pub order_number: String,
    /// Cancel, return or exchange.
    pub claim_type: ClaimType,
    /// Its status.
    pub status: ClaimStatus,
    /// Its reason.
    pub reason: Reason,
    /// Its fault.
    pub fault: Fault,
    /// The seller id.
    pub seller_id: i64,
    /// The seller's name.
    pub seller_name: String,
    /// What it covers: (product, option, units) per line.
    pub items: Vec<(String, String, i64)>,
    /// Units claimed.
    pub units: i64,
    /// The hold now: its phase (`HOLD_PENDING` or `HELD`) and reason.
    pub hold: Option<(String, HoldReason)>,
    /// Requested at.
    pub requested_at: DateTime<Utc>,
    /// Closed at.
    pub closed_at: Option<DateTime<Utc>>,
    /// Hours from request to completion (to the hundredth), when it completed.
    pub hours_to_complete: Option<f64>,
    /// The claim it was converted from.
    pub converted_from: Option<String>,
    /// The claim a conversion opened from it.
    pub converted_to: Option<String>,
    /// Cash refunded for the goods.
    pub refunded_cash: Won,
    /// Points restored.
    pub refunded_points: Won,
    /// Fees charged.
    pub fees_charged: Won,
    /// Fees refunded.
    pub fees_refunded: Won,
    /// With a product filter, that product's part of the claim.
    pub product: Option<ProductShare>,
}

/// A product's part of a claim: its units and its shares of the claim's money, split as
/// `claimStats` splits them (`domain::analytics`, "Products").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductShare {
    /// Its units in the claim.
    pub units: i64,
    /// Its share of the cash refunded for the goods.
    pub refunded_cash: Won,
    /// Its share of the points restored.
    pub refunded_points: Won,
    /// Its share of the fees charged.
    pub fees_charged: Won,
    /// Its share of the fees refunded.
    pub fees_refunded: Won,
}

/// Every claim of the (scoped) filter, newest first, handed to `each` one at a time; pages of
/// [`EXPORT_PAGE`] claims by id keyset, so memory stays constant for any number of claims.
/// Stops early when `each` answers false.
pub async fn export_claims<F, Fut>(
    app: &App,
    filter: &Scoped,
    mut each: F,
) -> Result<(), ServiceError>
where
    F: FnMut(ExportedClaim) -> Fut,
    Fut: Future<Output = bool>,
{
    let db = app.db.reader();
    let mut before: Option<i64> = None;
    loop {
        let page =
            repo::analytics::claims_export_page(db.conn(), filter, before, EXPORT_PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        before = Some(last.id);
        let ids: Vec<i64> = page.iter().map(|c| c.id).collect();
        let mut products = repo::analytics::claimed_products(db.conn(), &ids)
            .await?
            .into_iter()
            .peekable();
        let full = page.len() as u64 == EXPORT_PAGE;
        // `page` is newest first, `products` by claim id ascending: walk the page backwards.
        let mut rows: Vec<ExportedClaim> = Vec::with_capacity(page.len());
        for record in page.into_iter().rev() {
            let mut items = Vec::new();
            while let Some(p) = products.next_if(|p| p.claim_id <= record.id) {
                if p.claim_id == record.id {
                    items.push(item(p));
                }
            }
            rows.push(exported(record, items)?);
        }
        for row in rows.into_iter().rev() {
            if !each(row).await {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}

fn item(p: ClaimedProduct) -> (String, String, i64) {
    (p.product_name, p.option_name, p.quantity)
}

fn exported(
    r: ClaimExportRecord,
    items: Vec<(String, String, i64)>,
) -> Result<ExportedClaim, ServiceError> {
    let hold = match r.hold_reason.as_deref() {
        Some(code) if r.hold_phase != "NONE" => Some((
            r.hold_phase.clone(),
            HoldReason::parse(code).ok_or_else(|| corrupt("hold reason", code))?,
        )),
        Some(_) | None => None,
    };
    Ok(ExportedClaim {
        claim_type: ClaimType::parse(&r.claim_type)
            .ok_or_else(|| corrupt("claim type", &r.claim_type))?,
        status: ClaimStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
        reason: Reason::parse(&r.reason).ok_or_else(|| corrupt("reason", &r.reason))?,
        fault: Fault::parse(&r.fault).ok_or_else(|| corrupt("fault", &r.fault))?,
        claim_number: r.claim_number,
        order_number: r.order_number,
        seller_id: r.seller_id,
        seller_name: r.seller_name,
        items,
        units: r.units,
        hold,
        requested_at: r.requested_at,
        closed_at: r.closed_at,
        hours_to_complete: r.hours_to_complete.map(round_hours),
        converted_from: r.converted_from,
        converted_to: r.converted_to,
        refunded_cash: Won::new(r.refunded_cash),
        refunded_points: Won::new(r.refunded_points),
        fees_charged: Won::new(r.fees_charged),
        fees_refunded: Won::new(r.fees_refunded),
        product: r.product_units.map(|units| ProductShare {
            units,
            refunded_cash: Won::new(r.product_refunded_cash.unwrap_or(0)),
            refunded_points: Won::new(r.product_refunded_points.unwrap_or(0)),
            fees_charged: Won::new(r.product_fees_charged.unwrap_or(0)),
            fees_refunded: Won::new(r.product_fees_refunded.unwrap_or(0)),
        }),
    })
}
