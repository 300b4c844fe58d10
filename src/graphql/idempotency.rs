//! The GraphQL side of idempotency keys: every mutation with an `idempotencyKey` reads it here,
//! parsed once, and fingerprints the rest of its input as the schema coerced it (defaults
//! applied; variables and inline literals alike). The rest is `service::idempotency`.

use std::future::Future;

use async_graphql::{Context, InputType};

use crate::error::ServiceError;
use crate::service::idempotency::{Answer, IdempotencyKey, Keyed};

/// The name of the key's field in every mutation input.
const KEY_FIELD: &str = "idempotencyKey";

/// The key of this mutation call with the fingerprint of its input, `None` without a key, or
/// the refusal of a key outside its limits (a `userErrors` entry naming `idempotencyKey`).
pub fn keyed<I: InputType>(ctx: &Context<'_>, input: &I) -> Result<Option<Keyed>, ServiceError> {
    let mut value = input
        .to_value()
        .into_json()
        .map_err(|e| ServiceError::Corrupt(format!("mutation input as JSON: {e}")))?;
    let Some(key) = value
        .as_object_mut()
        .and_then(|fields| fields.remove(KEY_FIELD))
    else {
        return Ok(None);
    };
    match key {
        serde_json::Value::String(key) => Ok(Some(Keyed::new(
            IdempotencyKey::parse(&key)?,
            ctx.field().name(),
            &value,
        ))),
        _ => Ok(None),
    }
}

/// Calls a keyed service with the key [`keyed`] read, or answers the key's refusal without
/// calling it.
pub async fn with_key<T, F>(
    key: Result<Option<Keyed>, ServiceError>,
    service: impl FnOnce(Option<Keyed>) -> F,
) -> Answer<T>
where
    F: Future<Output = Answer<T>>,
{
    match key {
        Ok(key) => service(key).await,
        Err(e) => e.into(),
    }
}
