//! Stored outcomes of mutations sent with an idempotency key, and the lock that makes the
//! requests of one key take turns. The row is written in the same transaction as the change
//! (or, for a refusal, in the transaction whose change was rolled back to a savepoint), so a
//! replay either finds the first outcome or the first attempt never finished.

use std::time::Duration;

use entity::idempotency_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    QueryFilter, Set,
};

/// What [`store`] writes.
pub struct NewKey<'a> {
    /// Whose key it is.
    pub caller: &'a str,
    /// The key.
    pub key: &'a str,
    /// The mutation.
    pub operation: &'a str,
    /// The fingerprint of its input.
    pub request_hash: &'a str,
    /// How the fingerprint was computed.
    pub fingerprint_version: i16,
    /// The outcome, as JSON.
    pub response: String,
    /// When.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Waits until no other transaction holds the lock `id`, then holds it until this transaction
/// ends. On PostgreSQL a transaction-scoped advisory lock, so it holds across server replicas;
/// the wait gives up after `wait` (`lock_timeout`, which stays in force for the rest of the
/// transaction). On SQLite nothing: `Db::write` already runs one write transaction at a time.
///
/// Call it first in the transaction: under READ COMMITTED (the default) the statements after it
/// see what the previous holder committed.
pub async fn lock(db: &impl ConnectionTrait, id: i64, wait: Duration) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            // PostgreSQL takes at most i32::MAX ms here.
            let ms = wait.as_millis().min(i32::MAX as u128);
            // Both values are numbers this server computed: nothing to quote. One round trip.
            db.execute_unprepared(&format!(
                "SET LOCAL lock_timeout = {ms}; SELECT pg_advisory_xact_lock({id})"
            ))
            .await?;
        }
        DatabaseBackend::Sqlite | DatabaseBackend::MySql => {}
    }
    Ok(())
}

/// The stored outcome of a key, if any.
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

/// Stores a key's outcome. A concurrent first use of the same key that got past [`lock`] (two
/// processes on one SQLite file) fails on the unique index.
pub async fn store(db: &impl ConnectionTrait, row: NewKey<'_>) -> Result<(), DbErr> {
    idempotency_key::ActiveModel {
        caller: Set(row.caller.to_owned()),
        key: Set(row.key.to_owned()),
        operation: Set(row.operation.to_owned()),
        request_hash: Set(row.request_hash.to_owned()),
        fingerprint_version: Set(row.fingerprint_version),
        response: Set(row.response),
        created_at: Set(row.now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
