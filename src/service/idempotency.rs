//! Idempotency keys, in one place: every mutation that takes an `idempotencyKey` runs its
//! transaction through [`once`].
//!
//! - A key is 1 to [`MAX_KEY_CHARS`] printable ASCII characters ([`IdempotencyKey::parse`]),
//!   scoped to its caller: two callers' equal keys are two keys.
//! - The request is identified by its operation and a [`Fingerprint`] of its input: SHA-256 of a
//!   canonical JSON (keys sorted, nulls left out, the key itself left out), so neither the
//!   order of the fields nor a new optional field nor a new release changes it.
//! - Requests with one key take turns: on PostgreSQL a transaction-scoped advisory lock on a
//!   hash of (caller, key), taken before the replay check, so a duplicate sent to another
//!   replica waits too; on SQLite the process's writer lock (`Db::write`). A duplicate waits
//!   for the first attempt (at most the request timeout) and answers its outcome.
//! - The outcome is stored under the key: a success with its change; a refusal after the
//!   attempt's change is rolled back to a savepoint, in the same transaction (so the lock is
//!   held throughout). A replay answers the same objects (read as they are now) or the same
//!   `userErrors`, marked as a replay ([`Answer::replayed`]). Transient refusals
//!   ([`UserErrorCode::is_transient`]) and faults are not stored: a retry runs again.
//! - The same key with another operation or input is refused (`IDEMPOTENCY_KEY_REUSED`).

use std::time::Duration;

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::error::{is_unique_violation, ServiceError, UserError, UserErrorCode};
use crate::repo;

/// The longest key, in characters (Stripe's convention).
pub const MAX_KEY_CHARS: usize = 255;

/// How the rows written now fingerprint their request: the canonical JSON of the input. Rows of
/// version 1 hashed Rust's `Debug` text of the request, which no release can reproduce; a
/// replay matches them by caller, key and operation only.
const FINGERPRINT_VERSION: i16 = 2;

/// How much longer than the request timeout a duplicate may wait for the lock on PostgreSQL:
/// the request's own timeout answers the client first, and an abandoned wait ends soon after.
const LOCK_MARGIN: Duration = Duration::from_secs(1);

/// An idempotency key as the client sent it: 1 to [`MAX_KEY_CHARS`] printable ASCII characters
/// (space to `~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key, or a refusal naming `idempotencyKey`.
    pub fn parse(raw: &str) -> Result<IdempotencyKey, UserError> {
        let refuse = |why: String| {
            UserError::new(
                UserErrorCode::IdempotencyKeyInvalid,
                &["idempotencyKey"],
                format!(
                    "idempotencyKey must be 1 to {MAX_KEY_CHARS} printable ASCII characters \
                     (space to `~`, e.g. a UUID); {why}"
                ),
            )
        };
        let chars = raw.chars().count();
        if chars == 0 {
            return Err(refuse("it is empty".into()));
        }
        if chars > MAX_KEY_CHARS {
            return Err(refuse(format!("it is {chars} characters")));
        }
        if let Some((i, _)) = raw
            .chars()
            .enumerate()
            .find(|(_, c)| !(' '..='~').contains(c))
        {
            return Err(refuse(format!("character {} is not", i + 1)));
        }
        Ok(IdempotencyKey(raw.to_owned()))
    }

    /// A key the server derives from text a partner sent (a courier's event id): `prefix`, a
    /// dash and the text's SHA-256, valid whatever the text holds. `prefix` is the server's own
    /// short printable text.
    pub fn derived(prefix: &str, text: &str) -> IdempotencyKey {
        IdempotencyKey(format!(
            "{prefix}-{}",
            hex(&Sha256::digest(text.as_bytes()))
        ))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256, in lowercase hex, of an operation and the canonical JSON of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `operation` called with `input` (without its `idempotencyKey`).
    pub fn of(operation: &str, input: &Value) -> Fingerprint {
        let mut text = format!("{operation}\n");
        canonical(input, &mut text);
        Fingerprint(hex(&Sha256::digest(text.as_bytes())))
    }

    /// The hex digest.
    pub fn as_hex(&self) -> &str {
        &self.0
    }
}

/// Writes `value` as JSON with object keys sorted and null members left out (absent and null
/// mean the same to GraphQL, and a field added later arrives as null): one text per value.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> =
                map.iter().filter(|(_, v)| !v.is_null()).collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            out.push_str(&value.to_string())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A mutation call sent with a key: the key, the operation and the fingerprint of the input.
#[derive(Debug, Clone)]
pub struct Keyed {
    key: IdempotencyKey,
    operation: String,
    fingerprint: Fingerprint,
}

impl Keyed {
    /// `operation` (the mutation's field name) called with `input` under `key`.
    pub fn new(key: IdempotencyKey, operation: &str, input: &Value) -> Keyed {
        Keyed {
            key,
            operation: operation.to_owned(),
            fingerprint: Fingerprint::of(operation, input),
        }
    }

    /// The first outcome stored under this key, or the refusal of a key used for another
    /// request.
    fn replay<T: DeserializeOwned>(
        &self,
        row: entity::idempotency_key::Model,
    ) -> Result<Answer<T>, ServiceError> {
        let same = row.operation == self.operation
            && (row.fingerprint_version < FINGERPRINT_VERSION
                || row.request_hash == self.fingerprint.0);
        if !same {
            return Ok(Answer::from(ServiceError::from(UserError::new(
                UserErrorCode::IdempotencyKeyReused,
                &["idempotencyKey"],
                format!(
                    "idempotency key `{}` was already used for another request ({}); use a new key for a new request",
                    self.key.0, row.operation
                ),
            ))));
        }
        let corrupt = |e: serde_json::Error| {
            ServiceError::Corrupt(format!("stored idempotent outcome {}: {e}", row.id))
        };
        let outcome = if row.fingerprint_version < FINGERPRINT_VERSION {
            Outcome::Done(serde_json::from_str(&row.response).map_err(corrupt)?)
        } else {
            serde_json::from_str(&row.response).map_err(corrupt)?
        };
        Ok(Answer {
            result: outcome.into_result(),
            replayed: true,
        })
    }
}

/// What an idempotent mutation answers: its result, and whether that is the stored outcome of
/// an earlier request with the same key (this call then changed nothing).
#[derive(Debug)]
pub struct Answer<T> {
    /// The result (a replayed refusal is `ServiceError::User`).
    pub result: Result<T, ServiceError>,
    /// True when the result is an earlier request's.
    pub replayed: bool,
}

impl<T> From<Result<T, ServiceError>> for Answer<T> {
    fn from(result: Result<T, ServiceError>) -> Self {
        Answer {
            result,
            replayed: false,
        }
    }
}

impl<T> From<ServiceError> for Answer<T> {
    fn from(e: ServiceError) -> Self {
        Answer::from(Err(e))
    }
}

/// A stored outcome.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Outcome<T> {
    Done(T),
    Refused(UserError),
}

impl<T> Outcome<T> {
    fn into_result(self) -> Result<T, ServiceError> {
        match self {
            Outcome::Done(value) => Ok(value),
            Outcome::Refused(e) => Err(e.into()),
        }
    }
}

/// Runs `work` in one write transaction, once per key: without a key, simply; with one, under
/// the key's lock, answering a stored outcome instead when there is one and storing this one
/// otherwise (see the module's documentation).
pub async fn once<T, F>(app: &App, actor: Actor, keyed: Option<Keyed>, work: F) -> Answer<T>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<T, ServiceError>,
{
    match keyed {
        None => Answer::from(unkeyed(app, work).await),
        Some(keyed) => with_key(app, actor, &keyed, work)
            .await
            .unwrap_or_else(Answer::from),
    }
}

async fn unkeyed<T, F>(app: &App, work: F) -> Result<T, ServiceError>
where
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<T, ServiceError>,
{
    let txn = app.db.write().await?;
    // Boxed: a use case's future is large, and unboxed it grows every future that awaits this
    // one (a debug build's demo seeding overflowed the test thread's stack).
    let value = Box::pin(work(&txn)).await?;
    txn.commit().await?;
    Ok(value)
}

async fn with_key<T, F>(
    app: &App,
    actor: Actor,
    keyed: &Keyed,
    work: F,
) -> Result<Answer<T>, ServiceError>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<T, ServiceError>,
{
    let caller = caller(actor);
    let key = keyed.key.as_str();
    let txn = app.db.write().await?;
    let wait = app.limits.request_timeout() + LOCK_MARGIN;
    repo::idempotency::lock(&*txn, lock_id(&caller, key), wait).await?;
    if let Some(row) = repo::idempotency::find(&*txn, &caller, key).await? {
        return keyed.replay(row);
    }
    // The attempt runs in a savepoint: a refusal rolls its change back and keeps the
    // transaction (and the lock) to store the refusal in.
    let attempt = txn.begin().await?;
    let outcome = match Box::pin(work(&attempt)).await {
        Ok(value) => {
            attempt.commit().await?;
            Outcome::Done(value)
        }
        Err(e) => match e.into_refusal() {
            Ok(refusal) if !refusal.code.is_transient() => {
                attempt.rollback().await?;
                Outcome::Refused(refusal)
            }
            // Transient or a fault: nothing stored, everything rolled back; a retry runs again.
            Ok(transient) => return Err(transient.into()),
            Err(fault) => return Err(fault),
        },
    };
    let response = serde_json::to_string(&outcome)
        .map_err(|e| ServiceError::Corrupt(format!("idempotent outcome: {e}")))?;
    repo::idempotency::store(
        &*txn,
        repo::idempotency::NewKey {
            caller: &caller,
            key,
            operation: &keyed.operation,
            request_hash: keyed.fingerprint.as_hex(),
            fingerprint_version: FINGERPRINT_VERSION,
            response,
            now: app.clock.now(),
        },
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            UserError::new(
                UserErrorCode::IdempotencyKeyReused,
                &["idempotencyKey"],
                format!("another request with idempotency key `{key}` committed first; retry to read its outcome"),
            )
            .into()
        } else {
            ServiceError::from(e)
        }
    })?;
    txn.commit().await?;
    Ok(Answer::from(outcome.into_result()))
}

/// Whose keys these are: one namespace per caller. Spelled out rather than taken from `Debug`,
/// and spelled as the rows written before spell it (`Customer(3)`), so they keep matching.
fn caller(actor: Actor) -> String {
    match actor {
        Actor::Customer(id) => format!("Customer({id})"),
        Actor::Seller(id) => format!("Seller({id})"),
        Actor::Operator => "Operator".into(),
        Actor::Analyst => "Analyst".into(),
        Actor::System => "System".into(),
    }
}

/// The PostgreSQL advisory lock of a (caller, key): the first 64 bits of their SHA-256. Two
/// keys that collide only take turns.
fn lock_id(caller: &str, key: &str) -> i64 {
    let digest = Sha256::digest(format!("{caller}\n{key}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fingerprint of a fixed input is a fixed string: it depends on the input's JSON
    /// alone, not on Rust's types or their `Debug` text, so it survives a new release. (The
    /// same as Python's `sha256("requestReturn\n" + json.dumps(input, sort_keys=True,
    /// separators=(",", ":"), ensure_ascii=False))`.)
    #[test]
    fn fingerprint_is_fixed() {
        let input = json!({
            "orderNumber": "20261124-000001",
            "items": [{"lineId": "gid://oms/OrderLine/1", "quantity": 2}],
            "reason": "CHANGE_OF_MIND",
            "memo": "사이즈가 작아요",
        });
        assert_eq!(
            Fingerprint::of("requestReturn", &input).as_hex(),
            "a7dd6cc9a986d0a1eba72f34efdcba19cdf68fdbef31e2891eca6a49e2bcc7c5"
        );
    }

    /// Field order, nulls and absent fields do not matter; values, list order and the
    /// operation do.
    #[test]
    fn fingerprint_is_canonical() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}, "memo": null});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(Fingerprint::of("op", &a), Fingerprint::of("op", &b));
        let list = json!({"a": {"x": "s", "y": [2, 1]}, "b": 1});
        assert_ne!(Fingerprint::of("op", &a), Fingerprint::of("op", &list));
        let value = json!({"a": {"x": "t", "y": [1, 2]}, "b": 1});
        assert_ne!(Fingerprint::of("op", &a), Fingerprint::of("op", &value));
        assert_ne!(Fingerprint::of("op", &a), Fingerprint::of("other", &a));
        // A key that needs escaping is written as JSON writes it.
        let quoted = json!({"a\"b": 1});
        let plain = json!({"ab": 1});
        assert_ne!(
            Fingerprint::of("op", &quoted),
            Fingerprint::of("op", &plain)
        );
    }

    #[test]
    fn keys_are_printable_ascii_up_to_255() {
        assert!(IdempotencyKey::parse(&"k".repeat(MAX_KEY_CHARS)).is_ok());
        assert!(IdempotencyKey::parse(" !~0aZ-_:").is_ok());
        let derived = IdempotencyKey::derived("courier-12", &"이벤트\0".repeat(1000));
        assert!(IdempotencyKey::parse(derived.as_str()).is_ok());
        for bad in [
            String::new(),
            "k".repeat(MAX_KEY_CHARS + 1),
            "tab\there".into(),
            "nul\0".into(),
            "키".into(),
            "del\u{7f}".into(),
        ] {
            let e = IdempotencyKey::parse(&bad).unwrap_err();
            assert_eq!(e.code, UserErrorCode::IdempotencyKeyInvalid, "{bad:?}");
            assert_eq!(
                e.field,
                Some(vec!["input".to_owned(), "idempotencyKey".to_owned()])
            );
        }
    }

    /// Callers are spelled as the rows of earlier releases spell them.
    #[test]
    fn callers_keep_their_stored_spelling() {
        assert_eq!(caller(Actor::Customer(3)), "Customer(3)");
        assert_eq!(caller(Actor::Seller(5)), "Seller(5)");
        assert_eq!(caller(Actor::Operator), "Operator");
        assert_eq!(caller(Actor::System), "System");
        assert_ne!(lock_id("Customer(3)", "k"), lock_id("Customer(4)", "k"));
    }
}
