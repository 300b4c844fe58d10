//! The courier adapter: books the pickup (방문 수거) of a return or exchange when the seller
//! approves it. Each booking carries an idempotency key derived from the claim and its version,
//! so a retried approval books once. Tracking events come back through
//! `POST /webhooks/courier` (`service::courier`).

use futures_util::future::BoxFuture;

use crate::domain::text as limit;

/// A pickup to book.
#[derive(Debug, Clone)]
pub struct PickupRequest {
    /// Derived from the claim and its version.
    pub idempotency_key: String,
    /// The claim.
    pub claim_number: String,
    /// Its order.
    pub order_number: String,
}

/// A booked pickup: which courier comes, and the tracking number its events will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// The courier (택배사).
    pub courier: String,
    /// 운송장 번호.
    pub tracking_number: String,
}

/// Why a booking failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the courier could not book the pickup: {0}")]
pub struct CourierError(pub String);

/// A courier that books pickups.
pub trait CourierAdapter: Send + Sync + 'static {
    /// Books a pickup.
    fn book_pickup(&self, request: PickupRequest) -> BoxFuture<'_, Result<Booking, CourierError>>;
}

/// The built-in courier for the demo and the tests: books at once with a tracking number
/// derived from the idempotency key (so a repeat in this process gets the same one) under a
/// key drawn at start. The number is a keyed hash, not the claim number and version it is
/// booked for: the courier webhook finds claims by tracking number, so a number an outsider
/// could compute would let anyone who learned the courier secret aim at any claim.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimulatedCourier;

impl SimulatedCourier {
    /// The tracking number of a booking: `SIM` and 12 digits.
    fn tracking_number(idempotency_key: &str) -> String {
        use hmac::{Hmac, Mac};
        static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(|| {
            let mut key = [0u8; 32];
            // Without randomness the numbers are still unguessable across processes only if
            // the key is; fall back to the clock's nanoseconds, never to a constant.
            if getrandom::fill(&mut key).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default();
                key[..16].copy_from_slice(&nanos.to_le_bytes());
            }
            key
        });
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
            return format!("SIM{idempotency_key}");
        };
        mac.update(idempotency_key.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut n = [0u8; 8];
        n.copy_from_slice(&digest[..8]);
        format!("SIM{:012}", u64::from_le_bytes(n) % 1_000_000_000_000)
    }
}

impl CourierAdapter for SimulatedCourier {
    fn book_pickup(&self, request: PickupRequest) -> BoxFuture<'_, Result<Booking, CourierError>> {
        Box::pin(async move {
            Ok(Booking {
                courier: "SIM택배".into(),
                tracking_number: Self::tracking_number(&request.idempotency_key),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SimulatedCourier;

    #[test]
    fn tracking_numbers_are_stable_per_key_and_not_the_key() {
        let a = SimulatedCourier::tracking_number("C-20261124-000001-v2");
        assert_eq!(a, SimulatedCourier::tracking_number("C-20261124-000001-v2"));
        assert_ne!(a, SimulatedCourier::tracking_number("C-20261124-000001-v3"));
        assert!(a.starts_with("SIM") && a.len() == 15, "{a}");
        assert!(!a.contains("000001"));
    }
}

/// A courier over HTTP: `POST {base}/pickups` with `{claimNumber, orderNumber}` and the
/// `Idempotency-Key` header, answered `{"courier": "...", "trackingNumber": "..."}`.
#[derive(Debug, Clone)]
pub struct HttpCourier {
    base_url: String,
    client: reqwest::Client,
}

impl HttpCourier {
    /// A courier at `base_url` with a per-call timeout, checking certificates against `tls`.
    pub fn new(
        base_url: &str,
        timeout: std::time::Duration,
        tls: &crate::tls::Tls,
    ) -> Result<HttpCourier, String> {
        let client = tls
            .http_client(None)
            .map_err(|e| format!("the courier's TLS: {e}"))?
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the courier client: {e}"))?;
        Ok(HttpCourier {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
        })
    }
}

impl CourierAdapter for HttpCourier {
    fn book_pickup(&self, request: PickupRequest) -> BoxFuture<'_, Result<Booking, CourierError>> {
        Box::pin(async move {
            let response = self
                .client
                .post(format!("{}/pickups", self.base_url))
                .header("Idempotency-Key", &request.idempotency_key)
                .json(&serde_json::json!({"claimNumber": request.claim_number, "orderNumber": request.order_number}))
                .send()
                .await
                .map_err(|e| CourierError(crate::tls::explain(&e)))?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if !status.is_success() {
                return Err(CourierError(format!("HTTP {status}")));
            }
            let field = |name: &str| body.get(name).and_then(|v| v.as_str()).map(str::to_owned);
            match (field("courier"), field("trackingNumber")) {
                (Some(courier), Some(tracking_number)) => {
                    // Stored with the claim like a courier and tracking number typed in: the
                    // same limits (a NUL would fail the write on PostgreSQL).
                    for (name, value, limit) in [
                        ("courier", &courier, limit::COURIER),
                        ("trackingNumber", &tracking_number, limit::TRACKING_NUMBER),
                    ] {
                        limit.check(value).map_err(|e| {
                            CourierError(format!("the answer's {}", e.message(name)))
                        })?;
                    }
                    Ok(Booking {
                        courier,
                        tracking_number,
                    })
                }
                _ => Err(CourierError(
                    "the answer has no courier or trackingNumber".into(),
                )),
            }
        })
    }
}
