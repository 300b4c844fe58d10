//! The built-in gateway of the demo and the tests: it stands for the provider and its widget at
//! once, so any payment key confirms (one starting `sim-va-` issues a virtual account), and it
//! keeps the provider's promises: a confirm is answered once (a repeat is ALREADY_PROCESSED),
//! a cancel key moves money once, nothing is cancelled beyond its balance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use chrono::{Duration, Utc};
use futures_util::future::BoxFuture;

use super::*;

/// Payment keys starting with this confirm as a virtual account (가상계좌) instead of a card.
pub const VIRTUAL_ACCOUNT_KEY_PREFIX: &str = "sim-va-";

/// The simulated provider: payments by key, cancels by idempotency key.
#[derive(Debug, Default)]
pub struct SimulatedGateway {
    fail_next: AtomicU32,
    decline_next: Mutex<Option<String>>,
    state: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    payments: HashMap<String, Payment>,
    /// Each cancel key's answer and amount.
    cancels: HashMap<String, (Cancellation, Won)>,
}

impl SimulatedGateway {
    /// Makes the next `n` cancels fail as a provider error (retried).
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Makes the next confirm a declined card with this provider code.
    pub fn decline_next_confirm(&self, code: &str) {
        if let Ok(mut d) = self.decline_next.lock() {
            *d = Some(code.to_owned());
        }
    }

    /// Money actually refunded per idempotency key (each key at most once).
    pub fn executed(&self) -> Vec<(String, Won)> {
        self.state
            .lock()
            .map(|s| {
                s.cancels
                    .iter()
                    .map(|(k, (_, w))| (k.clone(), *w))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Payments confirmed so far (each payment key once).
    pub fn confirmed(&self) -> Vec<Payment> {
        self.state
            .lock()
            .map(|s| s.payments.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The customer deposits into the virtual account of `order_id`: the payment is DONE.
    /// Returns the deposit callback's body, as the provider would send it.
    pub fn deposit(&self, order_id: &str) -> Option<serde_json::Value> {
        let mut state = self.state.lock().ok()?;
        let p = state
            .payments
            .values_mut()
            .find(|p| p.order_id == order_id && p.status == PaymentStatus::WaitingForDeposit)?;
        p.status = PaymentStatus::Done;
        Some(serde_json::json!({
            "createdAt": Utc::now().to_rfc3339(),
            "secret": p.secret,
            "status": "DONE",
            "transactionKey": format!("sim-deposit-{}", p.payment_key),
            "orderId": p.order_id,
        }))
    }

    fn poisoned() -> GatewayError {
        GatewayError::new(
            "SIMULATOR",
            "the simulator's state is poisoned",
            Outcome::Retry,
        )
    }
}

impl PaymentGateway for SimulatedGateway {
    fn confirm(&self, call: ConfirmCall) -> BoxFuture<'_, Result<Payment, GatewayError>> {
        Box::pin(async move {
            let declined = self.decline_next.lock().ok().and_then(|mut d| d.take());
            if let Some(code) = declined {
                return Err(GatewayError::new(
                    &code,
                    "카드사에서 결제를 거절했습니다 (simulated)",
                    Outcome::GiveUp,
                ));
            }
            let mut state = self.state.lock().map_err(|_| Self::poisoned())?;
            if state.payments.contains_key(&call.payment_key) {
                return Err(GatewayError::new(
                    "ALREADY_PROCESSED_PAYMENT",
                    "이미 처리된 결제 입니다.",
                    Outcome::AlreadyProcessed,
                ));
            }
            let virtual_account = call.payment_key.starts_with(VIRTUAL_ACCOUNT_KEY_PREFIX);
            let payment = Payment {
                payment_key: call.payment_key.clone(),
                order_id: call.order_id.clone(),
                status: if virtual_account {
                    PaymentStatus::WaitingForDeposit
                } else {
                    PaymentStatus::Done
                },
                method: if virtual_account {
                    PaymentKind::VirtualAccount
                } else {
                    PaymentKind::Card
                },
                total_amount: call.amount,
                balance_amount: call.amount,
                virtual_account: virtual_account.then(|| VirtualAccount {
                    account_number: format!("X{}", call.order_id.replace('-', "")),
                    bank_code: "88".into(),
                    customer_name: "구매자".into(),
                    due_date: Utc::now() + Duration::days(3),
                }),
                secret: virtual_account.then(|| format!("sim-secret-{}", call.payment_key)),
                cancels: Vec::new(),
            };
            state.payments.insert(call.payment_key, payment.clone());
            Ok(payment)
        })
    }

    fn payment(&self, payment_key: &str) -> BoxFuture<'_, Result<Payment, GatewayError>> {
        let key = payment_key.to_owned();
        Box::pin(async move {
            let state = self.state.lock().map_err(|_| Self::poisoned())?;
            state.payments.get(&key).cloned().ok_or_else(|| {
                GatewayError::new(
                    "NOT_FOUND_PAYMENT",
                    "존재하지 않는 결제 정보 입니다.",
                    Outcome::GiveUp,
                )
            })
        })
    }

    fn payment_for_order(
        &self,
        order_id: &str,
    ) -> BoxFuture<'_, Result<Option<Payment>, GatewayError>> {
        let order_id = order_id.to_owned();
        Box::pin(async move {
            let state = self.state.lock().map_err(|_| Self::poisoned())?;
            Ok(state
                .payments
                .values()
                .find(|p| p.order_id == order_id)
                .cloned())
        })
    }

    fn cancel(&self, call: CancelCall) -> BoxFuture<'_, Result<Cancellation, GatewayError>> {
        Box::pin(async move {
            let failing = self
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return Err(GatewayError::new(
                    "PROVIDER_ERROR",
                    "simulated failure",
                    Outcome::Retry,
                ));
            }
            let mut state = self.state.lock().map_err(|_| Self::poisoned())?;
            if let Some((answer, _)) = state.cancels.get(&call.idempotency_key) {
                return Ok(answer.clone());
            }
            // A payment this process never confirmed (the demo's, after a restart; a transfer
            // an operator confirmed) is paid back as asked: the simulator stands for the bank.
            if let Some(p) = call
                .payment_key
                .as_ref()
                .and_then(|k| state.payments.get_mut(k))
            {
                if call.amount > p.balance_amount {
                    return Err(GatewayError::new(
                        "NOT_CANCELABLE_AMOUNT",
                        "취소 할 수 없는 금액 입니다.",
                        Outcome::GiveUp,
                    ));
                }
                p.balance_amount -= call.amount;
                p.status = if p.balance_amount.is_positive() {
                    PaymentStatus::PartialCanceled
                } else {
                    PaymentStatus::Canceled
                };
            }
            let answer = Cancellation {
                transaction_key: format!("sim-cancel-{}", call.idempotency_key),
                cancel_amount: call.amount,
                canceled_at: Utc::now(),
            };
            if let Some(p) = call
                .payment_key
                .as_ref()
                .and_then(|k| state.payments.get_mut(k))
            {
                p.cancels.push(answer.clone());
            }
            state
                .cancels
                .insert(call.idempotency_key, (answer.clone(), call.amount));
            Ok(answer)
        })
    }
}
