//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>, version 1.0.0, symmetric
//! `v1` scheme): what the dispatcher signs partner deliveries with, and what a partner's
//! receiver written in Rust can use to check them. The module depends on nothing else in the
//! crate; a receiver may copy it as it is.
//!
//! The scheme, for readers who implement it in another language:
//!
//! - A delivery carries three headers: `webhook-id` (the event id, `evt_42`: the same on every
//!   retry, so a receiver de-duplicates on it), `webhook-timestamp` (Unix seconds of this
//!   attempt) and `webhook-signature`.
//! - A secret is `whsec_` followed by base64 of 24 random bytes. The HMAC key is the decoded
//!   bytes, not the text.
//! - The signature is `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{raw
//!   body}")). The body is signed as sent: verify the raw bytes before parsing any JSON.
//! - While a secret is being rotated the header carries several signatures separated by
//!   spaces (`v1,abc= v1,def=`); one match is enough.
//!
//! A receiver's checklist, which [`Verifier::verify`] follows: refuse malformed headers;
//! refuse a timestamp more than the tolerance (5 minutes) away from its clock, in either
//! direction; compare signatures in constant time; refuse an id it has already accepted. An id
//! seen again is a redelivery of something it accepted: answer it 2xx without doing the work
//! twice. If its own processing fails after `verify`, it calls [`Verifier::forget`] and answers
//! 5xx, so that the retry is accepted.
//!
//! ```
//! use oms::webhook::{sign, Verifier};
//!
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let body = br#"{"type":"claim.exchange_collected"}"#;
//! let now = chrono::Utc::now();
//! let signature = sign(secret, "evt_42", now.timestamp(), body).unwrap();
//! let timestamp = now.timestamp().to_string();
//!
//! let mut verifier = Verifier::default();
//! assert!(verifier.verify(secret, ("evt_42", &timestamp, &signature), body, now).is_ok());
//! // The same delivery again is a replay.
//! assert!(verifier.verify(secret, ("evt_42", &timestamp, &signature), body, now).is_err());
//! ```

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header with the message id (the event id, stable across retries).
pub const HEADER_ID: &str = "webhook-id";
/// The header with the attempt's Unix timestamp in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header with the space-separated `v1,<base64>` signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The prefix that marks a Standard Webhooks symmetric secret.
const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret: the specification's minimum, 192 bits.
const SECRET_BYTES: usize = 24;
/// The signature scheme's version tag.
const VERSION: &str = "v1";

/// Why signing or verifying failed. The variants are stable: receivers map them to answers
/// (everything but [`Replayed`](WebhookError::Replayed) is a 4xx; a replay is answered 2xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `whsec_` + base64 (or plain base64), or is empty.
    #[error("invalid webhook secret: expected whsec_ followed by base64")]
    InvalidSecret,
    /// A header is empty or malformed (named by its header name).
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    /// The timestamp is older than the tolerance allows.
    #[error("webhook timestamp too old")]
    TimestampTooOld,
    /// The timestamp is further in the future than the tolerance allows.
    #[error("webhook timestamp too far in the future")]
    TimestampTooNew,
    /// No `v1` signature in the header matches the body under this secret.
    #[error("no matching webhook signature")]
    InvalidSignature,
    /// This message id was already accepted.
    #[error("webhook message id already seen")]
    Replayed,
    /// The operating system's random source failed (new secrets only).
    #[error("the random source failed: {0}")]
    Randomness(String),
}

/// A new secret: `whsec_` + base64 of 24 bytes from the operating system's random source.
///
/// # Panics
///
/// When the operating system cannot provide random bytes, which on the supported platforms
/// means it is broken; [`try_new_secret`] reports that as an error instead.
pub fn new_secret() -> String {
    try_new_secret().unwrap_or_else(|e| panic!("cannot create a webhook secret: {e}"))
}

/// A new secret, or why the random source failed.
pub fn try_new_secret() -> Result<String, WebhookError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| WebhookError::Randomness(e.to_string()))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The `v1,<base64>` signature of a delivery.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    check_id(msg_id)?;
    let digest = keyed(secret, msg_id, timestamp, body)?
        .finalize()
        .into_bytes();
    Ok(format!("{VERSION},{}", STANDARD.encode(digest)))
}

/// The `webhook-signature` header: one signature per secret, space-separated (the current
/// secret and, during a rotation, the previous one).
pub fn signature_header(
    secrets: &[&str],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::InvalidSecret);
    }
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// The HMAC key of a secret: the base64 after `whsec_` (a bare base64 secret is accepted too,
/// as the reference libraries do).
fn key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| WebhookError::InvalidSecret)?;
    if key.is_empty() {
        return Err(WebhookError::InvalidSecret);
    }
    Ok(key)
}

/// The MAC over `{msg_id}.{timestamp}.{body}`, ready to finalize or verify.
fn keyed(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<Hmac<Sha256>, WebhookError> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key(secret)?).map_err(|_| WebhookError::InvalidSecret)?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// A message id may not be empty nor contain `.` (the signed content is dot-separated) or
/// whitespace.
fn check_id(msg_id: &str) -> Result<(), WebhookError> {
    if msg_id.is_empty() || msg_id.contains(['.', ' ', '\t', '\r', '\n']) {
        return Err(WebhookError::MalformedHeader(HEADER_ID));
    }
    Ok(())
}

/// A receiver's check of deliveries: signature, timestamp tolerance, and replays.
///
/// It remembers the ids it accepted within the tolerance window (older ones cannot come back:
/// their timestamps are refused), at most `capacity` of them; a receiver with several
/// processes keeps the ids in a shared store instead (the specification suggests Redis with
/// an expiry) and uses one `Verifier` per process only for the signature and time checks.
#[derive(Debug, Clone)]
pub struct Verifier {
    tolerance: Duration,
    capacity: usize,
    seen: HashSet<String>,
    order: VecDeque<(String, i64)>,
}

impl Default for Verifier {
    /// The specification's tolerance (5 minutes) and room for 10,000 ids.
    fn default() -> Self {
        Verifier::new(Duration::from_secs(5 * 60), 10_000)
    }
}

impl Verifier {
    /// A verifier accepting timestamps within `tolerance` of its clock and remembering up to
    /// `capacity` accepted ids (the oldest are forgotten first).
    pub fn new(tolerance: Duration, capacity: usize) -> Verifier {
        Verifier {
            tolerance,
            capacity: capacity.max(1),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Checks a delivery: `headers` are the values of `webhook-id`, `webhook-timestamp` and
    /// `webhook-signature`, `body` the raw request body, `now` the receiver's clock. On
    /// success the id is remembered, and the same id is refused as
    /// [`Replayed`](WebhookError::Replayed) from then on.
    ///
    /// The checks run in this order: headers, timestamp, signature (constant-time), replay;
    /// so a forged request never learns whether an id was seen.
    pub fn verify(
        &mut self,
        secret: &str,
        headers: (&str, &str, &str),
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let (msg_id, timestamp, signatures) = headers;
        check_id(msg_id)?;
        let timestamp: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| WebhookError::MalformedHeader(HEADER_TIMESTAMP))?;
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        let now = now.timestamp();
        if now.saturating_sub(timestamp) > tolerance {
            return Err(WebhookError::TimestampTooOld);
        }
        if timestamp.saturating_sub(now) > tolerance {
            return Err(WebhookError::TimestampTooNew);
        }
        let mac = keyed(secret, msg_id, timestamp, body)?;
        let mut matched = false;
        let mut any = false;
        for entry in signatures.split_whitespace() {
            let (version, encoded) = entry
                .split_once(',')
                .ok_or(WebhookError::MalformedHeader(HEADER_SIGNATURE))?;
            any = true;
            if version != VERSION {
                continue; // v1a (asymmetric) and future schemes are not ours to check.
            }
            if let Ok(candidate) = STANDARD.decode(encoded) {
                // `verify_slice` compares in constant time.
                matched |= mac.clone().verify_slice(&candidate).is_ok();
            }
        }
        if !any {
            return Err(WebhookError::MalformedHeader(HEADER_SIGNATURE));
        }
        if !matched {
            return Err(WebhookError::InvalidSignature);
        }
        self.expire(now - tolerance);
        if self.seen.contains(msg_id) {
            return Err(WebhookError::Replayed);
        }
        if self.order.len() >= self.capacity {
            if let Some((oldest, _)) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(msg_id.to_owned());
        self.order.push_back((msg_id.to_owned(), timestamp));
        Ok(())
    }

    /// Forgets an accepted id, so that a redelivery is accepted again: call it when
    /// processing the delivery failed after [`verify`](Self::verify).
    pub fn forget(&mut self, msg_id: &str) {
        if self.seen.remove(msg_id) {
            self.order.retain(|(id, _)| id != msg_id);
        }
    }

    /// Drops ids whose timestamps are before `cutoff`: a delivery that old is refused anyway.
    fn expire(&mut self, cutoff: i64) {
        let before = self.order.len();
        self.order.retain(|(_, ts)| *ts >= cutoff);
        if self.order.len() != before {
            self.seen = self.order.iter().map(|(id, _)| id.clone()).collect();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// The test vector of the Standard Webhooks reference libraries
    /// (`libraries/rust/src/lib.rs`, `test_sign`, in standard-webhooks/standard-webhooks).
    const VECTOR_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const VECTOR_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const VECTOR_TIMESTAMP: i64 = 1_649_367_553;
    const VECTOR_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const VECTOR_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn at(timestamp: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(timestamp, 0).unwrap()
    }

    #[test]
    fn the_published_test_vector() {
        assert_eq!(
            sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY).unwrap(),
            VECTOR_SIGNATURE
        );
        let ts = VECTOR_TIMESTAMP.to_string();
        Verifier::default()
            .verify(
                VECTOR_SECRET,
                (VECTOR_ID, &ts, VECTOR_SIGNATURE),
                VECTOR_BODY,
                at(VECTOR_TIMESTAMP + 10),
            )
            .unwrap();
    }

    #[test]
    fn new_secrets_are_24_random_bytes() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        let key = STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 24);
    }

    #[test]
    fn round_trip_and_refusals() {
        let secret = new_secret();
        let now = at(1_790_000_000);
        let ts = now.timestamp().to_string();
        let body =
            br#"{"type":"claim.exchange_collected","data":{"orderNumber":"20261124-000123"}}"#;
        let signature = sign(&secret, "evt_1", now.timestamp(), body).unwrap();
        let mut verifier = Verifier::default();

        // A changed body.
        let changed =
            br#"{"type":"claim.exchange_collected","data":{"orderNumber":"20261124-000124"}}"#;
        assert_eq!(
            verifier.verify(&secret, ("evt_1", &ts, &signature), changed, now),
            Err(WebhookError::InvalidSignature)
        );
        // Another secret.
        assert_eq!(
            verifier.verify(&new_secret(), ("evt_1", &ts, &signature), body, now),
            Err(WebhookError::InvalidSignature)
        );
        // A changed id or timestamp.
        assert_eq!(
            verifier.verify(&secret, ("evt_2", &ts, &signature), body, now),
            Err(WebhookError::InvalidSignature)
        );
        // The genuine delivery, then its replay.
        verifier
            .verify(&secret, ("evt_1", &ts, &signature), body, now)
            .unwrap();
        assert_eq!(
            verifier.verify(&secret, ("evt_1", &ts, &signature), body, now),
            Err(WebhookError::Replayed)
        );
        // A retry after `forget` is accepted again (the receiver's processing failed).
        verifier.forget("evt_1");
        verifier
            .verify(&secret, ("evt_1", &ts, &signature), body, now)
            .unwrap();
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_refused() {
        let secret = new_secret();
        let now = at(1_790_000_000);
        let mut verifier = Verifier::default();
        for (offset, expected) in [
            (-301, Err(WebhookError::TimestampTooOld)),
            (301, Err(WebhookError::TimestampTooNew)),
            (-300, Ok(())),
            (300, Ok(())),
        ] {
            let ts = now.timestamp() + offset;
            let id = format!("evt_{}", offset + 1000);
            let signature = sign(&secret, &id, ts, b"{}").unwrap();
            assert_eq!(
                verifier.verify(&secret, (&id, &ts.to_string(), &signature), b"{}", now),
                expected,
                "offset {offset}"
            );
        }
        // An extreme timestamp does not overflow.
        let signature = sign(&secret, "evt_x", i64::MIN, b"{}").unwrap();
        assert_eq!(
            verifier.verify(
                &secret,
                ("evt_x", &i64::MIN.to_string(), &signature),
                b"{}",
                now
            ),
            Err(WebhookError::TimestampTooOld)
        );
    }

    #[test]
    fn rotation_signs_with_both_secrets() {
        let (old, new) = (new_secret(), new_secret());
        let now = at(1_790_000_000);
        let ts = now.timestamp().to_string();
        let header = signature_header(&[&new, &old], "evt_9", now.timestamp(), b"{}").unwrap();
        assert_eq!(header.split(' ').count(), 2);
        Verifier::default()
            .verify(&old, ("evt_9", &ts, &header), b"{}", now)
            .unwrap();
        Verifier::default()
            .verify(&new, ("evt_9", &ts, &header), b"{}", now)
            .unwrap();
        assert_eq!(
            Verifier::default().verify(&new_secret(), ("evt_9", &ts, &header), b"{}", now),
            Err(WebhookError::InvalidSignature)
        );
        // Unknown schemes are skipped, not fatal.
        let mixed = format!("v1a,c2lnbmF0dXJl {header}");
        Verifier::default()
            .verify(&new, ("evt_9", &ts, &mixed), b"{}", now)
            .unwrap();
    }

    #[test]
    fn malformed_input_is_refused() {
        let secret = new_secret();
        let now = at(1_790_000_000);
        let ts = now.timestamp().to_string();
        let signature = sign(&secret, "evt_1", now.timestamp(), b"{}").unwrap();
        let mut v = Verifier::default();
        assert_eq!(
            v.verify(&secret, ("", &ts, &signature), b"{}", now),
            Err(WebhookError::MalformedHeader(HEADER_ID))
        );
        assert_eq!(
            v.verify(&secret, ("evt.1", &ts, &signature), b"{}", now),
            Err(WebhookError::MalformedHeader(HEADER_ID))
        );
        assert_eq!(
            v.verify(&secret, ("evt_1", "soon", &signature), b"{}", now),
            Err(WebhookError::MalformedHeader(HEADER_TIMESTAMP))
        );
        for bad in ["", "   ", "nocomma"] {
            assert_eq!(
                v.verify(&secret, ("evt_1", &ts, bad), b"{}", now),
                Err(WebhookError::MalformedHeader(HEADER_SIGNATURE)),
                "{bad:?}"
            );
        }
        assert_eq!(
            v.verify(&secret, ("evt_1", &ts, "v1,!!notbase64"), b"{}", now),
            Err(WebhookError::InvalidSignature)
        );
        for bad_secret in ["whsec_", "whsec_***", ""] {
            assert_eq!(
                sign(bad_secret, "evt_1", 1, b"{}"),
                Err(WebhookError::InvalidSecret)
            );
        }
        assert_eq!(
            signature_header(&[], "evt_1", 1, b"{}"),
            Err(WebhookError::InvalidSecret)
        );
    }

    #[test]
    fn the_replay_memory_is_bounded() {
        let secret = new_secret();
        let now = at(1_790_000_000);
        let ts = now.timestamp().to_string();
        let mut v = Verifier::new(Duration::from_secs(300), 2);
        for id in ["evt_1", "evt_2", "evt_3"] {
            let s = sign(&secret, id, now.timestamp(), b"{}").unwrap();
            v.verify(&secret, (id, &ts, &s), b"{}", now).unwrap();
        }
        assert_eq!(v.seen.len(), 2);
        // Ids leave the memory once their timestamps fall out of the window.
        let later = at(1_790_000_000 + 400);
        let s = sign(&secret, "evt_4", later.timestamp(), b"{}").unwrap();
        v.verify(
            &secret,
            ("evt_4", &later.timestamp().to_string(), &s),
            b"{}",
            later,
        )
        .unwrap();
        assert_eq!(v.seen.len(), 1);
    }
}
