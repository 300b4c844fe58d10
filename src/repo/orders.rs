//! Orders and what hangs off them: shipping groups, lines, tenders, coupons, shipments.
//!
//! Lists are loaded per page and nested data per batch of parent ids, so a page costs a fixed
//! number of statements whatever its size.

use chrono::{DateTime, Utc};
use entity::{
    claim, order, order_coupon, order_line, order_number_counter, order_shipping_group, shipment,
    tender,
};
use sea_orm::sea_query::{Expr, LockType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityName, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationDef, Select, Set,
};

use crate::domain::actor::Scope;
use crate::domain::page::Cursor;

/// Draws the next order sequence number of `day`: one upsert, atomic on SQLite and PostgreSQL,
/// so replicas never hand out the same number.
pub async fn next_order_sequence(db: &impl ConnectionTrait, day: &str) -> Result<i64, DbErr> {
    use order_number_counter::Column as C;
    let stmt = Query::insert()
        .into_table(order_number_counter::Entity)
        .columns([C::Day, C::LastValue])
        .values_panic([day.into(), 1i64.into()])
        .on_conflict(
            OnConflict::column(C::Day)
                .value(
                    C::LastValue,
                    Expr::col((order_number_counter::Entity, C::LastValue)).add(1),
                )
                .to_owned(),
        )
        .returning_col(C::LastValue)
        .to_owned();
    let row = db
        .query_one(db.get_database_backend().build(&stmt))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("order number counter".into()))?;
    row.try_get("", "last_value")
}

/// Inserts a new order row and returns its id.
pub async fn insert_order(
    db: &impl ConnectionTrait,
    row: order::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(order::Entity::insert(row).exec(db).await?.last_insert_id)
}

/// Inserts shipping groups, lines, tenders and the coupon of a new order.
pub async fn insert_order_parts(
    db: &impl ConnectionTrait,
    groups: Vec<order_shipping_group::ActiveModel>,
    lines: Vec<order_line::ActiveModel>,
    tenders: Vec<tender::ActiveModel>,
    coupon: Option<order_coupon::ActiveModel>,
) -> Result<(), DbErr> {
    order_shipping_group::Entity::insert_many(groups)
        .exec(db)
        .await?;
    order_line::Entity::insert_many(lines).exec(db).await?;
    if !tenders.is_empty() {
        tender::Entity::insert_many(tenders).exec(db).await?;
    }
    if let Some(c) = coupon {
        order_coupon::Entity::insert(c).exec(db).await?;
    }
    Ok(())
}

/// An order by number; with `lock`, the row is locked for the transaction (PostgreSQL
/// `FOR UPDATE`; SQLite's write transaction already excludes other writers).
pub async fn order_by_number(
    db: &impl ConnectionTrait,
    number: &str,
    lock: bool,
) -> Result<Option<order::Model>, DbErr> {
    let q = order::Entity::find().filter(order::Column::OrderNumber.eq(number));
    if lock { q.lock_exclusive() } else { q }.one(db).await
}

/// The order of the claim numbered `claim_number`, locked like [`order_by_number`], with its
/// lines: one statement (the lines come in the order of [`lines_of_orders`]).
pub async fn order_of_claim_with_lines(
    db: &impl ConnectionTrait,
    claim_number: &str,
) -> Result<Option<(order::Model, Vec<order_line::Model>)>, DbErr> {
    let lines_of_order: RelationDef = order_line::Entity::belongs_to(order::Entity)
        .from(order_line::Column::OrderId)
        .to(order::Column::Id)
        .into();
    let mut q = order::Entity::find()
        .filter(
            order::Column::Id.in_subquery(
                Query::select()
                    .column(claim::Column::OrderId)
                    .from(claim::Entity)
                    .and_where(claim::Column::ClaimNumber.eq(claim_number))
                    .to_owned(),
            ),
        )
        .join(JoinType::InnerJoin, lines_of_order.rev())
        .select_with(order_line::Entity)
        .order_by_asc(order_line::Column::LineNo);
    // The order is locked as by the order-level paths; its lines are locked too, so that a
    // statement that waited for the lock returns the lines as the previous holder left them
    // (PostgreSQL re-reads locked rows after the wait, and only those).
    QuerySelect::query(&mut q).lock_with_tables(
        LockType::Update,
        [order::Entity.table_ref(), order_line::Entity.table_ref()],
    );
    Ok(q.all(db).await?.into_iter().next())
}

/// An order by id, optionally locked like [`order_by_number`].
pub async fn order_by_id(
    db: &impl ConnectionTrait,
    id: i64,
    lock: bool,
) -> Result<Option<order::Model>, DbErr> {
    let q = order::Entity::find_by_id(id);
    if lock { q.lock_exclusive() } else { q }.one(db).await
}

/// Orders by id.
pub async fn orders_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<order::Model>, DbErr> {
    order::Entity::find()
        .filter(order::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// True when the seller has a shipping group in the order.
pub async fn seller_in_order(
    db: &impl ConnectionTrait,
    order_id: i64,
    seller_id: i64,
) -> Result<bool, DbErr> {
    Ok(order_shipping_group::Entity::find()
        .filter(order_shipping_group::Column::OrderId.eq(order_id))
        .filter(order_shipping_group::Column::SellerId.eq(seller_id))
        .count(db)
        .await?
        > 0)
}

/// Lines of some orders, optionally only one seller's, in line order.
pub async fn lines_of_orders(
    db: &impl ConnectionTrait,
    order_ids: &[i64],
    seller: Option<i64>,
) -> Result<Vec<order_line::Model>, DbErr> {
    order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(order_ids.iter().copied()))
        .apply_if(seller, |q, s| q.filter(order_line::Column::SellerId.eq(s)))
        .order_by_asc(order_line::Column::OrderId)
        .order_by_asc(order_line::Column::LineNo)
        .all(db)
        .await
}

/// Lines by id.
pub async fn lines_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<order_line::Model>, DbErr> {
    order_line::Entity::find()
        .filter(order_line::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(order_line::Column::LineNo)
        .all(db)
        .await
}

/// Shipping groups of some orders, optionally only one seller's.
pub async fn groups_of_orders(
    db: &impl ConnectionTrait,
    order_ids: &[i64],
    seller: Option<i64>,
) -> Result<Vec<order_shipping_group::Model>, DbErr> {
    order_shipping_group::Entity::find()
        .filter(order_shipping_group::Column::OrderId.is_in(order_ids.iter().copied()))
        .apply_if(seller, |q, s| {
            q.filter(order_shipping_group::Column::SellerId.eq(s))
        })
        .order_by_asc(order_shipping_group::Column::Id)
        .all(db)
        .await
}

/// A tender by id.
pub async fn tender_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<tender::Model>, DbErr> {
    tender::Entity::find_by_id(id).one(db).await
}

/// Tenders of some orders.
pub async fn tenders_of_orders(
    db: &impl ConnectionTrait,
    order_ids: &[i64],
) -> Result<Vec<tender::Model>, DbErr> {
    tender::Entity::find()
        .filter(tender::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(tender::Column::Id)
        .all(db)
        .await
}

/// Coupons of some orders.
pub async fn coupons_of_orders(
    db: &impl ConnectionTrait,
    order_ids: &[i64],
) -> Result<Vec<order_coupon::Model>, DbErr> {
    order_coupon::Entity::find()
        .filter(order_coupon::Column::OrderId.is_in(order_ids.iter().copied()))
        .all(db)
        .await
}

/// Shipments of some orders, optionally only one seller's.
pub async fn shipments_of_orders(
    db: &impl ConnectionTrait,
    order_ids: &[i64],
    seller: Option<i64>,
) -> Result<Vec<shipment::Model>, DbErr> {
    shipment::Entity::find()
        .filter(shipment::Column::OrderId.is_in(order_ids.iter().copied()))
        .apply_if(seller, |q, s| q.filter(shipment::Column::SellerId.eq(s)))
        .order_by_asc(shipment::Column::Id)
        .all(db)
        .await
}

/// Shipments by id.
pub async fn shipments_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<shipment::Model>, DbErr> {
    shipment::Entity::find()
        .filter(shipment::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Inserts a shipment and returns its id.
pub async fn insert_shipment(
    db: &impl ConnectionTrait,
    row: shipment::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(shipment::Entity::insert(row).exec(db).await?.last_insert_id)
}

/// Marks shipments delivered.
pub async fn mark_shipments_delivered(
    db: &impl ConnectionTrait,
    ids: &[i64],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    shipment::Entity::update_many()
        .col_expr(shipment::Column::DeliveredAt, Expr::value(at))
        .filter(shipment::Column::Id.is_in(ids.iter().copied()))
        .filter(shipment::Column::DeliveredAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Updates lines with the changes in `set` (status, timestamps, shipment).
pub async fn update_lines(
    db: &impl ConnectionTrait,
    ids: &[i64],
    set: order_line::ActiveModel,
) -> Result<(), DbErr> {
    order_line::Entity::update_many()
        .set(set)
        .filter(order_line::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Updates an order row and bumps its version.
pub async fn update_order(
    db: &impl ConnectionTrait,
    id: i64,
    mut set: order::ActiveModel,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    set.updated_at = Set(now);
    order::Entity::update_many()
        .set(set)
        .col_expr(
            order::Column::Version,
            Expr::col(order::Column::Version).add(1),
        )
        .filter(order::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The tender holding the gateway's payment key `key`, if any.
pub async fn tender_by_gateway_reference(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<tender::Model>, DbErr> {
    tender::Entity::find()
        .filter(tender::Column::GatewayReference.eq(key))
        .one(db)
        .await
}

/// Updates a tender row (a payment confirmed, a deposit recorded, a virtual account issued).
pub async fn update_tender(
    db: &impl ConnectionTrait,
    id: i64,
    set: tender::ActiveModel,
) -> Result<(), DbErr> {
    tender::Entity::update_many()
        .set(set)
        .filter(tender::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Delivered lines whose purchase confirmation is due: delivered before `cutoff`, with no
/// units in an open claim. At most `limit`.
pub async fn lines_due_for_confirmation(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<order_line::Model>, DbErr> {
    order_line::Entity::find()
        .filter(order_line::Column::Status.eq("DELIVERED"))
        .filter(order_line::Column::DeliveredAt.lte(cutoff))
        .filter(order_line::Column::ClaimedQuantity.eq(0))
        .order_by_asc(order_line::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// How a page of orders is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSort {
    /// By time placed, then id.
    PlacedAt,
    /// By order number (which also sorts by day).
    OrderNumber,
}

/// Filters of the orders list; every one narrows.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Order status.
    pub status: Option<String>,
    /// Orders with lines of this seller.
    pub seller_id: Option<i64>,
    /// Orders of this customer.
    pub customer_id: Option<i64>,
    /// One order number.
    pub order_number: Option<String>,
    /// Placed at or after.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before.
    pub placed_to: Option<DateTime<Utc>>,
}

/// The orders a scope may read: a customer's own, a seller's (those with its lines), all, or
/// none (`None`: answer without a query).
fn scoped(scope: Scope, filter: &OrderFilter) -> Option<Select<order::Entity>> {
    let q = filtered(filter);
    match scope {
        Scope::All => Some(q),
        Scope::Customer(id) => Some(q.filter(order::Column::CustomerId.eq(id))),
        Scope::Seller(id) => Some(q.filter(with_seller(id))),
        Scope::Nothing => None,
    }
}

/// `id IN (orders with a shipping group of the seller)`.
fn with_seller(seller_id: i64) -> sea_orm::sea_query::SimpleExpr {
    order::Column::Id.in_subquery(
        Query::select()
            .column(order_shipping_group::Column::OrderId)
            .from(order_shipping_group::Entity)
            .and_where(order_shipping_group::Column::SellerId.eq(seller_id))
            .to_owned(),
    )
}

/// The orders matching the filter, whoever may read them.
fn filtered(filter: &OrderFilter) -> Select<order::Entity> {
    let mut q = order::Entity::find();
    if let Some(s) = &filter.status {
        q = q.filter(order::Column::Status.eq(s.as_str()));
    }
    if let Some(c) = filter.customer_id {
        q = q.filter(order::Column::CustomerId.eq(c));
    }
    if let Some(n) = &filter.order_number {
        q = q.filter(order::Column::OrderNumber.eq(n.as_str()));
    }
    if let Some(f) = filter.placed_from {
        q = q.filter(order::Column::PlacedAt.gte(f));
    }
    if let Some(t) = filter.placed_to {
        q = q.filter(order::Column::PlacedAt.lt(t));
    }
    if let Some(s) = filter.seller_id {
        q = q.filter(with_seller(s));
    }
    q
}

/// Counts the orders in scope that match.
pub async fn count_orders(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &OrderFilter,
) -> Result<u64, DbErr> {
    match scoped(scope, filter) {
        Some(q) => q.count(db).await,
        None => Ok(0),
    }
}

/// Where a page of orders starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct OrderPage<'a> {
    /// The sort key.
    pub sort: OrderSort,
    /// Largest key first.
    pub descending: bool,
    /// Start after this position (in this sort and direction).
    pub after: Option<&'a Cursor>,
    /// At most this many rows.
    pub limit: u64,
}

/// One page of the orders in scope (keyset pagination, so deep pages cost the same as the
/// first).
pub async fn page_orders(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &OrderFilter,
    page: OrderPage<'_>,
) -> Result<Vec<order::Model>, DbErr> {
    let Some(mut q) = scoped(scope, filter) else {
        return Ok(Vec::new());
    };
    let OrderPage {
        sort,
        descending,
        after,
        limit,
    } = page;
    let order = if descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    if let Some(c) = after {
        q = q.filter(after_cursor(sort, descending, c)?);
    }
    let col = match sort {
        OrderSort::PlacedAt => order::Column::PlacedAt,
        OrderSort::OrderNumber => order::Column::OrderNumber,
    };
    q.order_by(col, order.clone())
        .order_by(order::Column::Id, order)
        .limit(limit)
        .all(db)
        .await
}

/// The rows past `c` in the sort and direction: a later key, or the same key and a later id.
fn after_cursor(sort: OrderSort, descending: bool, c: &Cursor) -> Result<Condition, DbErr> {
    let key_cmp = |col: order::Column, v: sea_orm::Value| {
        let id = order::Column::Id;
        if descending {
            Condition::any()
                .add(col.lt(v.clone()))
                .add(Condition::all().add(col.eq(v)).add(id.lt(c.id)))
        } else {
            Condition::any()
                .add(col.gt(v.clone()))
                .add(Condition::all().add(col.eq(v)).add(id.gt(c.id)))
        }
    };
    let key = c.key.clone().unwrap_or_default();
    Ok(match sort {
        OrderSort::PlacedAt => {
            let at = DateTime::parse_from_rfc3339(&key)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| DbErr::Custom(format!("bad cursor: {e}")))?;
            key_cmp(order::Column::PlacedAt, at.into())
        }
        OrderSort::OrderNumber => key_cmp(order::Column::OrderNumber, key.into()),
    })
}

/// The cursor of an order in a sort.
pub fn cursor_of(o: &order::Model, sort: OrderSort) -> Cursor {
    Cursor {
        key: Some(match sort {
            OrderSort::PlacedAt => o
                .placed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            OrderSort::OrderNumber => o.order_number.clone(),
        }),
        id: o.id,
    }
}
