//! Claims, their items and timeline, refunds and refund parts; the order's refund ledger.

use chrono::{DateTime, Utc};
use entity::{
    claim, claim_event, claim_item, customer, order_coupon, order_line, order_shipping_group,
    points_ledger, product_option, refund, refund_part, tender,
};
use sea_orm::sea_query::Expr;

use crate::domain::claim::RefundStatus;
use crate::domain::order::TenderStatus;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationDef, Set,
};

use crate::domain::actor::Scope;

/// The claim numbered `number` with its items (by id): one statement.
pub async fn claim_with_items(
    db: &impl ConnectionTrait,
    number: &str,
) -> Result<Option<(claim::Model, Vec<claim_item::Model>)>, DbErr> {
    let items_of_claim: RelationDef = claim_item::Entity::belongs_to(claim::Entity)
        .from(claim_item::Column::ClaimId)
        .to(claim::Column::Id)
        .into();
    Ok(claim::Entity::find()
        .filter(claim::Column::ClaimNumber.eq(number))
        .join(JoinType::LeftJoin, items_of_claim.rev())
        .select_with(claim_item::Entity)
        .order_by_asc(claim_item::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .next())
}

/// Inserts claim items.
pub async fn insert_items(
    db: &impl ConnectionTrait,
    rows: Vec<claim_item::ActiveModel>,
) -> Result<(), DbErr> {
    claim_item::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// A claim by number.
pub async fn claim_by_number(
    db: &impl ConnectionTrait,
    number: &str,
) -> Result<Option<claim::Model>, DbErr> {
    claim::Entity::find()
        .filter(claim::Column::ClaimNumber.eq(number))
        .one(db)
        .await
}

/// Claims by id.
pub async fn claims_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<claim::Model>, DbErr> {
    claim::Entity::find()
        .filter(claim::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Claims of some orders, optionally one seller's, oldest first.
pub async fn claims_of_orders(
    db: &impl ConnectionTrait,
    order_ids: &[i64],
    seller: Option<i64>,
) -> Result<Vec<claim::Model>, DbErr> {
    let mut q =
        claim::Entity::find().filter(claim::Column::OrderId.is_in(order_ids.iter().copied()));
    if let Some(s) = seller {
        q = q.filter(claim::Column::SellerId.eq(s));
    }
    q.order_by_asc(claim::Column::Id).all(db).await
}

/// A filtered, newest-first page of the claims in scope: claims with an id below `before_id`
/// (all when `None`), at most `limit`.
pub async fn page_claims(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &ClaimFilter,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<claim::Model>, DbErr> {
    let mut q = claim::Entity::find();
    match scope {
        Scope::All => {}
        Scope::Customer(id) => q = q.filter(claim::Column::CustomerId.eq(id)),
        Scope::Seller(id) => q = q.filter(claim::Column::SellerId.eq(id)),
        Scope::Nothing => return Ok(Vec::new()),
    }
    if let Some(s) = filter.seller_id {
        q = q.filter(claim::Column::SellerId.eq(s));
    }
    if let Some(t) = &filter.claim_type {
        q = q.filter(claim::Column::ClaimType.eq(t.as_str()));
    }
    if let Some(s) = &filter.status {
        q = q.filter(claim::Column::Status.eq(s.as_str()));
    }
    if let Some(r) = &filter.reason {
        q = q.filter(claim::Column::Reason.eq(r.as_str()));
    }
    if let Some(held) = filter.held {
        q = if held {
            q.filter(claim::Column::HoldPhase.ne("NONE"))
        } else {
            q.filter(claim::Column::HoldPhase.eq("NONE"))
        };
    }
    if let Some(f) = filter.requested_from {
        q = q.filter(claim::Column::RequestedAt.gte(f));
    }
    if let Some(t) = filter.requested_to {
        q = q.filter(claim::Column::RequestedAt.lt(t));
    }
    if let Some(b) = before_id {
        q = q.filter(claim::Column::Id.lt(b));
    }
    q.order_by_desc(claim::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Filters of the claims list (whose claims: a [`Scope`]).
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    /// One seller's claims.
    pub seller_id: Option<i64>,
    /// CANCEL, RETURN or EXCHANGE.
    pub claim_type: Option<String>,
    /// A status.
    pub status: Option<String>,
    /// A reason.
    pub reason: Option<String>,
    /// On hold (pending or in force) or not.
    pub held: Option<bool>,
    /// Requested at or after.
    pub requested_from: Option<DateTime<Utc>>,
    /// Requested before.
    pub requested_to: Option<DateTime<Utc>>,
}

/// Items of some claims.
pub async fn items_of_claims(
    db: &impl ConnectionTrait,
    claim_ids: &[i64],
) -> Result<Vec<claim_item::Model>, DbErr> {
    claim_item::Entity::find()
        .filter(claim_item::Column::ClaimId.is_in(claim_ids.iter().copied()))
        .order_by_asc(claim_item::Column::Id)
        .all(db)
        .await
}

/// Timeline events of some claims, in order.
pub async fn events_of_claims(
    db: &impl ConnectionTrait,
    claim_ids: &[i64],
) -> Result<Vec<claim_event::Model>, DbErr> {
    claim_event::Entity::find()
        .filter(claim_event::Column::ClaimId.is_in(claim_ids.iter().copied()))
        .order_by_asc(claim_event::Column::ClaimId)
        .order_by_asc(claim_event::Column::Version)
        .all(db)
        .await
}

/// Appends a timeline event.
pub async fn insert_event(
    db: &impl ConnectionTrait,
    row: claim_event::ActiveModel,
) -> Result<(), DbErr> {
    claim_event::Entity::insert(row).exec(db).await?;
    Ok(())
}

/// Changes a line's claimed, cancelled and returned counts by the deltas and sets its status.
pub async fn adjust_line(
    db: &impl ConnectionTrait,
    line_id: i64,
    claimed: i32,
    cancelled: i32,
    returned: i32,
    status: Option<&str>,
) -> Result<(), DbErr> {
    let mut q = order_line::Entity::update_many()
        .col_expr(
            order_line::Column::ClaimedQuantity,
            Expr::col(order_line::Column::ClaimedQuantity).add(claimed),
        )
        .col_expr(
            order_line::Column::CancelledQuantity,
            Expr::col(order_line::Column::CancelledQuantity).add(cancelled),
        )
        .col_expr(
            order_line::Column::ReturnedQuantity,
            Expr::col(order_line::Column::ReturnedQuantity).add(returned),
        );
    if let Some(s) = status {
        q = q.col_expr(order_line::Column::Status, Expr::value(s));
    }
    q.filter(order_line::Column::Id.eq(line_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Puts units back in stock (or takes them, with a negative count).
pub async fn add_stock(
    db: &impl ConnectionTrait,
    option_id: i64,
    quantity: i64,
) -> Result<(), DbErr> {
    product_option::Entity::update_many()
        .col_expr(
            product_option::Column::Stock,
            Expr::col(product_option::Column::Stock).add(quantity),
        )
        .filter(product_option::Column::Id.eq(option_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores a shipping group's refund ledger.
pub async fn update_group_ledger(
    db: &impl ConnectionTrait,
    order_id: i64,
    seller_id: i64,
    cash: i64,
    points: i64,
    charged: bool,
) -> Result<(), DbErr> {
    order_shipping_group::Entity::update_many()
        .col_expr(
            order_shipping_group::Column::ShipPaidCash,
            Expr::value(cash),
        )
        .col_expr(
            order_shipping_group::Column::ShipPaidPoints,
            Expr::value(points),
        )
        .col_expr(
            order_shipping_group::Column::FreeBrokenCharged,
            Expr::value(charged),
        )
        .filter(order_shipping_group::Column::OrderId.eq(order_id))
        .filter(order_shipping_group::Column::SellerId.eq(seller_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores the coupon's clawback ledger.
pub async fn update_coupon_ledger(
    db: &impl ConnectionTrait,
    order_id: i64,
    clawed: bool,
    cash: i64,
    points: i64,
) -> Result<(), DbErr> {
    order_coupon::Entity::update_many()
        .col_expr(order_coupon::Column::Clawed, Expr::value(clawed))
        .col_expr(order_coupon::Column::ClawPoolCash, Expr::value(cash))
        .col_expr(order_coupon::Column::ClawPoolPoints, Expr::value(points))
        .filter(order_coupon::Column::OrderId.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the order coupon restored to the customer (no unit of the order remains).
pub async fn mark_coupon_restored(db: &impl ConnectionTrait, order_id: i64) -> Result<(), DbErr> {
    order_coupon::Entity::update_many()
        .col_expr(order_coupon::Column::Restored, Expr::value(true))
        .filter(order_coupon::Column::OrderId.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts a refund and returns its id.
pub async fn insert_refund(
    db: &impl ConnectionTrait,
    row: refund::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(refund::Entity::insert(row).exec(db).await?.last_insert_id)
}

/// Refunds of some claims.
pub async fn refunds_of_claims(
    db: &impl ConnectionTrait,
    claim_ids: &[i64],
) -> Result<Vec<refund::Model>, DbErr> {
    refund::Entity::find()
        .filter(refund::Column::ClaimId.is_in(claim_ids.iter().copied()))
        .all(db)
        .await
}

/// Parts of some claims' refunds.
pub async fn parts_of_claims(
    db: &impl ConnectionTrait,
    claim_ids: &[i64],
) -> Result<Vec<refund_part::Model>, DbErr> {
    refund_part::Entity::find()
        .filter(refund_part::Column::ClaimId.is_in(claim_ids.iter().copied()))
        .order_by_asc(refund_part::Column::Id)
        .all(db)
        .await
}

/// Cash parts due for a gateway attempt.
pub async fn parts_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<refund_part::Model>, DbErr> {
    refund_part::Entity::find()
        .filter(refund_part::Column::Status.eq(RefundStatus::Pending.as_str()))
        .filter(refund_part::Column::NextAttemptAt.lte(now))
        .order_by_asc(refund_part::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Claims in one of the `refunding` statuses none of whose refund parts is left to pay: the
/// run that recorded the last part's success stopped before it completed the claim.
pub async fn refunding_with_parts_settled(
    db: &impl ConnectionTrait,
    refunding: &[&str],
) -> Result<Vec<i64>, DbErr> {
    let unsettled = refund_part::Entity::find()
        .select_only()
        .column(refund_part::Column::ClaimId)
        .filter(refund_part::Column::Status.ne(RefundStatus::Succeeded.as_str()))
        .into_query();
    claim::Entity::find()
        .select_only()
        .column(claim::Column::Id)
        .filter(claim::Column::Status.is_in(refunding.iter().copied()))
        .filter(claim::Column::Id.not_in_subquery(unsettled))
        .order_by_asc(claim::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// Counts cash refunded (committed) to a tender; the CHECK keeps it within what it paid.
pub async fn add_refunded(
    db: &impl ConnectionTrait,
    tender_id: i64,
    amount: i64,
) -> Result<(), DbErr> {
    tender::Entity::update_many()
        .col_expr(
            tender::Column::RefundedAmount,
            Expr::col(tender::Column::RefundedAmount).add(amount),
        )
        .filter(tender::Column::Id.eq(tender_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Restores points to a customer with a ledger entry.
pub async fn restore_points(
    db: &impl ConnectionTrait,
    customer_id: i64,
    order_id: i64,
    points: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    customer::Entity::update_many()
        .col_expr(
            customer::Column::PointsBalance,
            Expr::col(customer::Column::PointsBalance).add(points),
        )
        .filter(customer::Column::Id.eq(customer_id))
        .exec(db)
        .await?;
    let balance = customer::Entity::find_by_id(customer_id)
        .one(db)
        .await?
        .map(|c| c.points_balance)
        .unwrap_or_default();
    points_ledger::ActiveModel {
        customer_id: Set(customer_id),
        order_id: Set(Some(order_id)),
        kind: Set("CLAIM_REFUND".to_owned()),
        delta: Set(points),
        balance_after: Set(balance),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A tender by id.
pub async fn tender_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<tender::Model>, DbErr> {
    tender::Entity::find_by_id(id).one(db).await
}

/// Reduces what a bank-transfer order still has to bring.
pub async fn reduce_amount_due(
    db: &impl ConnectionTrait,
    order_id: i64,
    amount: i64,
) -> Result<(), DbErr> {
    entity::order::Entity::update_many()
        .col_expr(
            entity::order::Column::AmountDue,
            Expr::col(entity::order::Column::AmountDue).sub(amount),
        )
        .filter(entity::order::Column::Id.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves `amount` of a refund from "lowered the amount due" to "paid back in cash": a deposit
/// already held covered that much of what the cancel took off.
pub async fn shift_due_reduction_to_cash(
    db: &impl ConnectionTrait,
    refund_id: i64,
    amount: i64,
) -> Result<(), DbErr> {
    refund::Entity::update_many()
        .col_expr(
            refund::Column::Cash,
            Expr::col(refund::Column::Cash).add(amount),
        )
        .col_expr(
            refund::Column::DueReduced,
            Expr::col(refund::Column::DueReduced).sub(amount),
        )
        .filter(refund::Column::Id.eq(refund_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Replaces a refund's deductions (a waived fee cuts them) and clears its fee due.
pub async fn update_refund_deductions(
    db: &impl ConnectionTrait,
    refund_id: i64,
    deductions: String,
) -> Result<(), DbErr> {
    refund::Entity::update_many()
        .col_expr(refund::Column::Deductions, Expr::value(deductions))
        .col_expr(refund::Column::FeeDue, Expr::value(0i64))
        .filter(refund::Column::Id.eq(refund_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Numbers of the claims in `status` that cover any of these lines.
pub async fn claims_on_lines_in_status(
    db: &impl ConnectionTrait,
    line_ids: &[i64],
    status: &str,
) -> Result<Vec<String>, DbErr> {
    let claim_ids: Vec<i64> = claim_item::Entity::find()
        .filter(claim_item::Column::LineId.is_in(line_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|i| i.claim_id)
        .collect();
    Ok(claim::Entity::find()
        .filter(claim::Column::Id.is_in(claim_ids))
        .filter(claim::Column::Status.eq(status))
        .order_by_asc(claim::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.claim_number)
        .collect())
}

/// The claims covering each of these lines, as (line id, claim) pairs.
pub async fn claims_of_lines(
    db: &impl ConnectionTrait,
    line_ids: &[i64],
) -> Result<Vec<(i64, claim::Model)>, DbErr> {
    let items = claim_item::Entity::find()
        .filter(claim_item::Column::LineId.is_in(line_ids.iter().copied()))
        .all(db)
        .await?;
    let claims = claims_by_ids(db, &items.iter().map(|i| i.claim_id).collect::<Vec<_>>()).await?;
    Ok(items
        .iter()
        .filter_map(|i| {
            claims
                .iter()
                .find(|c| c.id == i.claim_id)
                .map(|c| (i.line_id, c.clone()))
        })
        .collect())
}

/// Marks a refund's fee due as paid.
pub async fn settle_refund_fee(db: &impl ConnectionTrait, refund_id: i64) -> Result<(), DbErr> {
    refund::Entity::update_many()
        .col_expr(refund::Column::FeeDue, Expr::value(0i64))
        .filter(refund::Column::Id.eq(refund_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Bank-transfer orders whose deposit deadline has passed without a deposit.
pub async fn orders_past_deposit_deadline(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<entity::order::Model>, DbErr> {
    use entity::order;
    order::Entity::find()
        .filter(order::Column::Status.eq("AWAITING_PAYMENT"))
        .filter(order::Column::DepositedAt.is_null())
        .filter(order::Column::DepositDeadline.lte(now))
        .order_by_asc(order::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Exchanges held for an unpaid fee since before `cutoff`.
pub async fn unpaid_exchanges_since(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<claim::Model>, DbErr> {
    claim::Entity::find()
        .filter(claim::Column::Status.eq("EXCHANGE_REQUESTED"))
        .filter(claim::Column::HoldReason.eq("RETURN_FEE_UNPAID"))
        .filter(claim::Column::RequestedAt.lte(cutoff))
        .order_by_asc(claim::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Records a courier event; false when it was applied before.
pub async fn record_courier_event(
    db: &impl ConnectionTrait,
    event_id: &str,
    tracking: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use entity::courier_event;
    use sea_orm::sea_query::OnConflict;
    let inserted = courier_event::Entity::insert(courier_event::ActiveModel {
        event_id: Set(event_id.to_owned()),
        tracking_number: Set(tracking.to_owned()),
        kind: Set(kind.to_owned()),
        received_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(courier_event::Column::EventId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

/// Claims whose collection (or reshipment) travels under this tracking number.
pub async fn claims_by_tracking(
    db: &impl ConnectionTrait,
    tracking: &str,
    reshipment: bool,
) -> Result<Vec<claim::Model>, DbErr> {
    let col = if reshipment {
        claim::Column::ReshipTracking
    } else {
        claim::Column::CollectionTracking
    };
    claim::Entity::find()
        .filter(col.eq(tracking))
        .order_by_asc(claim::Column::Id)
        .all(db)
        .await
}

/// Lines that shipped under this tracking number and are still SHIPPED.
pub async fn shipped_lines_by_tracking(
    db: &impl ConnectionTrait,
    tracking: &str,
) -> Result<Vec<order_line::Model>, DbErr> {
    use entity::shipment;
    let shipments: Vec<i64> = shipment::Entity::find()
        .filter(shipment::Column::TrackingNumber.eq(tracking))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    order_line::Entity::find()
        .filter(order_line::Column::ShipmentId.is_in(shipments))
        .filter(order_line::Column::Status.eq("SHIPPED"))
        .all(db)
        .await
}

/// The claim's fee transfer waiting for an operator's confirmation, if any.
pub async fn pending_fee_transfer(
    db: &impl ConnectionTrait,
    claim_id: i64,
) -> Result<Option<tender::Model>, DbErr> {
    tender::Entity::find()
        .filter(tender::Column::ClaimId.eq(claim_id))
        .filter(tender::Column::Status.eq("AWAITING_DEPOSIT"))
        .one(db)
        .await
}

/// Marks an announced fee transfer as arrived.
pub async fn confirm_fee_transfer(
    db: &impl ConnectionTrait,
    tender_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    tender::Entity::update_many()
        .col_expr(
            tender::Column::Status,
            Expr::value(TenderStatus::Paid.as_str()),
        )
        .col_expr(tender::Column::PaidAt, Expr::value(now))
        .filter(tender::Column::Id.eq(tender_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Units claimed by the claims of an order that were not withdrawn, one row per claimed line.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct ClaimedUnits {
    /// The line.
    pub line_id: i64,
    /// The claim's type.
    pub claim_type: String,
    /// Its reason.
    pub reason: String,
    /// Its fault.
    pub fault: String,
    /// Units of the line it claimed.
    pub quantity: i32,
}

/// The claimed units of an order's claims that were not withdrawn, in one statement.
pub async fn claimed_units_of_order(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Vec<ClaimedUnits>, DbErr> {
    use sea_orm::sea_query::Query;
    use sea_orm::FromQueryResult;
    let stmt = Query::select()
        .column((claim_item::Entity, claim_item::Column::LineId))
        .column((claim::Entity, claim::Column::ClaimType))
        .column((claim::Entity, claim::Column::Reason))
        .column((claim::Entity, claim::Column::Fault))
        .column((claim_item::Entity, claim_item::Column::Quantity))
        .from(claim_item::Entity)
        .inner_join(
            claim::Entity,
            Expr::col((claim::Entity, claim::Column::Id))
                .equals((claim_item::Entity, claim_item::Column::ClaimId)),
        )
        .and_where(Expr::col((claim::Entity, claim::Column::OrderId)).eq(order_id))
        .and_where(Expr::col((claim::Entity, claim::Column::Status)).not_like("%WITHDRAWN"))
        .order_by(
            (claim_item::Entity, claim_item::Column::Id),
            sea_orm::Order::Asc,
        )
        .to_owned();
    ClaimedUnits::find_by_statement(db.get_database_backend().build(&stmt))
        .all(db)
        .await
}
