//! Idempotency keys for mutations: a replay with the same key and input returns the first
//! result and changes nothing; the same key with another input is refused.

use sea_orm::ConnectionTrait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::actor::Actor;
use crate::error::{is_unique_violation, ServiceError, UserError, UserErrorCode};
use crate::repo;

/// A mutation's idempotency context: who calls, with which key, for which operation and input.
pub struct Idempotency {
    caller: String,
    key: Option<String>,
    operation: &'static str,
    request_hash: String,
}

impl Idempotency {
    /// The context for `operation` called by `actor` with `request` (hashed) and maybe a key.
    pub fn new(
        actor: Actor,
        key: Option<String>,
        operation: &'static str,
        request: &impl std::fmt::Debug,
    ) -> Self {
        let digest = Sha256::digest(format!("{operation}:{request:?}").as_bytes());
        Idempotency {
            caller: format!("{actor:?}"),
            key,
            operation,
            request_hash: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// The first result, when this key was used before with the same input.
    pub async fn replay<T: DeserializeOwned>(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Option<T>, ServiceError> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let Some(row) = repo::idempotency::find(db, &self.caller, key).await? else {
            return Ok(None);
        };
        if row.operation != self.operation || row.request_hash != self.request_hash {
            return Err(UserError::new(
                UserErrorCode::IdempotencyKeyReused,
                &["idempotencyKey"],
                format!(
                    "idempotency key `{key}` was already used for another request ({}); use a new key for a new request",
                    row.operation
                ),
            )
            .into());
        }
        serde_json::from_str(&row.response)
            .map(Some)
            .map_err(|e| ServiceError::Corrupt(format!("stored idempotent response: {e}")))
    }

    /// Stores the result with the change (same transaction).
    pub async fn remember<T: Serialize>(
        &self,
        db: &impl ConnectionTrait,
        result: &T,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ServiceError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        let response = serde_json::to_string(result)
            .map_err(|e| ServiceError::Corrupt(format!("idempotent response: {e}")))?;
        repo::idempotency::store(
            db,
            &self.caller,
            key,
            self.operation,
            &self.request_hash,
            response,
            now,
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                UserError::new(
                    UserErrorCode::IdempotencyKeyReused,
                    &["idempotencyKey"],
                    format!("another request with idempotency key `{key}` committed first; retry to read its result"),
                )
                .into()
            } else {
                ServiceError::from(e)
            }
        })
    }
}
