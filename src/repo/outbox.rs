//! The transactional outbox: messages written with their transitions, their deliveries with
//! attempts and leases, and sellers' webhook endpoints.

use chrono::{DateTime, Utc};
use entity::{claim, outbox_delivery, outbox_message, webhook_endpoint};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

/// Writes a claim transition's message in the transition's transaction: one statement that
/// copies the order, seller and customer from the claim row.
pub async fn insert_claim_message(
    db: &impl ConnectionTrait,
    claim_id: i64,
    event_type: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use outbox_message::Column as M;
    let select = Query::select()
        .expr(Expr::val(event_type))
        .column(claim::Column::OrderId)
        .column(claim::Column::Id)
        .column(claim::Column::SellerId)
        .column(claim::Column::CustomerId)
        .expr(Expr::val(payload))
        .expr(Expr::val(now))
        .from(claim::Entity)
        .and_where(claim::Column::Id.eq(claim_id))
        .to_owned();
    let insert = Query::insert()
        .into_table(outbox_message::Entity)
        .columns([
            M::EventType,
            M::OrderId,
            M::ClaimId,
            M::SellerId,
            M::CustomerId,
            M::Payload,
            M::CreatedAt,
        ])
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    db.execute(db.get_database_backend().build(&insert)).await?;
    Ok(())
}

/// Writes an order step's message.
pub async fn insert_order_message(
    db: &impl ConnectionTrait,
    row: outbox_message::ActiveModel,
) -> Result<(), DbErr> {
    outbox_message::Entity::insert(row).exec(db).await?;
    Ok(())
}

/// Messages not yet expanded into deliveries, oldest first; on PostgreSQL locked so that
/// replicas expand disjoint sets (`FOR UPDATE SKIP LOCKED`).
pub async fn undispatched(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<outbox_message::Model>, DbErr> {
    let mut q = outbox_message::Entity::find()
        .filter(outbox_message::Column::DispatchedAt.is_null())
        .order_by_asc(outbox_message::Column::Id)
        .limit(limit);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    q.all(db).await
}

/// Whether any message waits to be expanded, or any delivery is due (a cheap read, so an idle
/// dispatcher never takes the write lock).
pub async fn has_work(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<bool, DbErr> {
    use outbox_delivery::Column as D;
    let undispatched = outbox_message::Entity::find()
        .select_only()
        .column(outbox_message::Column::Id)
        .filter(outbox_message::Column::DispatchedAt.is_null())
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some();
    if undispatched {
        return Ok(true);
    }
    Ok(outbox_delivery::Entity::find()
        .select_only()
        .column(D::Id)
        .filter(D::Status.eq("PENDING"))
        .filter(D::NextAttemptAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(D::LockedUntil.is_null())
                .add(D::LockedUntil.lt(now)),
        )
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

/// Marks messages as expanded.
pub async fn mark_dispatched(
    db: &impl ConnectionTrait,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::DispatchedAt, Expr::value(Some(now)))
        .filter(outbox_message::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts deliveries.
pub async fn insert_deliveries(
    db: &impl ConnectionTrait,
    rows: Vec<outbox_delivery::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    outbox_delivery::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// Takes up to `limit` due deliveries for `lease`: pending, due, and not leased by a live
/// dispatcher. On PostgreSQL the candidate rows are locked with `SKIP LOCKED`, so concurrent
/// dispatchers take disjoint sets; the lease survives the transaction, so a dispatcher that
/// dies mid-delivery leaves its rows to be taken again when the lease runs out.
pub async fn lease_due(
    db: &impl ConnectionTrait,
    limit: u64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    by: &str,
) -> Result<Vec<outbox_delivery::Model>, DbErr> {
    use outbox_delivery::Column as D;
    let mut q = outbox_delivery::Entity::find()
        .filter(D::Status.eq("PENDING"))
        .filter(D::NextAttemptAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(D::LockedUntil.is_null())
                .add(D::LockedUntil.lt(now)),
        )
        .order_by_asc(D::Id)
        .limit(limit);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = q.all(db).await?;
    if rows.is_empty() {
        return Ok(rows);
    }
    outbox_delivery::Entity::update_many()
        .col_expr(D::LockedUntil, Expr::value(Some(lease_until)))
        .col_expr(D::LockedBy, Expr::value(Some(by.to_owned())))
        .filter(D::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(db)
        .await?;
    Ok(rows)
}

/// The outcome of one attempt.
pub enum Attempt {
    /// Delivered.
    Delivered {
        /// The receiver's HTTP status, for webhooks.
        status: Option<i32>,
    },
    /// Failed; try again at `retry_at`, or never (`None`: dead-lettered).
    Failed {
        /// Why.
        error: String,
        /// The receiver's HTTP status, for webhooks.
        status: Option<i32>,
        /// When to try again; `None` when this was the last attempt.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Records an attempt and releases the lease.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: i64,
    attempt: Attempt,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use outbox_delivery::Column as D;
    let mut q = outbox_delivery::Entity::update_many()
        .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
        .col_expr(D::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LockedBy, Expr::value(Option::<String>::None));
    q = match attempt {
        Attempt::Delivered { status } => q
            .col_expr(D::Status, Expr::value("DELIVERED"))
            .col_expr(D::DeliveredAt, Expr::value(Some(now)))
            .col_expr(D::ResponseStatus, Expr::value(status))
            .col_expr(D::LastError, Expr::value(Option::<String>::None)),
        Attempt::Failed {
            error,
            status,
            retry_at,
        } => q
            .col_expr(
                D::Status,
                Expr::value(if retry_at.is_some() {
                    "PENDING"
                } else {
                    "DEAD"
                }),
            )
            .col_expr(D::NextAttemptAt, Expr::value(retry_at.unwrap_or(now)))
            .col_expr(D::ResponseStatus, Expr::value(status))
            .col_expr(D::LastError, Expr::value(Some(error))),
    };
    q.filter(D::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// Messages by id.
pub async fn messages_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<outbox_message::Model>, DbErr> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Claim messages after `after` (id order), optionally of one order, claim, seller or customer.
pub async fn claim_messages_after(
    db: &impl ConnectionTrait,
    after: i64,
    scope: &EventScope,
    limit: u64,
) -> Result<Vec<outbox_message::Model>, DbErr> {
    use outbox_message::Column as M;
    let mut q = outbox_message::Entity::find()
        .filter(M::Id.gt(after))
        .filter(M::ClaimId.is_not_null());
    if let Some(o) = scope.order_id {
        q = q.filter(M::OrderId.eq(o));
    }
    if let Some(c) = scope.claim_id {
        q = q.filter(M::ClaimId.eq(c));
    }
    if let Some(s) = scope.seller_id {
        q = q.filter(M::SellerId.eq(s));
    }
    if let Some(c) = scope.customer_id {
        q = q.filter(M::CustomerId.eq(c));
    }
    q.order_by_asc(M::Id).limit(limit).all(db).await
}

/// Which claim events a subscriber receives.
#[derive(Debug, Clone, Default)]
pub struct EventScope {
    /// One order's.
    pub order_id: Option<i64>,
    /// One claim's.
    pub claim_id: Option<i64>,
    /// One seller's.
    pub seller_id: Option<i64>,
    /// One customer's.
    pub customer_id: Option<i64>,
}

/// The newest message id (0 when there is none): where a subscription starts.
pub async fn latest_id(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(outbox_message::Entity::find()
        .select_only()
        .column_as(outbox_message::Column::Id.max(), "m")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten()
        .unwrap_or(0))
}

/// Messages, newest first, for operators: optionally only those with a delivery in `status`.
pub async fn page_messages(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<outbox_message::Model>, DbErr> {
    use outbox_message::Column as M;
    let mut q = outbox_message::Entity::find();
    if let Some(b) = before {
        q = q.filter(M::Id.lt(b));
    }
    if let Some(s) = status {
        let with = Query::select()
            .column(outbox_delivery::Column::MessageId)
            .from(outbox_delivery::Entity)
            .and_where(outbox_delivery::Column::Status.eq(s))
            .to_owned();
        q = q.filter(M::Id.in_subquery(with));
    }
    q.order_by_desc(M::Id).limit(limit).all(db).await
}

/// Deliveries of some messages.
pub async fn deliveries_of(
    db: &impl ConnectionTrait,
    message_ids: &[i64],
) -> Result<Vec<outbox_delivery::Model>, DbErr> {
    outbox_delivery::Entity::find()
        .filter(outbox_delivery::Column::MessageId.is_in(message_ids.iter().copied()))
        .order_by_asc(outbox_delivery::Column::Id)
        .all(db)
        .await
}

/// Sends a message's undelivered deliveries again now (dead ones included), with a fresh
/// count of attempts. Returns how many.
pub async fn retry_message(
    db: &impl ConnectionTrait,
    message_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use outbox_delivery::Column as D;
    Ok(outbox_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value("PENDING"))
        .col_expr(D::Attempts, Expr::value(0))
        .col_expr(D::NextAttemptAt, Expr::value(now))
        .col_expr(D::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(D::MessageId.eq(message_id))
        .filter(D::Status.ne("DELIVERED"))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deliveries to one webhook endpoint, newest first (a seller's delivery log).
pub async fn webhook_deliveries(
    db: &impl ConnectionTrait,
    webhook_id: i64,
    limit: u64,
) -> Result<Vec<outbox_delivery::Model>, DbErr> {
    outbox_delivery::Entity::find()
        .filter(outbox_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(outbox_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Webhook endpoints of some sellers (`None`: all).
pub async fn webhooks(
    db: &impl ConnectionTrait,
    seller_ids: Option<&[i64]>,
) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    let mut q = webhook_endpoint::Entity::find();
    if let Some(ids) = seller_ids {
        q = q.filter(webhook_endpoint::Column::SellerId.is_in(ids.iter().copied()));
    }
    q.order_by_asc(webhook_endpoint::Column::Id).all(db).await
}

/// A webhook endpoint by id.
pub async fn webhook_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find_by_id(id).one(db).await
}

/// Registers an endpoint; returns its id.
pub async fn insert_webhook(
    db: &impl ConnectionTrait,
    row: webhook_endpoint::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(row.insert(db).await?.id)
}

/// Replaces an endpoint's secret, keeping the old one valid until `until`.
pub async fn rotate_secret(
    db: &impl ConnectionTrait,
    w: &webhook_endpoint::Model,
    secret: &str,
    until: DateTime<Utc>,
) -> Result<(), DbErr> {
    webhook_endpoint::ActiveModel {
        id: Set(w.id),
        secret: Set(secret.to_owned()),
        previous_secret: Set(Some(w.secret.clone())),
        previous_secret_until: Set(Some(until)),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Deletes an endpoint; its past deliveries stay in the log, pending ones are dropped.
pub async fn delete_webhook(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    use outbox_delivery::Column as D;
    outbox_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value("DEAD"))
        .col_expr(
            D::LastError,
            Expr::value(Some("the endpoint was deleted".to_owned())),
        )
        .filter(D::WebhookId.eq(id))
        .filter(D::Status.eq("PENDING"))
        .exec(db)
        .await?;
    webhook_endpoint::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
