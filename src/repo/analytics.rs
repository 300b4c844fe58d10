//! Claim analytics in SQL: `claimStats` as one aggregate statement, the claims export in keyset
//! pages, and the oldest open claims. What each figure means is `domain::analytics`; this file
//! only says how the database computes it, on SQLite and on PostgreSQL alike.
//!
//! These statements are SQL text rather than sea-query builder calls: common table expressions,
//! window functions, ordered-set aggregates and per-backend date arithmetic read (and review)
//! better as SQL. Every value from a request is bound (`$1`, `$2`, ... on both backends); the
//! only text that varies comes from the fixed fragments below and the domain's status codes.
//!
//! `claimStats` in outline (PostgreSQL names; SQLite differs only in the date arithmetic and
//! the percentiles):
//!
//! ```sql
//! WITH f  AS (one row per claim with its refund: group keys, state, money),
//!      u  AS (claimed units by group keys, from claim_items),
//!      p  AS (refund parts by group keys: to card, to bank account, not yet confirmed),
//!      g0 AS (SELECT <keys>, SUM(...), percentile_cont(...) FROM f GROUP BY <keys>),
//!      g  AS (g0 with u and p),
//!      -- or, grouped or filtered by PRODUCT: ip and iw (units and money weights per claim
//!      -- and product), rp (parts per claim), f (per claim and product, money split), g
//!      dd, d AS (units delivered by seller / product / period: whole KST days from the
//!                count kept per day and seller, the edges of the period and everything per
//!                product from order_lines),
//!      res AS (g FULL JOIN d, or LEFT JOIN when REASON, TYPE or FAULT split the claims)
//! SELECT res.*, claim rate FROM res ORDER BY ... LIMIT ...
//! ```
//!
//! SQLite has no `percentile_cont`: the percentiles number each group's hours with
//! `ROW_NUMBER()` and `COUNT(*) OVER` and interpolate between the two nearest ranks exactly as
//! `percentile_cont` does (position `p·(n−1)`), still in the database. On PostgreSQL the
//! statement runs in a read-only transaction without JIT compilation ([`begin`]).

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use entity::claim;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    FromQueryResult, QueryResult, Statement, StreamTrait, TransactionTrait, Value,
};

use crate::domain::analytics::{
    completes, is_open, is_rejection, is_withdrawal, status_codes, DeliverySpan, Dimension,
    OrderField, Scoped, StatsFilter, StatsQuery, TimeBucket, KST_OFFSET_SECONDS,
};
use crate::domain::claim::{ClaimType, HoldReason};
use crate::domain::order::TenderMethod;

/// A refund part's status once the gateway confirmed it.
const PART_SUCCEEDED: &str = "SUCCEEDED";
/// A claim's hold phase while a hold is in force.
const HELD: &str = "HELD";

/// SQL text with its bound values.
struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Sql {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    /// Binds `value` and returns its placeholder (`$n`, which sqlx also accepts on SQLite).
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }

    fn postgres(&self) -> bool {
        matches!(self.backend, DbBackend::Postgres)
    }

    /// `SUM(expr)` as a 64-bit integer (PostgreSQL sums `bigint` into `numeric`).
    fn sum(expr: &str) -> String {
        format!("CAST(SUM({expr}) AS BIGINT)")
    }

    /// The floating-point type.
    fn real(&self) -> &'static str {
        if self.postgres() {
            "DOUBLE PRECISION"
        } else {
            "REAL"
        }
    }

    /// The KST calendar period of the timestamp column `col`, as a date (PostgreSQL) or an
    /// ISO date text (SQLite). Both shift UTC by the same fixed nine hours.
    fn period(&self, bucket: TimeBucket, col: &str) -> String {
        let hours = KST_OFFSET_SECONDS / 3600;
        if self.postgres() {
            let local = format!("(({col} AT TIME ZONE 'UTC') + INTERVAL '{hours} hours')");
            match bucket {
                TimeBucket::Day => format!("CAST({local} AS DATE)"),
                TimeBucket::Week => format!("CAST(date_trunc('week', {local}) AS DATE)"),
                TimeBucket::Month => format!("CAST(date_trunc('month', {local}) AS DATE)"),
            }
        } else {
            match bucket {
                TimeBucket::Day => format!("date({col}, '+{hours} hours')"),
                // Back six days, then forward to the next Monday (or stay on one).
                TimeBucket::Week => {
                    format!("date({col}, '+{hours} hours', '-6 days', 'weekday 1')")
                }
                TimeBucket::Month => format!("date({col}, '+{hours} hours', 'start of month')"),
            }
        }
    }

    /// The KST calendar period of the date column `col` (a day of the delivery count).
    fn period_of_day(&self, bucket: TimeBucket, col: &str) -> String {
        match (self.postgres(), bucket) {
            (_, TimeBucket::Day) => col.to_owned(),
            (true, TimeBucket::Week) => {
                format!("CAST(date_trunc('week', CAST({col} AS TIMESTAMP)) AS DATE)")
            }
            (true, TimeBucket::Month) => {
                format!("CAST(date_trunc('month', CAST({col} AS TIMESTAMP)) AS DATE)")
            }
            (false, TimeBucket::Week) => format!("date({col}, '-6 days', 'weekday 1')"),
            (false, TimeBucket::Month) => format!("date({col}, 'start of month')"),
        }
    }

    /// The date of `period` as `YYYY-MM-DD` text.
    fn period_text(&self, expr: &str) -> String {
        if self.postgres() {
            format!("to_char({expr}, 'YYYY-MM-DD')")
        } else {
            expr.to_owned()
        }
    }

    /// Hours from the timestamp `from` to the timestamp `to`.
    fn hours(&self, from: &str, to: &str) -> String {
        if self.postgres() {
            format!("CAST(EXTRACT(EPOCH FROM ({to} - {from})) AS DOUBLE PRECISION) / 3600.0")
        } else {
            format!("(julianday({to}) - julianday({from})) * 24.0")
        }
    }
}

/// `'A', 'B'`: the domain's stored codes (capital letters and underscores only) as literals.
fn codes(list: &[&'static str]) -> String {
    list.iter()
        .map(|c| {
            debug_assert!(c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            format!("'{c}'")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The filter's conditions on the claims aliased `c` (requested in the period, seller, product,
/// type, reason, status).
fn claim_conditions(sql: &mut Sql, f: &StatsFilter, c: &str) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(from) = f.from {
        w.push(format!("{c}.requested_at >= {}", sql.bind(from)));
    }
    if let Some(to) = f.to {
        w.push(format!("{c}.requested_at < {}", sql.bind(to)));
    }
    if let Some(s) = f.seller_id {
        w.push(format!("{c}.seller_id = {}", sql.bind(s)));
    }
    if let Some(t) = f.claim_type {
        w.push(format!("{c}.claim_type = {}", sql.bind(t.as_str())));
    }
    if let Some(r) = f.reason {
        w.push(format!("{c}.reason = {}", sql.bind(r.as_str())));
    }
    if let Some(s) = f.status {
        w.push(format!("{c}.status = {}", sql.bind(s.as_str())));
    }
    if let Some(p) = f.product_id {
        w.push(format!(
            "EXISTS (SELECT 1 FROM claim_items pi JOIN order_lines pl ON pl.id = pi.line_id \
             WHERE pi.claim_id = {c}.id AND pl.product_id = {})",
            sql.bind(p)
        ));
    }
    w
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// Fees refunded by the refund `r` (left-joined): its credit (a fee paid earlier) as far as its
/// cash holds it (`domain::analytics`, "Fees").
fn fees_refunded(r: &str) -> String {
    format!("COALESCE(CASE WHEN {r}.credit < {r}.cash THEN {r}.credit ELSE {r}.cash END, 0)")
}

/// Cash refunded for the goods by the refund `r` (left-joined): its cash less the fees refunded.
fn refunded_cash(r: &str) -> String {
    format!("COALESCE(CASE WHEN {r}.cash > {r}.credit THEN {r}.cash - {r}.credit ELSE 0 END, 0)")
}

/// Fees charged by the claim aliased `c` with its refund `r` (left-joined): the fees paid
/// separately, plus the deductions the refund kept, less the part of them paid out of a credit
/// (`domain::analytics`, "Fees"). Never negative.
fn fees_charged(c: &str, r: &str) -> String {
    format!(
        "{c}.fee_paid + COALESCE({r}.items_cash + {r}.items_points + {r}.shipping_refund_cash \
         + {r}.shipping_refund_points + {r}.clawback_returned_cash + {r}.clawback_returned_points \
         - {r}.cash - {r}.points - {r}.due_reduced, 0) + {}",
        fees_refunded(r)
    )
}

/// Hours from request to completion of the claim aliased `c`; NULL unless it completed.
fn hours_to_complete(sql: &Sql, c: &str) -> String {
    format!(
        "CASE WHEN {c}.status IN ({}) THEN {} END",
        codes(&status_codes(completes)),
        sql.hours(&format!("{c}.requested_at"), &format!("{c}.closed_at"))
    )
}

/// The claimed units `units` of the claim aliased `c` when it is of type `t`, else 0.
fn units_of_type(c: &str, t: ClaimType, units: &str) -> String {
    format!(
        "CASE WHEN {c}.claim_type = {} THEN {units} ELSE 0 END",
        codes(&[t.as_str()])
    )
}

/// The claimed units by type, by output name.
const UNITS_BY_TYPE: [(ClaimType, &str); 3] = [
    (ClaimType::Cancel, "cancelled_units"),
    (ClaimType::Return, "returned_units"),
    (ClaimType::Exchange, "exchanged_units"),
];

/// The column of a group key in `f`, `g` and `d`.
fn key_column(d: Dimension) -> &'static str {
    match d {
        Dimension::Day | Dimension::Week | Dimension::Month => "period",
        Dimension::Seller => "seller_id",
        Dimension::Product => "product_id",
        Dimension::Type => "claim_type",
        Dimension::Reason => "reason",
        Dimension::Fault => "fault",
    }
}

/// True for the keys that deliveries have too.
fn delivery_key(d: Dimension) -> bool {
    match d {
        Dimension::Day
        | Dimension::Week
        | Dimension::Month
        | Dimension::Seller
        | Dimension::Product => true,
        Dimension::Type | Dimension::Reason | Dimension::Fault => false,
    }
}

/// The column of one held-by-reason count.
fn held_column(reason: HoldReason) -> String {
    format!("held_{}", reason.as_str().to_ascii_lowercase())
}

/// The measures summed per claim (or per claim and product) in `f`, by output name.
const MONEY: [&str; 7] = [
    "refunded_cash",
    "refunded_to_card",
    "refunded_to_bank_transfer",
    "cash_refund_pending",
    "refunded_points",
    "fees_charged",
    "fees_refunded",
];

/// The `claimStats` statement; at most `limit` rows when given. Built in the order its text
/// runs (values are bound as they are met): the groups of claims, SQLite's percentiles, the
/// deliveries, the two side by side, and the sorted rows.
fn claim_stats_statement(backend: DbBackend, q: &StatsQuery, limit: Option<u64>) -> Statement {
    let mut sql = Sql::new(backend);
    let shape = Shape::of(&sql, q);
    if shape.by_product {
        product_weights(&mut sql, &shape);
        product_groups(&mut sql, &shape);
    } else {
        claim_rows(&mut sql, &shape);
        claim_groups(&mut sql, &shape);
    }
    if !sql.postgres() {
        sqlite_percentiles(&mut sql, &shape);
    }
    if shape.by_product {
        product_deliveries(&mut sql, &shape);
    } else {
        seller_deliveries(&mut sql, &shape);
    }
    results(&mut sql, &shape);
    let ordered = q.counts_ordered_units();
    if ordered {
        ordered_units(&mut sql, &shape);
    }
    sorted_rows(&mut sql, &shape, limit);
    sql.statement()
}

/// What one `claimStats` statement groups by, and the fragments its common table expressions
/// share, worked out once from the query.
struct Shape<'a> {
    /// The query.
    q: &'a StatsQuery,
    /// Its (scoped) filter.
    filter: &'a StatsFilter,
    /// Per claim and product when products are grouped or filtered, else per claim.
    by_product: bool,
    /// The group keys' columns.
    keys: Vec<&'static str>,
    /// The group keys deliveries have too.
    d_keys: Vec<&'static str>,
    /// `" GROUP BY <keys>"`, or nothing without keys.
    group_by: String,
    /// `"<key>, "` for every key.
    key_list: String,
    /// The group keys of the claim `c` (but its product) as columns, each followed by `", "`.
    claim_key_list: String,
    /// `" GROUP BY 1, 2, ..."`: the claim keys by position, to group the rows of a join.
    by_position: String,
    /// What a claim is now ([`claim_state`]).
    state: String,
    /// Refund parts by where they went ([`refund_part_sums`]).
    parts: String,
    /// The claim-wide measures of a group ([`group_sums`]).
    sums: String,
}

impl<'a> Shape<'a> {
    /// The shape of `q` on the backend of `sql`.
    fn of(sql: &Sql, q: &'a StatsQuery) -> Shape<'a> {
        let filter = q.filter.filter();
        let dims = q.grouping.dimensions();
        let keys: Vec<&str> = dims.iter().map(|d| key_column(*d)).collect();
        let d_keys = dims
            .iter()
            .filter(|d| delivery_key(**d))
            .map(|d| key_column(*d))
            .collect();
        let claim_keys = claim_keys(sql, dims);
        Shape {
            q,
            filter,
            by_product: q.grouping.has(Dimension::Product) || filter.product_id.is_some(),
            group_by: group_by(&keys),
            key_list: keys.iter().map(|k| format!("{k}, ")).collect(),
            claim_key_list: claim_keys.iter().map(|k| format!("{k}, ")).collect(),
            by_position: by_position(claim_keys.len()),
            keys,
            d_keys,
            state: claim_state(sql),
            parts: refund_part_sums(),
            sums: group_sums(sql).join(", "),
        }
    }

    /// The group key `k` of a result row: from either side when groups with deliveries but no
    /// claims are rows too, else from the claims' side.
    fn key_of(&self, k: &str) -> String {
        if self.d_keys.contains(&k) && self.q.grouping.partitions_deliveries() {
            format!("COALESCE(g.{k}, d.{k})")
        } else {
            format!("g.{k}")
        }
    }
}

/// `" GROUP BY <columns>"`, or nothing without columns.
fn group_by(columns: &[&str]) -> String {
    if columns.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", columns.join(", "))
    }
}

/// `" GROUP BY 1, 2, ..., n"`, or nothing when `n` is 0.
fn by_position(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        let positions: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        format!(" GROUP BY {}", positions.join(", "))
    }
}

/// `a.k = b.k AND ...` over the keys, or `1 = 1` without keys.
fn keys_equal(keys: &[&str], a: &str, b: &str) -> String {
    if keys.is_empty() {
        "1 = 1".to_owned()
    } else {
        keys.iter()
            .map(|k| format!("{a}.{k} = {b}.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

/// The group keys of the claim `c` (but its product), as columns.
fn claim_keys(sql: &Sql, dims: &[Dimension]) -> Vec<String> {
    dims.iter()
        .filter(|d| **d != Dimension::Product)
        .map(|d| match d.bucket() {
            Some(b) => format!("{} AS period", sql.period(b, "c.requested_at")),
            None => format!("c.{0} AS {0}", key_column(*d)),
        })
        .collect()
}

/// What the claim `c` is now: counted (not converted away), completed, completed at once (at
/// the instant of its request), hours to complete when it waited, open, rejected, withdrawn,
/// held for each reason.
fn claim_state(sql: &Sql) -> String {
    let completed = codes(&status_codes(completes));
    let mut state = vec![
        "CASE WHEN c.converted_to_id IS NULL THEN 1 ELSE 0 END AS counted".to_owned(),
        format!("CASE WHEN c.status IN ({completed}) THEN 1 ELSE 0 END AS done"),
        format!(
            "CASE WHEN c.status IN ({completed}) AND c.closed_at = c.requested_at \
             THEN 1 ELSE 0 END AS at_once"
        ),
        format!(
            "CASE WHEN c.closed_at <> c.requested_at THEN {} END AS hours",
            hours_to_complete(sql, "c")
        ),
        format!(
            "CASE WHEN c.status IN ({}) THEN 1 ELSE 0 END AS open",
            codes(&status_codes(is_open))
        ),
        format!(
            "CASE WHEN c.status IN ({}) THEN 1 ELSE 0 END AS rejected",
            codes(&status_codes(is_rejection))
        ),
        format!(
            "CASE WHEN c.status IN ({}) THEN 1 ELSE 0 END AS withdrawn",
            codes(&status_codes(is_withdrawal))
        ),
    ];
    for reason in HoldReason::ALL {
        state.push(format!(
            "CASE WHEN c.hold_phase = '{HELD}' AND c.hold_reason = '{}' THEN 1 ELSE 0 END AS {}",
            reason.as_str(),
            held_column(*reason)
        ));
    }
    state.join(", ")
}

/// The refund parts `p` summed: to cards, to bank accounts, not confirmed yet.
fn refund_part_sums() -> String {
    let (card, transfer, points) = (
        TenderMethod::Card.as_str(),
        TenderMethod::BankTransfer.as_str(),
        TenderMethod::Points.as_str(),
    );
    format!(
        "{} AS refunded_to_card, {} AS refunded_to_bank_transfer, {} AS cash_refund_pending",
        Sql::sum(&format!(
            "CASE WHEN p.method = '{card}' THEN p.amount ELSE 0 END"
        )),
        Sql::sum(&format!(
            "CASE WHEN p.method = '{transfer}' THEN p.amount ELSE 0 END"
        )),
        Sql::sum(&format!(
            "CASE WHEN p.method <> '{points}' AND p.status <> '{PART_SUCCEEDED}' \
             THEN p.amount ELSE 0 END"
        )),
    )
}

/// A group's claim-wide measures summed from `f` (PostgreSQL's percentiles too).
fn group_sums(sql: &Sql) -> Vec<String> {
    let mut sums = vec![format!("{} AS claims", Sql::sum("counted"))];
    sums.push(format!("{} AS completed", Sql::sum("done")));
    sums.push(format!("{} AS completed_at_once", Sql::sum("at_once")));
    sums.push(format!("{} AS open_claims", Sql::sum("open")));
    for reason in HoldReason::ALL {
        let col = held_column(*reason);
        sums.push(format!("{} AS {col}", Sql::sum(&col)));
    }
    sums.push(format!("{} AS conversions", Sql::sum("1 - counted")));
    sums.push(format!("{} AS rejections", Sql::sum("rejected")));
    sums.push(format!("{} AS withdrawals", Sql::sum("withdrawn")));
    if sql.postgres() {
        sums.push("percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_hours".to_owned());
        sums.push("percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90_hours".to_owned());
    }
    sums
}

/// `ip` and `iw`: units and list value per claim and product, then each product's weight in
/// its claim (the list price of its units; its units when the whole claim is free) with a
/// running total over the claim's products in id order, so that the shares in `f` are whole
/// won adding up to the claim's amount.
fn product_weights(sql: &mut Sql, shape: &Shape<'_>) {
    let conditions = claim_conditions(sql, shape.filter, "c");
    sql.push("WITH ");
    weights(
        sql,
        "claim_items ci JOIN claims c ON c.id = ci.claim_id",
        &conditions,
    );
}

/// `ip` and `iw` ([`product_weights`]) over the claim items `ci` of `from` that meet
/// `conditions`.
fn weights(sql: &mut Sql, from: &str, conditions: &[String]) {
    sql.push(&format!(
        "ip AS (SELECT ci.claim_id, ol.product_id, {units} AS units, {value} AS value \
         FROM {from} JOIN order_lines ol ON ol.id = ci.line_id{} \
         GROUP BY ci.claim_id, ol.product_id)",
        where_clause(conditions),
        units = Sql::sum("ci.quantity"),
        value = Sql::sum("ci.quantity * ol.unit_price"),
    ));
    sql.push(
        ", iw AS (SELECT claim_id, product_id, units, w, \
         CAST(SUM(w) OVER (PARTITION BY claim_id ORDER BY product_id) AS BIGINT) AS cum_w, \
         CAST(SUM(w) OVER (PARTITION BY claim_id) AS BIGINT) AS total_w \
         FROM (SELECT claim_id, product_id, units, \
         CASE WHEN SUM(value) OVER (PARTITION BY claim_id) > 0 THEN value ELSE units END AS w \
         FROM ip) x)",
    );
}

/// `rp`, `f` and `g` per claim and product: refund parts per claim; one row per claim and
/// product with the claim's money split by the weights of [`product_weights`]; the groups.
fn product_groups(sql: &mut Sql, shape: &Shape<'_>) {
    let conditions = claim_conditions(sql, shape.filter, "c");
    sql.push(&format!(
        ", rp AS (SELECT p.claim_id, {} FROM refund_parts p \
         JOIN claims c ON c.id = p.claim_id{} GROUP BY p.claim_id)",
        shape.parts,
        where_clause(&conditions)
    ));
    let only = match shape.filter.product_id {
        Some(p) => format!(" WHERE iw.product_id = {}", sql.bind(p)),
        None => String::new(),
    };
    let by_type: Vec<String> = UNITS_BY_TYPE
        .iter()
        .map(|(t, name)| format!("{} AS {name}", units_of_type("c", *t, "iw.units")))
        .collect();
    sql.push(&format!(
        ", f AS (SELECT {}iw.product_id, iw.units, {}, {}, {} \
         FROM iw JOIN claims c ON c.id = iw.claim_id LEFT JOIN refunds r ON r.claim_id = c.id \
         LEFT JOIN rp ON rp.claim_id = c.id{only})",
        shape.claim_key_list,
        by_type.join(", "),
        shape.state,
        product_shares().join(", ")
    ));
    let sums: Vec<String> = UNITS_BY_TYPE
        .iter()
        .map(|(_, name)| format!("{} AS {name}", Sql::sum(&format!("counted * {name}"))))
        .chain(
            MONEY
                .iter()
                .map(|name| format!("{} AS {name}", Sql::sum(name))),
        )
        .collect();
    sql.push(&format!(
        ", g AS (SELECT {}{} AS claimed_units, {}, {} FROM f{})",
        shape.key_list,
        Sql::sum("counted * units"),
        sums.join(", "),
        shape.sums,
        shape.group_by
    ));
}

/// Each of the [`MONEY`] measures of the claim `c` with its refund `r` and refund parts `rp`
/// (left-joined), by name, in that order.
fn claim_money() -> [(&'static str, String); 7] {
    let amounts = [
        refunded_cash("r"),
        "COALESCE(rp.refunded_to_card, 0)".to_owned(),
        "COALESCE(rp.refunded_to_bank_transfer, 0)".to_owned(),
        "COALESCE(rp.cash_refund_pending, 0)".to_owned(),
        "COALESCE(r.points, 0)".to_owned(),
        fees_charged("c", "r"),
        fees_refunded("r"),
    ];
    let mut names = MONEY.into_iter();
    amounts.map(|amount| (names.next().unwrap_or_default(), amount))
}

/// A product's share of the claim's amount `m` by the weights `iw` of [`product_weights`]: the
/// amount times the running weight, less the same up to the previous product (so the shares
/// add up exactly).
fn product_share(m: &str) -> String {
    format!("({m}) * iw.cum_w / iw.total_w - ({m}) * (iw.cum_w - iw.w) / iw.total_w")
}

/// A product's share of each of its claim's [`MONEY`] measures ([`product_share`]).
fn product_shares() -> Vec<String> {
    claim_money()
        .iter()
        .map(|(name, m)| format!("{} AS {name}", product_share(m)))
        .collect()
}

/// `f`, `u` and `p` per claim: one row per claim with its refund; units and refund parts
/// summed by the group keys straight from their rows.
fn claim_rows(sql: &mut Sql, shape: &Shape<'_>) {
    let (filter, keys) = (shape.filter, &shape.claim_key_list);
    let conditions = claim_conditions(sql, filter, "c");
    sql.push(&format!(
        "WITH f AS (SELECT {keys}{}, {} AS refunded_cash, \
         COALESCE(r.points, 0) AS refunded_points, {} AS fees_charged, {} AS fees_refunded \
         FROM claims c LEFT JOIN refunds r ON r.claim_id = c.id{})",
        shape.state,
        refunded_cash("r"),
        fees_charged("c", "r"),
        fees_refunded("r"),
        where_clause(&conditions)
    ));
    let mut conditions = claim_conditions(sql, filter, "c");
    conditions.push("c.converted_to_id IS NULL".to_owned());
    let by_type: Vec<String> = UNITS_BY_TYPE
        .iter()
        .map(|(t, name)| {
            format!(
                "{} AS {name}",
                Sql::sum(&units_of_type("c", *t, "ci.quantity"))
            )
        })
        .collect();
    sql.push(&format!(
        ", u AS (SELECT {keys}{} AS claimed_units, {} FROM claim_items ci \
         JOIN claims c ON c.id = ci.claim_id{}{})",
        Sql::sum("ci.quantity"),
        by_type.join(", "),
        where_clause(&conditions),
        shape.by_position
    ));
    let conditions = claim_conditions(sql, filter, "c");
    sql.push(&format!(
        ", p AS (SELECT {keys}{} FROM refund_parts p \
         JOIN claims c ON c.id = p.claim_id{}{})",
        shape.parts,
        where_clause(&conditions),
        shape.by_position
    ));
}

/// `g0` and `g` per claim: the groups of `f`, then with their units from `u` and refund parts
/// from `p`.
fn claim_groups(sql: &mut Sql, shape: &Shape<'_>) {
    let money: Vec<String> = [
        "refunded_cash",
        "refunded_points",
        "fees_charged",
        "fees_refunded",
    ]
    .iter()
    .map(|name| format!("{} AS {name}", Sql::sum(name)))
    .collect();
    sql.push(&format!(
        ", g0 AS (SELECT {}{}, {} FROM f{})",
        shape.key_list,
        money.join(", "),
        shape.sums,
        shape.group_by
    ));
    let units: Vec<String> = ["claimed_units"]
        .into_iter()
        .chain(UNITS_BY_TYPE.iter().map(|(_, name)| *name))
        .map(|name| format!("COALESCE(u.{name}, 0) AS {name}"))
        .collect();
    sql.push(&format!(
        ", g AS (SELECT g0.*, {}, \
         COALESCE(p.refunded_to_card, 0) AS refunded_to_card, \
         COALESCE(p.refunded_to_bank_transfer, 0) AS refunded_to_bank_transfer, \
         COALESCE(p.cash_refund_pending, 0) AS cash_refund_pending \
         FROM g0 LEFT JOIN u ON {} LEFT JOIN p ON {})",
        units.join(", "),
        keys_equal(&shape.keys, "u", "g0"),
        keys_equal(&shape.keys, "p", "g0")
    ));
}

/// SQLite's percentiles by rank: `pr` numbers the hours of each group, `pc` interpolates.
fn sqlite_percentiles(sql: &mut Sql, shape: &Shape<'_>) {
    let partition = if shape.keys.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {} ", shape.keys.join(", "))
    };
    let key_list = &shape.key_list;
    sql.push(&format!(
        ", pr AS (SELECT {key_list}hours, \
         ROW_NUMBER() OVER ({partition}ORDER BY hours) - 1 AS i, \
         COUNT(*) OVER ({partition}) AS n FROM f WHERE hours IS NOT NULL)"
    ));
    sql.push(&format!(
        ", pc AS (SELECT {key_list}{} AS median_hours, {} AS p90_hours FROM pr{})",
        interpolated(0.5),
        interpolated(0.9),
        shape.group_by
    ));
}

/// `d` per product: units delivered in the period by the keys deliveries have, from the order
/// lines.
fn product_deliveries(sql: &mut Sql, shape: &Shape<'_>) {
    let filter = shape.filter;
    let mut d_cols: Vec<String> = Vec::new();
    for d in shape
        .q
        .grouping
        .dimensions()
        .iter()
        .filter(|d| delivery_key(**d))
    {
        d_cols.push(match d.bucket() {
            Some(b) => format!("{} AS period", sql.period(b, "ol.delivered_at")),
            None => format!("ol.{0} AS {0}", key_column(*d)),
        });
    }
    let mut d_where = vec!["ol.delivered_at IS NOT NULL".to_owned()];
    if let Some(from) = filter.from {
        d_where.push(format!("ol.delivered_at >= {}", sql.bind(from)));
    }
    if let Some(to) = filter.to {
        d_where.push(format!("ol.delivered_at < {}", sql.bind(to)));
    }
    if let Some(s) = filter.seller_id {
        d_where.push(format!("ol.seller_id = {}", sql.bind(s)));
    }
    if let Some(p) = filter.product_id {
        d_where.push(format!("ol.product_id = {}", sql.bind(p)));
    }
    d_cols.push(format!(
        "{} AS delivered",
        Sql::sum("ol.quantity - ol.cancelled_quantity")
    ));
    sql.push(&format!(
        ", d AS (SELECT {} FROM order_lines ol{}{})",
        d_cols.join(", "),
        where_clause(&d_where),
        group_by(&shape.d_keys)
    ));
}

/// `dd` and `d` per seller: units delivered by the keys deliveries have, the whole KST days
/// from the count kept per day and seller, the pieces of days at the period's edges from the
/// order lines.
fn seller_deliveries(sql: &mut Sql, shape: &Shape<'_>) {
    let filter = shape.filter;
    let span = DeliverySpan::of(filter.from, filter.to);
    let mut w = Vec::new();
    if let Some(first) = span.first_day {
        w.push(format!("day >= {}", sql.bind(first)));
    }
    if let Some(end) = span.end_day {
        w.push(format!("day < {}", sql.bind(end)));
    }
    if let Some(s) = filter.seller_id {
        w.push(format!("seller_id = {}", sql.bind(s)));
    }
    let mut branches = vec![format!(
        "SELECT day, seller_id, units FROM analytics_delivered_units{}",
        where_clause(&w)
    )];
    branches.extend(delivery_edges(sql, filter, &span));
    let mut d_cols: Vec<String> = Vec::new();
    for d in shape
        .q
        .grouping
        .dimensions()
        .iter()
        .filter(|d| delivery_key(**d))
    {
        d_cols.push(match d.bucket() {
            Some(b) => format!("{} AS period", sql.period_of_day(b, "day")),
            None => key_column(*d).to_owned(),
        });
    }
    d_cols.push(format!("{} AS delivered", Sql::sum("units")));
    sql.push(&format!(
        ", dd AS ({}), d AS (SELECT {} FROM dd{})",
        branches.join(" UNION ALL "),
        d_cols.join(", "),
        group_by(&shape.d_keys)
    ));
}

/// The units delivered in the pieces of days at the edges of the period, by KST day and
/// seller, from the order lines; nothing when the period is whole days.
fn delivery_edges(sql: &mut Sql, filter: &StatsFilter, span: &DeliverySpan) -> Option<String> {
    if span.pieces.is_empty() {
        return None;
    }
    let pieces: Vec<String> = span
        .pieces
        .iter()
        .map(|(from, to)| {
            format!(
                "(ol.delivered_at >= {} AND ol.delivered_at < {})",
                sql.bind(*from),
                sql.bind(*to)
            )
        })
        .collect();
    let mut w = vec![format!("({})", pieces.join(" OR "))];
    if let Some(s) = filter.seller_id {
        w.push(format!("ol.seller_id = {}", sql.bind(s)));
    }
    Some(format!(
        "SELECT {} AS day, ol.seller_id, \
         CAST(ol.quantity - ol.cancelled_quantity AS BIGINT) AS units \
         FROM order_lines ol{}",
        sql.period(TimeBucket::Day, "ol.delivered_at"),
        where_clause(&w)
    ))
}

/// `res`: claims and deliveries side by side. When every key is a delivery key, groups with
/// deliveries but no claims are rows too (FULL JOIN); else each group takes the deliveries of
/// its delivery keys (LEFT JOIN). Without keys both sides are one row.
fn results(sql: &mut Sql, shape: &Shape<'_>) {
    let join = if shape.keys.is_empty() {
        "CROSS JOIN d".to_owned()
    } else {
        let kind = if shape.q.grouping.partitions_deliveries() {
            "FULL JOIN"
        } else {
            "LEFT JOIN"
        };
        format!("{kind} d ON {}", keys_equal(&shape.d_keys, "d", "g"))
    };
    let mut from = format!("g {join}");
    if !sql.postgres() {
        let _ = write!(
            from,
            " LEFT JOIN pc ON {}",
            keys_equal(&shape.keys, "pc", "g")
        );
    }
    if shape.q.grouping.has(Dimension::Seller) {
        let _ = write!(
            from,
            " LEFT JOIN sellers s ON s.id = {}",
            shape.key_of("seller_id")
        );
    }
    if shape.q.grouping.has(Dimension::Product) {
        let _ = write!(
            from,
            " LEFT JOIN products pd ON pd.id = {}",
            shape.key_of("product_id")
        );
    }
    sql.push(&format!(
        ", res AS (SELECT {} FROM {from})",
        result_columns(sql, shape).join(", ")
    ));
}

/// The columns of a result row: every group key (NULL when not grouped by it), the measures
/// (0 for a group without claims), the deliveries and the percentiles.
fn result_columns(sql: &Sql, shape: &Shape<'_>) -> Vec<String> {
    let (text_null, int_null) = ("CAST(NULL AS TEXT)", "CAST(NULL AS BIGINT)");
    let grouping = &shape.q.grouping;
    let mut cols = vec![match grouping.bucket() {
        Some(_) => format!("{} AS period", sql.period_text(&shape.key_of("period"))),
        None => format!("{text_null} AS period"),
    }];
    cols.push(if grouping.has(Dimension::Seller) {
        format!(
            "{} AS seller_id, s.name AS seller_name",
            shape.key_of("seller_id")
        )
    } else {
        format!("{int_null} AS seller_id, {text_null} AS seller_name")
    });
    cols.push(if grouping.has(Dimension::Product) {
        format!(
            "{} AS product_id, pd.name AS product_name",
            shape.key_of("product_id")
        )
    } else {
        format!("{int_null} AS product_id, {text_null} AS product_name")
    });
    for (d, col) in [
        (Dimension::Type, "claim_type"),
        (Dimension::Reason, "reason"),
        (Dimension::Fault, "fault"),
    ] {
        cols.push(if grouping.has(d) {
            format!("g.{col} AS {col}")
        } else {
            format!("{text_null} AS {col}")
        });
    }
    let measures = ["claims", "claimed_units"]
        .into_iter()
        .chain(UNITS_BY_TYPE.iter().map(|(_, name)| *name))
        .chain(MONEY)
        .chain([
            "completed",
            "completed_at_once",
            "open_claims",
            "conversions",
            "rejections",
            "withdrawals",
        ]);
    let held = HoldReason::ALL.iter().map(|r| held_column(*r));
    cols.extend(
        measures
            .map(str::to_owned)
            .chain(held)
            .map(|col| format!("COALESCE(g.{col}, 0) AS {col}")),
    );
    cols.push("COALESCE(d.delivered, 0) AS delivered_units".to_owned());
    let pct = if sql.postgres() { "g" } else { "pc" };
    cols.push(format!("{pct}.median_hours AS median_hours"));
    cols.push(format!("{pct}.p90_hours AS p90_hours"));
    cols
}

/// `o`: units ordered in the period (the cancel rate's denominator) by the keys deliveries
/// have, from the lines of the orders placed in it; its keys are named `o_<key>`, its period
/// is text like the result's.
fn ordered_units(sql: &mut Sql, shape: &Shape<'_>) {
    let filter = shape.filter;
    // Grouped by the period's date; only the groups' dates become text.
    let (mut cols, mut outer): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for d in shape
        .q
        .grouping
        .dimensions()
        .iter()
        .filter(|d| delivery_key(**d))
    {
        match d.bucket() {
            Some(b) => {
                cols.push(format!("{} AS o_period", sql.period(b, "od.placed_at")));
                outer.push(format!("{} AS o_period", sql.period_text("o_period")));
            }
            None => {
                cols.push(format!("ol.{0} AS o_{0}", key_column(*d)));
                outer.push(format!("o_{}", key_column(*d)));
            }
        }
    }
    outer.push("ordered".to_owned());
    let by_keys = by_position(cols.len());
    let mut w = Vec::new();
    if let Some(from) = filter.from {
        w.push(format!("od.placed_at >= {}", sql.bind(from)));
    }
    if let Some(to) = filter.to {
        w.push(format!("od.placed_at < {}", sql.bind(to)));
    }
    if let Some(s) = filter.seller_id {
        w.push(format!("ol.seller_id = {}", sql.bind(s)));
    }
    if let Some(p) = filter.product_id {
        w.push(format!("ol.product_id = {}", sql.bind(p)));
    }
    cols.push(format!("{} AS ordered", Sql::sum("ol.quantity")));
    sql.push(&format!(
        ", o AS (SELECT {} FROM (SELECT {} FROM order_lines ol \
         JOIN orders od ON od.id = ol.order_id{}{by_keys}) x)",
        outer.join(", "),
        cols.join(", "),
        where_clause(&w)
    ));
}

/// The rows with their rates, units on hold and (when counted) ordered units, sorted: the
/// requested keys, then the group keys ascending; at most `limit`.
fn sorted_rows(sql: &mut Sql, shape: &Shape<'_>, limit: Option<u64>) {
    let q = shape.q;
    let real = sql.real();
    let mut order: Vec<String> = q
        .order
        .iter()
        .map(|o| {
            let dir = if o.descending { "DESC" } else { "ASC" };
            format!("{} {dir} NULLS LAST", order_column(o.field))
        })
        .collect();
    order.extend(
        [
            "period",
            "seller_id",
            "product_id",
            "claim_type",
            "reason",
            "fault",
        ]
        .map(|c| format!("{c} ASC")),
    );
    let on_hold = HoldReason::ALL
        .iter()
        .map(|r| format!("res.{}", held_column(*r)))
        .collect::<Vec<_>>()
        .join(" + ");
    let per = |units: &str, of: &str| format!("CAST({units} AS {real}) / NULLIF({of}, 0)");
    let (ordered, from) = if q.counts_ordered_units() {
        let join = if shape.d_keys.is_empty() {
            "CROSS JOIN o".to_owned()
        } else {
            let on: Vec<String> = shape
                .d_keys
                .iter()
                .map(|k| format!("o.o_{k} = res.{k}"))
                .collect();
            format!("LEFT JOIN o ON {}", on.join(" AND "))
        };
        ("COALESCE(o.ordered, 0)".to_owned(), format!("res {join}"))
    } else {
        ("CAST(NULL AS BIGINT)".to_owned(), "res".to_owned())
    };
    sql.push(&format!(
        " SELECT res.*, {} AS claim_rate, {} AS return_rate, {} AS exchange_rate, \
         {ordered} AS ordered_units, {} AS cancel_rate, {on_hold} AS on_hold \
         FROM {from} ORDER BY {}",
        per("res.claimed_units", "res.delivered_units"),
        per("res.returned_units", "res.delivered_units"),
        per("res.exchanged_units", "res.delivered_units"),
        per("res.cancelled_units", &ordered),
        order.join(", ")
    ));
    if let Some(n) = limit {
        let n = sql.bind(i64::try_from(n).unwrap_or(i64::MAX));
        sql.push(&format!(" LIMIT {n}"));
    }
}

/// `percentile_cont(p)` over the ranks `i` (from 0) of `n` hours in `pr`: the hours at rank
/// `⌊p·(n−1)⌋`, plus the fraction of the way to the next rank.
fn interpolated(p: f64) -> String {
    let pos = format!("({p} * (n - 1))");
    let lo = format!("CAST({pos} AS INTEGER)");
    let at_lo = format!("MAX(CASE WHEN i = {lo} THEN hours END)");
    let at_hi = format!("COALESCE(MAX(CASE WHEN i = {lo} + 1 THEN hours END), {at_lo})");
    format!("({at_lo} + ({pos} - {lo}) * ({at_hi} - {at_lo}))")
}

fn order_column(field: OrderField) -> &'static str {
    match field {
        OrderField::Period => "period",
        OrderField::Seller => "seller_name",
        OrderField::Product => "product_name",
        OrderField::Claims => "claims",
        OrderField::ClaimedUnits => "claimed_units",
        OrderField::DeliveredUnits => "delivered_units",
        OrderField::OrderedUnits => "ordered_units",
        OrderField::ClaimRate => "claim_rate",
        OrderField::CancelRate => "cancel_rate",
        OrderField::ReturnRate => "return_rate",
        OrderField::ExchangeRate => "exchange_rate",
        OrderField::RefundedCash => "refunded_cash",
        OrderField::RefundedPoints => "refunded_points",
        OrderField::FeesCharged => "fees_charged",
        OrderField::FeesRefunded => "fees_refunded",
        OrderField::MedianHoursToComplete => "median_hours",
        OrderField::P90HoursToComplete => "p90_hours",
        OrderField::OpenClaims => "open_claims",
        OrderField::OnHold => "on_hold",
        OrderField::Withdrawals => "withdrawals",
    }
}

/// One row of `claimStats` as the database returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRecord {
    /// The time bucket's first day, `YYYY-MM-DD`.
    pub period: Option<String>,
    /// The seller.
    pub seller_id: Option<i64>,
    /// Its name.
    pub seller_name: Option<String>,
    /// The product.
    pub product_id: Option<i64>,
    /// Its name.
    pub product_name: Option<String>,
    /// The claim type code.
    pub claim_type: Option<String>,
    /// The reason code.
    pub reason: Option<String>,
    /// The fault code.
    pub fault: Option<String>,
    /// Claims (not converted away).
    pub claims: i64,
    /// Their units.
    pub claimed_units: i64,
    /// Their units in cancels.
    pub cancelled_units: i64,
    /// Their units in returns.
    pub returned_units: i64,
    /// Their units in exchanges.
    pub exchanged_units: i64,
    /// Units delivered.
    pub delivered_units: i64,
    /// Units ordered, when counted.
    pub ordered_units: Option<i64>,
    /// Cash refunded for the goods.
    pub refunded_cash: i64,
    /// To cards.
    pub refunded_to_card: i64,
    /// To bank accounts.
    pub refunded_to_bank_transfer: i64,
    /// Not yet confirmed by the gateway.
    pub cash_refund_pending: i64,
    /// Points restored.
    pub refunded_points: i64,
    /// Fees charged.
    pub fees_charged: i64,
    /// Fees refunded.
    pub fees_refunded: i64,
    /// Claims completed.
    pub completed: i64,
    /// Claims completed at the instant of their request.
    pub completed_at_once: i64,
    /// Median hours to complete.
    pub median_hours: Option<f64>,
    /// p90 hours to complete.
    pub p90_hours: Option<f64>,
    /// Claims open now.
    pub open_claims: i64,
    /// Claims held now, per [`HoldReason::ALL`].
    pub held: Vec<(HoldReason, i64)>,
    /// Claims converted away.
    pub conversions: i64,
    /// Claims rejected.
    pub rejections: i64,
    /// Claims withdrawn.
    pub withdrawals: i64,
}

impl FromQueryResult for StatsRecord {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let int = |col: &str| res.try_get::<i64>(pre, col);
        let held = HoldReason::ALL
            .iter()
            .map(|r| Ok((*r, int(&held_column(*r))?)))
            .collect::<Result<Vec<_>, DbErr>>()?;
        Ok(StatsRecord {
            period: res.try_get(pre, "period")?,
            seller_id: res.try_get(pre, "seller_id")?,
            seller_name: res.try_get(pre, "seller_name")?,
            product_id: res.try_get(pre, "product_id")?,
            product_name: res.try_get(pre, "product_name")?,
            claim_type: res.try_get(pre, "claim_type")?,
            reason: res.try_get(pre, "reason")?,
            fault: res.try_get(pre, "fault")?,
            claims: int("claims")?,
            claimed_units: int("claimed_units")?,
            cancelled_units: int("cancelled_units")?,
            returned_units: int("returned_units")?,
            exchanged_units: int("exchanged_units")?,
            delivered_units: int("delivered_units")?,
            ordered_units: res.try_get(pre, "ordered_units")?,
            refunded_cash: int("refunded_cash")?,
            refunded_to_card: int("refunded_to_card")?,
            refunded_to_bank_transfer: int("refunded_to_bank_transfer")?,
            cash_refund_pending: int("cash_refund_pending")?,
            refunded_points: int("refunded_points")?,
            fees_charged: int("fees_charged")?,
            fees_refunded: int("fees_refunded")?,
            completed: int("completed")?,
            completed_at_once: int("completed_at_once")?,
            median_hours: res.try_get(pre, "median_hours")?,
            p90_hours: res.try_get(pre, "p90_hours")?,
            open_claims: int("open_claims")?,
            held,
            conversions: int("conversions")?,
            rejections: int("rejections")?,
            withdrawals: int("withdrawals")?,
        })
    }
}

/// Adds units delivered to the count kept per KST day and seller (`domain::analytics::deliveries`
/// says what), in the order given: sorted by seller, so that two deliveries never wait for each
/// other's rows in opposite orders.
pub async fn record_deliveries(
    db: &impl ConnectionTrait,
    counts: &[(NaiveDate, i64, i64)],
) -> Result<(), DbErr> {
    for (day, seller, units) in counts {
        let mut sql = Sql::new(db.get_database_backend());
        let text = format!(
            "INSERT INTO analytics_delivered_units (day, seller_id, units) VALUES ({}, {}, {}) \
             ON CONFLICT (day, seller_id) \
             DO UPDATE SET units = analytics_delivered_units.units + excluded.units",
            sql.bind(*day),
            sql.bind(*seller),
            sql.bind(*units)
        );
        sql.push(&text);
        db.execute(sql.statement()).await?;
    }
    Ok(())
}

/// Begins the read-only transaction the `claimStats` statement runs in. On PostgreSQL it turns
/// JIT compilation off (compiling this wide statement costs more than it saves: about a second
/// in the benchmark) and gives its sorts and hashes 64 MB, so that a year of groups is sorted
/// in memory rather than on disk.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    if matches!(db.get_database_backend(), DbBackend::Postgres) {
        txn.execute_unprepared(
            "SET TRANSACTION READ ONLY; SET LOCAL jit = off; SET LOCAL work_mem = '64MB'",
        )
        .await?;
    }
    Ok(txn)
}

/// The statement [`claim_stats`] runs (for `EXPLAIN` in the benchmark).
pub fn claim_stats_sql(backend: DbBackend, q: &StatsQuery, limit: Option<u64>) -> Statement {
    claim_stats_statement(backend, q, limit)
}

/// `claimStats`: at most `limit` rows (one more tells the caller there were more).
pub async fn claim_stats(
    db: &impl ConnectionTrait,
    q: &StatsQuery,
    limit: u64,
) -> Result<Vec<StatsRecord>, DbErr> {
    let stmt = claim_stats_statement(db.get_database_backend(), q, Some(limit));
    StatsRecord::find_by_statement(stmt).all(db).await
}

/// Every row of `claimStats`, streamed from the database as it produces them (the CSV export).
pub async fn stream_claim_stats<'a, C>(
    db: &'a C,
    q: &StatsQuery,
) -> Result<impl futures_util::Stream<Item = Result<StatsRecord, DbErr>> + 'a, DbErr>
where
    C: ConnectionTrait + StreamTrait,
{
    let stmt = claim_stats_statement(db.get_database_backend(), q, None);
    StatsRecord::find_by_statement(stmt).stream(db).await
}

/// One claim as the claims export shows it.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct ClaimExportRecord {
    /// Claim id (the keyset).
    pub id: i64,
    /// 클레임 번호.
    pub claim_number: String,
    /// 주문 번호.
    pub order_number: String,
    /// Type code.
    pub claim_type: String,
    /// Status code.
    pub status: String,
    /// Reason code.
    pub reason: String,
    /// Fault code.
    pub fault: String,
    /// The seller.
    pub seller_id: i64,
    /// Its name.
    pub seller_name: String,
    /// `NONE`, `HOLD_PENDING` or `HELD`.
    pub hold_phase: String,
    /// The hold's reason code.
    pub hold_reason: Option<String>,
    /// Requested at.
    pub requested_at: DateTime<Utc>,
    /// Closed at (terminal status).
    pub closed_at: Option<DateTime<Utc>>,
    /// The claim a conversion opened from this one.
    pub converted_to: Option<String>,
    /// The claim this one was converted from.
    pub converted_from: Option<String>,
    /// Units claimed.
    pub units: i64,
    /// Cash refunded for the goods.
    pub refunded_cash: i64,
    /// Points restored.
    pub refunded_points: i64,
    /// Fees charged.
    pub fees_charged: i64,
    /// Fees refunded.
    pub fees_refunded: i64,
    /// Hours from request to completion, when it completed.
    pub hours_to_complete: Option<f64>,
    /// With a product filter: the product's units in the claim...
    pub product_units: Option<i64>,
    /// ...and its shares of the claim's money, as `claimStats` splits it.
    pub product_refunded_cash: Option<i64>,
    /// The product's share of the points restored.
    pub product_refunded_points: Option<i64>,
    /// The product's share of the fees charged.
    pub product_fees_charged: Option<i64>,
    /// The product's share of the fees refunded.
    pub product_fees_refunded: Option<i64>,
}

/// The [`MONEY`] measures the claims export shows (in [`MONEY`] order).
const EXPORTED_MONEY: [&str; 4] = [
    "refunded_cash",
    "refunded_points",
    "fees_charged",
    "fees_refunded",
];

/// A newest-first page of the claims export: claims with an id below `before_id` (all when
/// `None`), at most `limit`. With a product filter, each claim also gets the product's units
/// and its shares of the money, split exactly as `claimStats` splits them (the same weights).
pub async fn claims_export_page(
    db: &impl ConnectionTrait,
    filter: &Scoped,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ClaimExportRecord>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    let mut conditions = claim_conditions(&mut sql, filter.filter(), "c");
    if let Some(b) = before_id {
        conditions.push(format!("c.id < {}", sql.bind(b)));
    }
    let limit = sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    // The page first, so that the product weights are worked out for its claims only.
    sql.push(&format!(
        "WITH page AS (SELECT c.id FROM claims c{} ORDER BY c.id DESC LIMIT {limit})",
        where_clause(&conditions)
    ));
    let money: Vec<(&str, String)> = claim_money()
        .into_iter()
        .filter(|(name, _)| EXPORTED_MONEY.contains(name))
        .collect();
    let (product_cols, product_join) = match filter.filter().product_id {
        Some(p) => {
            sql.push(", ");
            weights(
                &mut sql,
                "claim_items ci JOIN page ON page.id = ci.claim_id",
                &[],
            );
            let shares: Vec<String> = money
                .iter()
                .map(|(name, m)| format!("{} AS product_{name}", product_share(m)))
                .collect();
            (
                format!("iw.units AS product_units, {}", shares.join(", ")),
                format!(
                    " LEFT JOIN iw ON iw.claim_id = c.id AND iw.product_id = {}",
                    sql.bind(p)
                ),
            )
        }
        None => (
            ["units"]
                .iter()
                .chain(EXPORTED_MONEY.iter())
                .map(|name| format!("CAST(NULL AS BIGINT) AS product_{name}"))
                .collect::<Vec<_>>()
                .join(", "),
            String::new(),
        ),
    };
    let text = format!(
        " SELECT c.id, c.claim_number, o.order_number, c.claim_type, c.status, c.reason, \
         c.fault, c.seller_id, s.name AS seller_name, c.hold_phase, c.hold_reason, \
         c.requested_at, c.closed_at, ct.claim_number AS converted_to, \
         cf.claim_number AS converted_from, \
         (SELECT {units} FROM claim_items ci WHERE ci.claim_id = c.id) AS units, \
         {money}, {hours} AS hours_to_complete, {product_cols} \
         FROM page JOIN claims c ON c.id = page.id JOIN orders o ON o.id = c.order_id \
         JOIN sellers s ON s.id = c.seller_id LEFT JOIN refunds r ON r.claim_id = c.id \
         LEFT JOIN claims ct ON ct.id = c.converted_to_id \
         LEFT JOIN claims cf ON cf.id = c.converted_from_id{product_join} \
         ORDER BY c.id DESC",
        units = Sql::sum("ci.quantity"),
        money = money
            .iter()
            .map(|(name, m)| format!("{m} AS {name}"))
            .collect::<Vec<_>>()
            .join(", "),
        hours = hours_to_complete(&sql, "c"),
    );
    sql.push(&text);
    ClaimExportRecord::find_by_statement(sql.statement())
        .all(db)
        .await
}

/// The units of some claims by product, as (claim id, product name, option name, units).
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct ClaimedProduct {
    /// The claim.
    pub claim_id: i64,
    /// The product's name at checkout.
    pub product_name: String,
    /// The option's name at checkout.
    pub option_name: String,
    /// Units claimed.
    pub quantity: i64,
}

/// What some claims cover, line by line, in claim and item order.
pub async fn claimed_products(
    db: &impl ConnectionTrait,
    claim_ids: &[i64],
) -> Result<Vec<ClaimedProduct>, DbErr> {
    if claim_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(db.get_database_backend());
    let ids: Vec<String> = claim_ids.iter().map(|id| sql.bind(*id)).collect();
    let text = format!(
        "SELECT ci.claim_id, ol.product_name, ol.option_name, CAST(ci.quantity AS BIGINT) AS quantity \
         FROM claim_items ci JOIN order_lines ol ON ol.id = ci.line_id \
         WHERE ci.claim_id IN ({}) ORDER BY ci.claim_id, ci.id",
        ids.join(", ")
    );
    sql.push(&text);
    ClaimedProduct::find_by_statement(sql.statement())
        .all(db)
        .await
}

/// The open claims the filter covers, oldest request first, at most `limit`.
pub async fn oldest_open_claims(
    db: &impl ConnectionTrait,
    filter: &Scoped,
    limit: u64,
) -> Result<Vec<claim::Model>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    let mut conditions = claim_conditions(&mut sql, filter.filter(), "c");
    conditions.push(format!("c.status IN ({})", codes(&status_codes(is_open))));
    let limit = sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let text = format!(
        "SELECT c.* FROM claims c{} ORDER BY c.requested_at ASC, c.id ASC LIMIT {limit}",
        where_clause(&conditions)
    );
    sql.push(&text);
    claim::Entity::find()
        .from_raw_sql(sql.statement())
        .all(db)
        .await
}

/// Parses the `YYYY-MM-DD` of a period.
pub fn parse_period(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::actor::Actor;
    use crate::domain::analytics::{scope, Grouping};

    fn query(actor: Actor, filter: StatsFilter, dims: &[Dimension]) -> StatsQuery {
        StatsQuery {
            filter: scope(actor, filter).unwrap(),
            grouping: Grouping::new(dims).unwrap(),
            order: Vec::new(),
            with_ordered_units: true,
        }
    }

    #[test]
    fn request_values_are_bound_never_written_into_the_text() {
        let filter = StatsFilter {
            seller_id: Some(424_242),
            product_id: Some(737_373),
            ..StatsFilter::default()
        };
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            for dims in [
                &[][..],
                &[Dimension::Seller, Dimension::Day],
                &[Dimension::Product],
            ] {
                let stmt = claim_stats_statement(
                    backend,
                    &query(Actor::Analyst, filter.clone(), dims),
                    Some(10),
                );
                assert!(!stmt.sql.contains("424242") && !stmt.sql.contains("737373"));
                let values = stmt.values.unwrap().0;
                assert!(values.contains(&Value::BigInt(Some(424_242))));
                let placeholders = (1..=values.len()).all(|n| stmt.sql.contains(&format!("${n}")));
                assert!(placeholders, "every value has its placeholder");
            }
        }
        // A seller's own figures, whatever it asks for.
        let stmt = claim_stats_statement(
            DbBackend::Postgres,
            &query(Actor::Seller(9), filter, &[]),
            None,
        );
        assert!(stmt.values.unwrap().0.contains(&Value::BigInt(Some(-1))));
    }

    #[test]
    fn deliveries_count_whole_days_and_read_the_edges_from_the_lines() {
        use chrono::TimeZone;
        // KST midnight is 15:00 UTC the day before.
        let at = |day, hour| Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap();
        let whole = StatsFilter {
            from: Some(at(1, 15)),
            to: Some(at(3, 15)),
            ..StatsFilter::default()
        };
        let ragged = StatsFilter {
            from: Some(at(2, 5)),
            ..whole.clone()
        };
        let sql = |f: StatsFilter, dims: &[Dimension]| {
            claim_stats_statement(DbBackend::Sqlite, &query(Actor::Analyst, f, dims), None).sql
        };
        let by_seller = sql(whole.clone(), &[Dimension::Seller]);
        assert!(by_seller.contains("FROM analytics_delivered_units WHERE day >= $"));
        assert!(!by_seller.contains("UNION ALL"), "{by_seller}");
        let by_seller = sql(ragged, &[Dimension::Seller]);
        assert!(by_seller.contains("UNION ALL SELECT date(ol.delivered_at, '+9 hours') AS day"));
        // Groups without claims are rows only when every key partitions deliveries too.
        assert!(by_seller.contains("FROM g FULL JOIN d ON d.seller_id = g.seller_id"));
        let by_reason = sql(whole.clone(), &[Dimension::Seller, Dimension::Reason]);
        assert!(by_reason.contains("FROM g LEFT JOIN d ON d.seller_id = g.seller_id"));
        // Per product, deliveries come from the order lines.
        let by_product = sql(whole, &[Dimension::Product]);
        assert!(by_product.contains(", d AS (SELECT ol.product_id AS product_id"));
        assert!(!by_product.contains("analytics_delivered_units"));
    }
}
