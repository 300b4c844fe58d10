//! Toss Payments' core API (`README.md` "Payments"). Being written: see the helper's branch.

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::*;
use crate::tls::{ClientIdentity, Tls};

/// Toss Payments' API.
pub const TOSS_API_URL: &str = "https://api.tosspayments.com";

/// One row of the error mapping: a provider code and what the OMS does about it.
#[derive(Debug, Clone, Copy)]
pub struct TossErrorRow {
    /// The provider's code.
    pub code: &'static str,
    /// What the OMS does.
    pub outcome: Outcome,
    /// What it means, in a few words.
    pub meaning: &'static str,
}

/// The provider's error codes this adapter knows, and what each one makes the OMS do.
pub const TOSS_ERRORS: &[TossErrorRow] = &[];

/// The Toss Payments adapter.
#[derive(Debug, Clone)]
pub struct TossGateway {
    base_url: String,
}

impl TossGateway {
    /// An adapter for the API at `base_url` with the shop's secret key.
    pub fn new(
        base_url: &str,
        secret_key: &str,
        timeout: Duration,
        tls: &Tls,
        identity: Option<&ClientIdentity>,
    ) -> Result<TossGateway, String> {
        let _ = (secret_key, timeout, tls, identity);
        Ok(TossGateway {
            base_url: base_url.to_owned(),
        })
    }

    fn unbuilt(&self) -> GatewayError {
        GatewayError::new("UNBUILT", self.base_url.clone(), Outcome::Retry)
    }
}

impl PaymentGateway for TossGateway {
    fn confirm(&self, _call: ConfirmCall) -> BoxFuture<'_, Result<Payment, GatewayError>> {
        Box::pin(async move { Err(self.unbuilt()) })
    }
    fn payment(&self, _key: &str) -> BoxFuture<'_, Result<Payment, GatewayError>> {
        Box::pin(async move { Err(self.unbuilt()) })
    }
    fn payment_for_order(&self, _id: &str) -> BoxFuture<'_, Result<Option<Payment>, GatewayError>> {
        Box::pin(async move { Err(self.unbuilt()) })
    }
    fn cancel(&self, _call: CancelCall) -> BoxFuture<'_, Result<Cancellation, GatewayError>> {
        Box::pin(async move { Err(self.unbuilt()) })
    }
}
