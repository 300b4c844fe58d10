//! The payment gateway adapter: card partial cancels and bank-transfer refunds. Every call
//! carries an idempotency key derived from the claim and the payment, so a retry after a crash
//! or a timeout never refunds twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use futures_util::future::BoxFuture;

use crate::domain::money::Won;
use crate::tls::{ClientIdentity, Tls};

/// A refund the gateway should make.
#[derive(Debug, Clone)]
pub struct RefundCall {
    /// Derived from the claim and the payment; the gateway answers a repeat with the first result.
    pub idempotency_key: String,
    /// The original charge's reference (card) or the refund account (bank transfer).
    pub payment_reference: String,
    /// The amount to give back.
    pub amount: Won,
}

/// Why a gateway call did not succeed. Either way the part stays PENDING and is retried.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// The gateway refused or failed.
    #[error("gateway declined: {0}")]
    Declined(String),
    /// No answer in time: the refund may or may not have happened; the retry with the same key
    /// finds out.
    #[error("gateway timed out")]
    Timeout,
}

/// A payment gateway.
pub trait PaymentGateway: Send + Sync + 'static {
    /// Refunds `call.amount`; returns the gateway's reference.
    fn refund(&self, call: RefundCall) -> BoxFuture<'_, Result<String, GatewayError>>;

    /// Charges a claim fee to the customer's card (`payClaimFee`); returns the reference. A
    /// repeat with the same key charges once.
    fn charge(
        &self,
        idempotency_key: String,
        amount: Won,
    ) -> BoxFuture<'_, Result<String, GatewayError>>;
}

/// The built-in simulated gateway used by the demo and the tests: succeeds, remembers every key
/// (a repeat returns the first reference and moves no money twice), and fails on request.
#[derive(Debug, Default)]
pub struct SimulatedGateway {
    fail_next: AtomicU32,
    executed: Mutex<HashMap<String, (String, Won)>>,
}

impl SimulatedGateway {
    /// Makes the next `n` calls fail.
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Money actually refunded per idempotency key (each key at most once).
    pub fn executed(&self) -> Vec<(String, Won)> {
        self.executed
            .lock()
            .map(|m| m.iter().map(|(k, (_, w))| (k.clone(), *w)).collect())
            .unwrap_or_default()
    }
}

impl PaymentGateway for SimulatedGateway {
    fn charge(
        &self,
        idempotency_key: String,
        amount: Won,
    ) -> BoxFuture<'_, Result<String, GatewayError>> {
        Box::pin(async move {
            let _ = amount;
            Ok(format!("sim-charge-{idempotency_key}"))
        })
    }

    fn refund(&self, call: RefundCall) -> BoxFuture<'_, Result<String, GatewayError>> {
        Box::pin(async move {
            let failing = self
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return Err(GatewayError::Declined("simulated failure".into()));
            }
            let mut executed = self
                .executed
                .lock()
                .map_err(|_| GatewayError::Declined("simulator poisoned".into()))?;
            let reference = executed
                .entry(call.idempotency_key.clone())
                .or_insert_with(|| (format!("sim-refund-{}", call.idempotency_key), call.amount))
                .0
                .clone();
            Ok(reference)
        })
    }
}

/// A payment gateway over HTTP: `POST {base}/refunds` and `POST {base}/charges` with JSON
/// bodies, the idempotency key in the `Idempotency-Key` header, and a timeout per call. A
/// 2xx answer carries `{"reference": "..."}`; anything else is a decline, no answer in time a
/// timeout (the retry with the same key finds out what happened).
#[derive(Debug, Clone)]
pub struct HttpGateway {
    base_url: String,
    client: reqwest::Client,
}

impl HttpGateway {
    /// A gateway at `base_url` (`https://pg.example.com`, or `http://127.0.0.1:9000` for a
    /// stand-in) with a per-call timeout, checking certificates against `tls` and presenting
    /// `identity` when the gateway asks for a client certificate.
    pub fn new(
        base_url: &str,
        timeout: std::time::Duration,
        tls: &Tls,
        identity: Option<&ClientIdentity>,
    ) -> Result<HttpGateway, String> {
        let client = tls
            .http_client(identity)
            .map_err(|e| format!("the payment gateway's TLS: {e}"))?
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the gateway client: {e}"))?;
        Ok(HttpGateway {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
        })
    }

    async fn post(
        &self,
        path: &str,
        key: &str,
        body: serde_json::Value,
    ) -> Result<String, GatewayError> {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    GatewayError::Timeout
                } else {
                    GatewayError::Declined(crate::tls::explain(&e))
                }
            })?;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            let reason = answer
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("no reason given");
            return Err(GatewayError::Declined(format!("HTTP {status}: {reason}")));
        }
        answer
            .get("reference")
            .and_then(|r| r.as_str())
            .map(str::to_owned)
            .ok_or_else(|| GatewayError::Declined("the gateway's answer has no reference".into()))
    }
}

impl PaymentGateway for HttpGateway {
    fn refund(&self, call: RefundCall) -> BoxFuture<'_, Result<String, GatewayError>> {
        Box::pin(async move {
            let body = serde_json::json!({"paymentReference": call.payment_reference, "amount": call.amount.amount()});
            self.post("/refunds", &call.idempotency_key, body).await
        })
    }

    fn charge(
        &self,
        idempotency_key: String,
        amount: Won,
    ) -> BoxFuture<'_, Result<String, GatewayError>> {
        Box::pin(async move {
            self.post(
                "/charges",
                &idempotency_key,
                serde_json::json!({"amount": amount.amount()}),
            )
            .await
        })
    }
}
