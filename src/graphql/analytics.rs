//! Claim analytics queries: `claimStats` and `slowestOpenClaims`, for ANALYSTs and OPERATORs
//! (everything) and SELLERs (their own figures); CUSTOMERs are refused. Reads go to the read
//! replica when one is configured.

use async_graphql::{Context, InputObject, Object, Result, ID};
use chrono::{DateTime, Utc};

use super::ids::{parse, Kind};
use super::types::analytics::{
    ClaimStats, ClaimStatsDimension, ClaimStatsOrderField, OpenClaimAge,
};
use super::types::claim_enums::{ClaimReason, ClaimStatus, ClaimType};
use super::types::enums::SortDirection;
use super::{app, require_actor};
use crate::domain::analytics::{Dimension, Grouping, OrderField, OrderKey, StatsFilter};
use crate::domain::claim as domain;
use crate::error::{to_graphql_error, ServiceError};
use crate::service::analytics as service;

/// Rows `claimStats` returns when `first` is not given.
pub const DEFAULT_STATS_ROWS: i32 = 1_000;
/// The most rows one `claimStats` returns; the CSV export has no limit.
pub const MAX_STATS_ROWS: i32 = 10_000;
/// The most claims `slowestOpenClaims` returns.
pub const MAX_OPEN_CLAIMS: i32 = 100;

/// Which claims, and which deliveries, claim statistics cover. All given conditions hold.
#[derive(InputObject, Default)]
pub struct ClaimStatsFilter {
    /// Claims requested, units delivered and orders placed at or after this instant (RFC 3339
    /// with offset, e.g. `2026-11-01T00:00:00+09:00` for the start of November in Korea; the
    /// CSV exports take the same text).
    pub from: Option<DateTime<Utc>>,
    /// Claims requested, units delivered and orders placed before this instant.
    pub to: Option<DateTime<Utc>>,
    /// One seller (`Seller.id`). A SELLER always gets its own figures only.
    pub seller_id: Option<ID>,
    /// One product (`Product.id`): the claims covering it, counted with its units and its share
    /// of their money, against its deliveries and orders.
    pub product_id: Option<ID>,
    /// One claim type (narrows the claims, not the deliveries).
    pub r#type: Option<ClaimType>,
    /// One reason (narrows the claims, not the deliveries).
    pub reason: Option<ClaimReason>,
    /// One status, as the claims are now (narrows the claims, not the deliveries).
    pub status: Option<ClaimStatus>,
}

/// One sort key of `claimStats`.
#[derive(InputObject)]
pub struct ClaimStatsOrder {
    /// The field.
    pub field: ClaimStatsOrderField,
    /// The direction (default: largest first).
    #[graphql(default_with = "SortDirection::Desc")]
    pub direction: SortDirection,
}

/// Parses the API's filter into the domain's.
pub fn stats_filter(f: ClaimStatsFilter) -> Result<StatsFilter, ServiceError> {
    Ok(StatsFilter {
        from: f.from,
        to: f.to,
        seller_id: f.seller_id.map(|id| parse(&id, Kind::Seller)).transpose()?,
        product_id: f
            .product_id
            .map(|id| parse(&id, Kind::Product))
            .transpose()?,
        claim_type: f.r#type.map(domain::ClaimType::from),
        reason: f.reason.map(domain::Reason::from),
        status: f.status.map(domain::ClaimStatus::from),
    })
}

fn limit(first: Option<i32>, default: i32, max: i32) -> Result<u64> {
    let first = first.unwrap_or(default);
    u64::try_from(first)
        .ok()
        .filter(|_| first <= max)
        .ok_or_else(|| {
            to_graphql_error(ServiceError::BadInput(format!(
                "`first` must be between 0 and {max}; got {first}"
            )))
        })
}

/// Claim analytics.
#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Claim statistics (클레임 통계), computed by the database: claims, units, cancel, return,
    /// exchange and claim rates, refunds by tender, fees charged and refunded, hours to
    /// complete, holds, conversions, rejections and withdrawals, grouped by
    /// any of SELLER, PRODUCT, REASON, TYPE, FAULT and one of DAY, WEEK, MONTH (Korea Standard
    /// Time). ANALYST and OPERATOR see every seller; a SELLER its own figures only; a CUSTOMER
    /// is refused (FORBIDDEN). The same figures stream as CSV from `GET /export/claim-stats.csv`.
    async fn claim_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which claims and deliveries; all given conditions hold.")] filter: Option<
            ClaimStatsFilter,
        >,
        #[graphql(
            desc = "Dimensions to group by (at most one of DAY, WEEK, MONTH); none: one row."
        )]
        group_by: Option<Vec<ClaimStatsDimension>>,
        #[graphql(
            desc = "Sort keys, in order (at most 20); the group keys (ascending) break ties."
        )]
        order_by: Option<Vec<ClaimStatsOrder>>,
        #[graphql(desc = "Rows to return (default 1000, at most 10000).")] first: Option<i32>,
    ) -> Result<ClaimStats> {
        let actor = require_actor(ctx)?;
        let app = app(ctx)?;
        let filter = stats_filter(filter.unwrap_or_default()).map_err(to_graphql_error)?;
        let dimensions: Vec<Dimension> = group_by
            .unwrap_or_default()
            .into_iter()
            .map(Dimension::from)
            .collect();
        let grouping = Grouping::new(&dimensions)
            .map_err(|e| to_graphql_error(ServiceError::BadInput(e.to_string())))?;
        let order = order_by
            .unwrap_or_default()
            .into_iter()
            .map(|o| OrderKey {
                field: OrderField::from(o.field),
                descending: o.direction == SortDirection::Desc,
            })
            .collect();
        let first = limit(first, DEFAULT_STATS_ROWS, MAX_STATS_ROWS)?;
        // Ordered units cost a scan of the period's order lines: counted only when selected.
        let rows = ctx.look_ahead().field("rows");
        let with_ordered_units =
            rows.field("orderedUnits").exists() || rows.field("cancelRate").exists();
        let request = service::StatsRequest {
            filter,
            grouping: grouping.clone(),
            order,
            with_ordered_units,
        };
        let page = service::claim_stats(app, actor, request, first)
            .await
            .map_err(to_graphql_error)?;
        Ok(ClaimStats { page, grouping })
    }

    /// The open claims that have waited longest (가장 오래 걸리는 미처리 클레임), oldest request
    /// first, with their age in hours. The filter's period applies to the request time. Scoped
    /// like `claimStats`.
    async fn slowest_open_claims(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which claims; all given conditions hold.")] filter: Option<
            ClaimStatsFilter,
        >,
        #[graphql(desc = "Claims to return (default 20, at most 100).")] first: Option<i32>,
    ) -> Result<Vec<OpenClaimAge>> {
        let actor = require_actor(ctx)?;
        let app = app(ctx)?;
        let filter = stats_filter(filter.unwrap_or_default()).map_err(to_graphql_error)?;
        let first = limit(first, 20, MAX_OPEN_CLAIMS)?;
        Ok(service::oldest_open_claims(app, actor, filter, first)
            .await
            .map_err(to_graphql_error)?
            .into_iter()
            .map(OpenClaimAge)
            .collect())
    }
}
