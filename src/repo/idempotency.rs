//! Stored results of mutations sent with an idempotency key. The row is written in the same
//! transaction as the change, so a replay either finds the first result or the change never
//! happened.

use entity::idempotency_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

/// The stored result of a key, if any.
pub async fn find(
    db: &impl ConnectionTrait,
    caller: &str,
    key: &str,
) -> Result<Option<idempotency_key::Model>, DbErr> {
    idempotency_key::Entity::find()
        .filter(idempotency_key::Column::Caller.eq(caller))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(db)
        .await
}

/// Stores a key's result. A concurrent first use of the same key fails on the unique index.
pub async fn store(
    db: &impl ConnectionTrait,
    caller: &str,
    key: &str,
    operation: &str,
    request_hash: &str,
    response: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    idempotency_key::ActiveModel {
        caller: Set(caller.to_owned()),
        key: Set(key.to_owned()),
        operation: Set(operation.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        response: Set(response),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
