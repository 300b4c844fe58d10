//! CSV exports for spreadsheets: `GET /export/claims.csv` (one line per claim) and
//! `GET /export/claim-stats.csv` (the rows of `claimStats`, with every measure).
//!
//! The same bearer token (`Authorization: Bearer ...`) and scoping as GraphQL: ANALYST and
//! OPERATOR everything, a SELLER its own claims, a CUSTOMER refused (403). The filters are query
//! parameters named like `ClaimStatsFilter`'s fields:
//!
//! | parameter | value |
//! |---|---|
//! | `from`, `to` | RFC 3339 as GraphQL takes it (`2026-11-01T00:00:00+09:00`; a `+` left unencoded in the URL, which decodes to a space, still reads as `+`), or a date (`2026-11-01`: midnight KST) |
//! | `sellerId`, `productId` | a global id (`gid://oms/Seller/1`) or the number |
//! | `type`, `reason`, `status` | the GraphQL enum value (`RETURN`, `DEFECTIVE`, ...) |
//! | `groupBy` (stats) | dimensions, comma-separated or repeated (`SELLER,DAY`) |
//! | `orderBy` (stats) | fields with an optional direction (`CLAIM_RATE:DESC,PERIOD:ASC`) |
//!
//! Each parameter's name and value is at most 1,000 characters on one line
//! (`domain::text::EXPORT_PARAMETER`); a longer one, or one with a control character, is a 400
//! `BAD_REQUEST` naming it.
//!
//! The files are UTF-8 with a byte-order mark (so spreadsheet programs read Korean correctly),
//! RFC 4180 (comma separated, CRLF line ends, fields with a comma, quote or line break quoted,
//! quotes doubled). Text from sellers (seller and product names) that starts with `=`, `+`,
//! `-`, `@`, tab or carriage return gets a leading `'`, so a spreadsheet never runs it as a
//! formula. Times of claims are Korea Standard Time (`2026-11-24 18:00:00`); a period's
//! `period_start` is RFC 3339, the same text as GraphQL's `periodStart`
//! (`2026-11-30T00:00:00+09:00`). Hours are rounded to the hundredth.
//!
//! The claims file has one line per claim with the whole claim: all its units and money. With
//! `productId` it lists the claims covering that product and adds the product's part of each:
//! `product_units` and its shares of the money (`product_refunded_cash`,
//! `product_refunded_points`, `product_fees_charged`, `product_fees_refunded`), split exactly as
//! `claimStats` splits a claim over several products. Their sums are `claimStats(productId)`'s
//! figures: the money over every line, the units over the lines without `converted_to` (a claim
//! closed by a conversion counts in the claim it opened).
//!
//! Both stream: the claims in pages of `service::analytics::EXPORT_PAGE` by id keyset, the
//! statistics as the database produces them, through a small bounded channel, so memory stays
//! constant however many rows there are, and a client that goes away stops the query. A
//! failure after the first byte aborts the transfer (the client sees an incomplete download,
//! never a silently short file).

use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::mpsc;

use super::graphql::authenticate;
use super::HttpState;
use crate::codes::ErrorCode;
use crate::domain::actor::Actor;
use crate::domain::analytics::{
    parse_instant, Dimension, Grouping, OrderField, OrderKey, StatsFilter, StatsQuery, StatsRow,
    KST,
};
use crate::domain::claim::{ClaimStatus, ClaimType, HoldReason, Reason};
use crate::domain::text as limit;
use crate::error::ServiceError;
use crate::graphql::ids::{parse, Kind};
use crate::service::analytics::{self as service, ExportedClaim};

/// Bytes gathered before a chunk goes to the client.
const CHUNK: usize = 32 * 1024;
/// Chunks waiting for a slow client before the query waits too.
const CHANNEL: usize = 4;
/// The byte-order mark that tells spreadsheets the file is UTF-8.
const BOM: &str = "\u{feff}";

/// `GET /export/claims.csv`: every claim the filter covers, newest first.
pub async fn claims(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (actor, params) = match prepare(&state, &headers, &params, false).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let filter = match service::authorize(actor, params.filter) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    let app = state.app.clone();
    let by_product = filter.filter().product_id.is_some();
    let header_line = claim_columns(by_product).join(",");
    stream_csv("claims", header_line, move |out| async move {
        let mut sink = out;
        let result = service::export_claims(&app, &filter, |claim| {
            claim_line(&mut sink.buf, &claim, by_product);
            sink.flush_if_full()
        })
        .await;
        (sink, result)
    })
}

/// `GET /export/claim-stats.csv`: every row of `claimStats` for the filter and grouping.
pub async fn claim_stats(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (actor, params) = match prepare(&state, &headers, &params, true).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let filter = match service::authorize(actor, params.filter) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    // The file has every measure, ordered units (the cancel rate's) included.
    let query = StatsQuery {
        filter,
        grouping: params.grouping,
        order: params.order,
        with_ordered_units: true,
    };
    let app = state.app.clone();
    let header_line = stats_columns(&query.grouping).join(",");
    stream_csv("claim-stats", header_line, move |out| async move {
        let mut sink = out;
        let result = service::stream_claim_stats(&app, &query, |row| {
            stats_line(&mut sink.buf, &query.grouping, &row);
            sink.flush_if_full()
        })
        .await;
        (sink, result)
    })
}

/// What a request asks for.
struct Params {
    filter: StatsFilter,
    grouping: Grouping,
    order: Vec<OrderKey>,
}

/// Authenticates and parses the query parameters; `stats` allows `groupBy` and `orderBy`.
async fn prepare(
    state: &HttpState,
    headers: &HeaderMap,
    params: &[(String, String)],
    stats: bool,
) -> Result<(Actor, Params), Box<Response>> {
    let actor = authenticate(state, headers)
        .await?
        .ok_or_else(|| Box::new(refusal(ServiceError::Unauthenticated)))?;
    parse_params(params, stats)
        .map(|p| (actor, p))
        .map_err(|message| Box::new(refusal(ServiceError::BadInput(message))))
}

fn parse_params(params: &[(String, String)], stats: bool) -> Result<Params, String> {
    let mut filter = StatsFilter::default();
    let mut dimensions = Vec::new();
    let mut order = Vec::new();
    for (name, value) in params {
        // Values become numbers, enums and instants before any query; the limit keeps the
        // refusals (which quote them) short.
        limit::EXPORT_PARAMETER
            .check(name)
            .map_err(|e| e.message("a parameter's name"))?;
        limit::EXPORT_PARAMETER
            .check(value)
            .map_err(|e| e.message(&format!("`{name}`")))?;
        let value = value.trim();
        match name.as_str() {
            "from" => filter.from = Some(instant(value)?),
            "to" => filter.to = Some(instant(value)?),
            "sellerId" => filter.seller_id = Some(id(value, Kind::Seller)?),
            "productId" => filter.product_id = Some(id(value, Kind::Product)?),
            "type" => filter.claim_type = Some(code(value, "type", ClaimType::parse)?),
            "reason" => filter.reason = Some(code(value, "reason", Reason::parse)?),
            "status" => filter.status = Some(code(value, "status", ClaimStatus::parse)?),
            "groupBy" if stats => {
                for d in value.split(',').filter(|d| !d.trim().is_empty()) {
                    dimensions
                        .push(Dimension::parse(d).ok_or_else(|| format!("unknown groupBy `{d}`"))?);
                }
            }
            "orderBy" if stats => {
                for key in value.split(',').filter(|k| !k.trim().is_empty()) {
                    let (field, dir) = key.split_once(':').unwrap_or((key, "DESC"));
                    let field = OrderField::parse(field)
                        .ok_or_else(|| format!("unknown orderBy `{field}`"))?;
                    let descending = match dir.trim().to_ascii_uppercase().as_str() {
                        "DESC" => true,
                        "ASC" => false,
                        other => {
                            return Err(format!("orderBy direction `{other}`: use ASC or DESC"))
                        }
                    };
                    order.push(OrderKey { field, descending });
                }
            }
            other => {
                return Err(format!(
                    "unknown parameter `{other}`; use from, to, sellerId, productId, type, reason, \
                     status{}",
                    if stats { ", groupBy, orderBy" } else { "" }
                ))
            }
        }
    }
    Ok(Params {
        filter,
        grouping: Grouping::new(&dimensions).map_err(|e| e.to_string())?,
        order,
    })
}

/// An instant as GraphQL's filter takes it, or a date meaning its midnight in KST
/// (`domain::analytics::parse_instant`).
fn instant(value: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(value).ok_or_else(|| {
        format!(
            "`{value}` is not a time: use RFC 3339 (2026-11-01T00:00:00+09:00, as in GraphQL) \
             or a date (2026-11-01, midnight in Korea)"
        )
    })
}

fn id(value: &str, kind: Kind) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(n) => Ok(n),
        Err(_) => parse(&async_graphql::ID(value.to_owned()), kind).map_err(|e| e.to_string()),
    }
}

fn code<T>(value: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, String> {
    parse(&value.to_ascii_uppercase()).ok_or_else(|| format!("unknown {what} `{value}`"))
}

/// The JSON error answer for a request refused before any CSV was written.
fn refusal(e: ServiceError) -> Response {
    let (status, code) = match &e {
        ServiceError::Unauthenticated => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
        ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
        ServiceError::BadInput(_) | ServiceError::User(_) => {
            (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
        }
        ServiceError::Db(_) | ServiceError::Corrupt(_) | ServiceError::PolicyNotCompiled { .. } => {
            tracing::error!(error = %e, "internal error");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"errors": [{"message": "internal error; it has been logged", "extensions": {"code": ErrorCode::Internal.as_str()}}]})),
            )
                .into_response();
        }
    };
    (
        status,
        Json(
            json!({"errors": [{"message": e.to_string(), "extensions": {"code": code.as_str()}}]}),
        ),
    )
        .into_response()
}

/// Where CSV text goes: a buffer sent to the client in chunks of about [`CHUNK`] bytes.
struct Sink {
    buf: String,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Sink {
    /// Sends the buffer when it is full; the future answers false once the client is gone.
    fn flush_if_full(&mut self) -> impl std::future::Future<Output = bool> + 'static {
        let chunk = (self.buf.len() >= CHUNK).then(|| std::mem::take(&mut self.buf));
        let tx = self.tx.clone();
        async move {
            match chunk {
                Some(c) => tx.send(Ok(Bytes::from(c))).await.is_ok(),
                None => true,
            }
        }
    }
}

/// Answers 200 with a CSV body that `produce` writes (after the BOM and `header_line`) from a
/// task of its own; the rest of the buffer follows, or an error aborts the transfer.
fn stream_csv<F, Fut>(name: &str, header_line: String, produce: F) -> Response
where
    F: FnOnce(Sink) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = (Sink, Result<(), ServiceError>)> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHANNEL);
    let mut buf = String::with_capacity(CHUNK * 2);
    buf.push_str(BOM);
    buf.push_str(&header_line);
    buf.push_str("\r\n");
    tokio::spawn(async move {
        let (sink, result) = produce(Sink { buf, tx }).await;
        let Sink { buf, tx } = sink;
        match result {
            Ok(()) => {
                if !buf.is_empty() {
                    let _ = tx.send(Ok(Bytes::from(buf))).await;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "CSV export failed; aborting the transfer");
                let _ = tx
                    .send(Err(std::io::Error::other(
                        "the export failed; it has been logged",
                    )))
                    .await;
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let stamp = Utc::now().with_timezone(&KST).format("%Y%m%d-%H%M%S");
    let disposition = format!("attachment; filename=\"{name}-{stamp}.csv\"");
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// The lines.

const CLAIM_COLUMNS: [&str; 25] = [
    "claim_number",
    "order_number",
    "type",
    "type_ko",
    "status",
    "status_ko",
    "reason",
    "reason_ko",
    "fault",
    "seller_id",
    "seller_name",
    "items",
    "units",
    "hold",
    "hold_reason",
    "hold_reason_ko",
    "requested_at_kst",
    "closed_at_kst",
    "hours_to_complete",
    "converted_from",
    "converted_to",
    "refunded_cash",
    "refunded_points",
    "fees_charged",
    "fees_refunded",
];

/// The filtered product's part of each claim (with `productId` only).
const PRODUCT_COLUMNS: [&str; 5] = [
    "product_units",
    "product_refunded_cash",
    "product_refunded_points",
    "product_fees_charged",
    "product_fees_refunded",
];

/// The columns of the claims file; `by_product` adds the product's part.
fn claim_columns(by_product: bool) -> Vec<&'static str> {
    let product: &[&str] = if by_product { &PRODUCT_COLUMNS } else { &[] };
    CLAIM_COLUMNS.iter().chain(product).copied().collect()
}

fn claim_line(out: &mut String, c: &ExportedClaim, by_product: bool) {
    let items = c
        .items
        .iter()
        .map(|(product, option, units)| format!("{product} ({option}) × {units}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut line = Line::new(out);
    line.text(&c.claim_number)
        .text(&c.order_number)
        .text(c.claim_type.as_str())
        .text(c.claim_type.korean())
        .text(c.status.as_str())
        .text(c.status.korean())
        .text(c.reason.as_str())
        .text(c.reason.korean())
        .text(c.fault.as_str())
        .number(c.seller_id)
        .untrusted(&c.seller_name)
        .untrusted(&items)
        .number(c.units)
        .text(c.hold.as_ref().map_or("", |(phase, _)| phase.as_str()))
        .text(c.hold.as_ref().map_or("", |(_, r)| r.as_str()))
        .text(c.hold.as_ref().map_or("", |(_, r)| r.korean()))
        .text(&kst(c.requested_at))
        .text(&c.closed_at.map(kst).unwrap_or_default())
        .decimal(c.hours_to_complete, 2)
        .text(c.converted_from.as_deref().unwrap_or_default())
        .text(c.converted_to.as_deref().unwrap_or_default())
        .number(c.refunded_cash.amount())
        .number(c.refunded_points.amount())
        .number(c.fees_charged.amount())
        .number(c.fees_refunded.amount());
    if by_product {
        let p = c.product.as_ref();
        line.optional(p.map(|p| p.units))
            .optional(p.map(|p| p.refunded_cash.amount()))
            .optional(p.map(|p| p.refunded_points.amount()))
            .optional(p.map(|p| p.fees_charged.amount()))
            .optional(p.map(|p| p.fees_refunded.amount()));
    }
    line.end();
}

fn kst(t: DateTime<Utc>) -> String {
    t.with_timezone(&KST)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The columns of the statistics file: the grouping's keys, then every measure.
fn stats_columns(grouping: &Grouping) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for d in grouping.dimensions() {
        let keys: &[&str] = match d {
            Dimension::Day | Dimension::Week | Dimension::Month => &["period", "period_start"],
            Dimension::Seller => &["seller_id", "seller_name"],
            Dimension::Product => &["product_id", "product_name"],
            Dimension::Type => &["type", "type_ko"],
            Dimension::Reason => &["reason", "reason_ko"],
            Dimension::Fault => &["fault", "fault_ko"],
        };
        cols.extend(keys.iter().map(|k| (*k).to_owned()));
    }
    cols.extend(
        [
            "claims",
            "claimed_units",
            "cancelled_units",
            "returned_units",
            "exchanged_units",
            "delivered_units",
            "ordered_units",
            "cancel_rate",
            "return_rate",
            "exchange_rate",
            "claim_rate",
            "refunded_cash",
            "refunded_to_card",
            "refunded_to_bank_transfer",
            "cash_refund_pending",
            "refunded_points",
            "fees_charged",
            "fees_refunded",
            "completed",
            "completed_at_once",
            "median_hours_to_complete",
            "p90_hours_to_complete",
            "open_claims",
            "on_hold",
        ]
        .map(str::to_owned),
    );
    cols.extend(
        HoldReason::ALL
            .iter()
            .map(|r| format!("on_hold_{}", r.as_str().to_ascii_lowercase())),
    );
    cols.extend(["conversions", "rejections", "withdrawals"].map(str::to_owned));
    cols
}

fn stats_line(out: &mut String, grouping: &Grouping, row: &StatsRow) {
    let k = &row.keys;
    let m = &row.measures;
    let mut line = Line::new(out);
    for d in grouping.dimensions() {
        match d {
            Dimension::Day | Dimension::Week | Dimension::Month => {
                line.text(&k.period.map(|p| p.label()).unwrap_or_default());
                line.text(
                    &k.period
                        .map(|p| p.starts_at().to_rfc3339())
                        .unwrap_or_default(),
                );
            }
            Dimension::Seller => {
                line.text(
                    &k.seller
                        .as_ref()
                        .map(|s| s.0.to_string())
                        .unwrap_or_default(),
                );
                line.untrusted(k.seller.as_ref().map_or("", |s| s.1.as_str()));
            }
            Dimension::Product => {
                line.text(
                    &k.product
                        .as_ref()
                        .map(|p| p.0.to_string())
                        .unwrap_or_default(),
                );
                line.untrusted(k.product.as_ref().map_or("", |p| p.1.as_str()));
            }
            Dimension::Type => {
                line.text(k.claim_type.map_or("", ClaimType::as_str));
                line.text(k.claim_type.map_or("", ClaimType::korean));
            }
            Dimension::Reason => {
                line.text(k.reason.map_or("", Reason::as_str));
                line.text(k.reason.map_or("", Reason::korean));
            }
            Dimension::Fault => {
                line.text(k.fault.map_or("", |f| f.as_str()));
                line.text(k.fault.map_or("", |f| f.korean()));
            }
        }
    }
    line.number(m.claims)
        .number(m.claimed_units)
        .number(m.cancelled_units)
        .number(m.returned_units)
        .number(m.exchanged_units)
        .number(m.delivered_units)
        .optional(m.ordered_units)
        .decimal(m.cancel_rate(), 6)
        .decimal(m.return_rate(), 6)
        .decimal(m.exchange_rate(), 6)
        .decimal(m.claim_rate(), 6)
        .number(m.refunded_cash.amount())
        .number(m.refunded_to_card.amount())
        .number(m.refunded_to_bank_transfer.amount())
        .number(m.cash_refund_pending.amount())
        .number(m.refunded_points.amount())
        .number(m.fees_charged.amount())
        .number(m.fees_refunded.amount())
        .number(m.completed)
        .number(m.completed_at_once)
        .decimal(m.median_hours_to_complete, 2)
        .decimal(m.p90_hours_to_complete, 2)
        .number(m.open_claims)
        .number(m.on_hold_total());
    for (_, n) in &m.on_hold {
        line.number(*n);
    }
    line.number(m.conversions)
        .number(m.rejections)
        .number(m.withdrawals);
    line.end();
}

/// One CSV record being written (RFC 4180).
struct Line<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Line<'a> {
    fn new(out: &'a mut String) -> Line<'a> {
        Line { out, first: true }
    }

    fn separator(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// A field, quoted when it holds a comma, a quote or a line break.
    fn text(&mut self, value: &str) -> &mut Self {
        self.separator();
        if value.contains([',', '"', '\r', '\n']) {
            self.out.push('"');
            self.out.push_str(&value.replace('"', "\"\""));
            self.out.push('"');
        } else {
            self.out.push_str(value);
        }
        self
    }

    /// Text someone outside the marketplace typed (names): a leading formula character gets a
    /// `'` so that spreadsheets show it instead of running it.
    fn untrusted(&mut self, value: &str) -> &mut Self {
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            self.text(&format!("'{value}"))
        } else {
            self.text(value)
        }
    }

    fn number(&mut self, value: i64) -> &mut Self {
        self.separator();
        let _ = write!(self.out, "{value}");
        self
    }

    /// A number, or an empty field.
    fn optional(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.number(v),
            None => self.text(""),
        }
    }

    /// A number with `places` decimals, or an empty field.
    fn decimal(&mut self, value: Option<f64>, places: usize) -> &mut Self {
        self.separator();
        if let Some(v) = value {
            let _ = write!(self.out, "{v:.places$}");
        }
        self
    }

    fn end(&mut self) {
        self.out.push_str("\r\n");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says_and_formulas_are_defused() {
        let mut out = String::new();
        Line::new(&mut out)
            .text("plain")
            .text("a,b")
            .text("say \"hi\"")
            .text("two\r\nlines")
            .untrusted("=HYPERLINK(\"x\")")
            .untrusted("한빛패션")
            .number(-3000)
            .decimal(Some(1.0 / 3.0), 2)
            .decimal(None, 2)
            .end();
        assert_eq!(
            out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",\"'=HYPERLINK(\"\"x\"\")\",한빛패션,-3000,0.33,\r\n"
        );
    }

    #[test]
    fn parameters_parse_like_the_graphql_filter() {
        let p = |pairs: &[(&str, &str)], stats: bool| {
            parse_params(
                &pairs
                    .iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect::<Vec<_>>(),
                stats,
            )
        };
        let ok = p(
            &[
                ("from", "2026-11-01"),
                ("to", "2026-12-01T00:00:00+09:00"),
                ("sellerId", "gid://oms/Seller/2"),
                ("productId", "7"),
                ("type", "return"),
                ("groupBy", "SELLER,day"),
                ("orderBy", "CLAIM_RATE,PERIOD:ASC"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            ok.filter.from.unwrap().to_rfc3339(),
            "2026-10-31T15:00:00+00:00"
        );
        assert_eq!(
            ok.filter.to.unwrap().to_rfc3339(),
            "2026-11-30T15:00:00+00:00"
        );
        assert_eq!(
            (ok.filter.seller_id, ok.filter.product_id),
            (Some(2), Some(7))
        );
        assert_eq!(ok.filter.claim_type, Some(ClaimType::Return));
        assert_eq!(
            ok.grouping.dimensions(),
            [Dimension::Day, Dimension::Seller]
        );
        assert_eq!(
            ok.order,
            [
                OrderKey {
                    field: OrderField::ClaimRate,
                    descending: true
                },
                OrderKey {
                    field: OrderField::Period,
                    descending: false
                }
            ]
        );
        assert!(p(&[("groupBy", "SELLER")], false).is_err());
        assert!(p(&[("sellerId", "gid://oms/Product/2")], false).is_err());
        assert!(p(&[("groupBy", "DAY,MONTH")], true).is_err());
        assert!(p(&[("seller", "1")], true).is_err());
    }
}
