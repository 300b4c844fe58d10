//! The payment gateway: what the OMS asks of a payment provider, in the shape Korean providers
//! share (Toss Payments' core API is the model, `README.md` "Payments").
//!
//! - **Confirm** an authorization the customer made in the provider's widget: the browser
//!   hands the shop a payment key, the server confirms it with the amount it computed itself.
//! - **Look up** a payment by key or by the shop's order id, to settle what a timeout or a
//!   crash left unknown.
//! - **Cancel** part of a payment (a refund), with an idempotency key so a retry after a
//!   timeout or a crash never refunds twice.
//!
//! Every failure carries the provider's code and an [`Outcome`]: what the OMS does about it.
//! The adapters are [`SimulatedGateway`] (the demo and the tests) and [`TossGateway`].

mod simulated;
mod toss;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use crate::domain::money::Won;

pub use simulated::{SimulatedGateway, VIRTUAL_ACCOUNT_KEY_PREFIX};
pub use toss::{TossErrorRow, TossGateway, TOSS_API_URL, TOSS_ERRORS};

/// Confirms an authorization (`POST /v1/payments/confirm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmCall {
    /// The key the provider's widget gave the browser.
    pub payment_key: String,
    /// The shop's id of what is paid: an order number, or a claim's fee order id.
    pub order_id: String,
    /// The amount the server computed; the provider refuses a payment of another amount.
    pub amount: Won,
}

/// Cancels part of a payment: a refund (`POST /v1/payments/{paymentKey}/cancel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelCall {
    /// Derived from the claim and the payment; the provider answers a repeat with the first
    /// result and moves no money twice.
    pub idempotency_key: String,
    /// The payment to cancel. `None` for money that never went through the provider (a
    /// transfer to the marketplace's own account that an operator confirmed): no provider
    /// can pay that back, so the adapter gives up and an operator resolves it by hand.
    pub payment_key: Option<String>,
    /// The amount to give back.
    pub amount: Won,
    /// Why, as the provider shows it (`cancelReason`).
    pub reason: String,
    /// Where a virtual account's money goes back to (`refundReceiveAccount`).
    pub refund_account: Option<RefundAccount>,
}

/// A bank account a refund of a bank transfer is paid into (환불계좌).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAccount {
    /// The bank, as the customer gave it.
    pub bank: String,
    /// The account number.
    pub account_number: String,
    /// The account holder's name.
    pub holder_name: String,
}

/// A payment as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The provider's key of the payment.
    pub payment_key: String,
    /// The shop's order id the payment was made for.
    pub order_id: String,
    /// Where the payment stands.
    pub status: PaymentStatus,
    /// How it was paid.
    pub method: PaymentKind,
    /// The amount authorized.
    pub total_amount: Won,
    /// What is left after cancels.
    pub balance_amount: Won,
    /// For a virtual account: where the customer deposits, and until when.
    pub virtual_account: Option<VirtualAccount>,
    /// For a virtual account: the secret its deposit callbacks carry.
    pub secret: Option<String>,
    /// The cancels (refunds) made so far.
    pub cancels: Vec<Cancellation>,
}

/// A payment's status (Toss Payments' names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Authorized in the widget, not confirmed yet.
    Ready,
    /// Being authorized.
    InProgress,
    /// A virtual account issued; the deposit has not arrived.
    WaitingForDeposit,
    /// Paid.
    Done,
    /// Cancelled in full.
    Canceled,
    /// Cancelled in part.
    PartialCanceled,
    /// The authorization failed.
    Aborted,
    /// The authorization or the virtual account lapsed.
    Expired,
}

impl PaymentStatus {
    /// Every status, for parsing.
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Ready,
        PaymentStatus::InProgress,
        PaymentStatus::WaitingForDeposit,
        PaymentStatus::Done,
        PaymentStatus::Canceled,
        PaymentStatus::PartialCanceled,
        PaymentStatus::Aborted,
        PaymentStatus::Expired,
    ];

    /// The provider's name of the status.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Ready => "READY",
            PaymentStatus::InProgress => "IN_PROGRESS",
            PaymentStatus::WaitingForDeposit => "WAITING_FOR_DEPOSIT",
            PaymentStatus::Done => "DONE",
            PaymentStatus::Canceled => "CANCELED",
            PaymentStatus::PartialCanceled => "PARTIAL_CANCELED",
            PaymentStatus::Aborted => "ABORTED",
            PaymentStatus::Expired => "EXPIRED",
        }
    }

    /// The status named `name`, if the provider's name is one this adapter knows.
    pub fn parse(name: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// True once the money was taken (cancels since included).
    pub const fn is_paid(self) -> bool {
        matches!(
            self,
            PaymentStatus::Done | PaymentStatus::PartialCanceled | PaymentStatus::Canceled
        )
    }
}

/// How a payment was made, as far as the OMS cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentKind {
    /// A card (카드, and the simple-pay wallets that settle like one).
    Card,
    /// A virtual account (가상계좌): paid later by deposit.
    VirtualAccount,
    /// Anything else, by the provider's name (계좌이체, 휴대폰, ...).
    Other(String),
}

/// A virtual account the provider issued for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAccount {
    /// The account to deposit into.
    pub account_number: String,
    /// The bank's code.
    pub bank_code: String,
    /// The name the deposit is expected under.
    pub customer_name: String,
    /// The deposit deadline.
    pub due_date: DateTime<Utc>,
}

/// One cancel (refund) of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// The provider's key of the cancel: stored on the refund part.
    pub transaction_key: String,
    /// The amount given back.
    pub cancel_amount: Won,
    /// When.
    pub canceled_at: DateTime<Utc>,
}

/// What the OMS does about a failed call: the mapping of `README.md`'s table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The outcome is unknown or the provider is briefly unable (a timeout, a 5xx, a request
    /// still processing): try again with the same key; a look-up settles what happened.
    Retry,
    /// The provider refused for good (declined card, amount not cancelable, no such
    /// payment): no retry changes it. A refund part becomes FAILED for an operator.
    GiveUp,
    /// A virtual account's refund needs a valid refund account (환불계좌): the part waits
    /// as ACCOUNT_REQUIRED until the customer gives one.
    NeedsAccount,
    /// The payment was confirmed already (a repeat of a confirm whose answer was lost): look
    /// it up and take its result.
    AlreadyProcessed,
}

/// A call the provider did not carry out (or whose answer never came).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct GatewayError {
    /// The provider's code (`REJECT_CARD_PAYMENT`), or `TIMEOUT` / `NETWORK` / `HTTP_<status>`
    /// for a failure with no code.
    pub code: String,
    /// The provider's message, or what went wrong on the way.
    pub message: String,
    /// What to do about it.
    pub outcome: Outcome,
}

impl GatewayError {
    /// A failure with the given code, message and outcome.
    pub fn new(code: &str, message: impl Into<String>, outcome: Outcome) -> GatewayError {
        GatewayError {
            code: code.to_owned(),
            message: message.into(),
            outcome,
        }
    }

    /// No answer in time: the call may or may not have happened.
    pub fn timeout() -> GatewayError {
        GatewayError::new(
            "TIMEOUT",
            "the payment gateway did not answer in time",
            Outcome::Retry,
        )
    }
}

/// A payment provider.
pub trait PaymentGateway: Send + Sync + 'static {
    /// Confirms the authorization `call.payment_key` for exactly `call.amount`.
    fn confirm(&self, call: ConfirmCall) -> BoxFuture<'_, Result<Payment, GatewayError>>;

    /// The payment with this key.
    fn payment(&self, payment_key: &str) -> BoxFuture<'_, Result<Payment, GatewayError>>;

    /// The payment made for this order id, if any was (`None`: the provider has none).
    fn payment_for_order(
        &self,
        order_id: &str,
    ) -> BoxFuture<'_, Result<Option<Payment>, GatewayError>>;

    /// Cancels `call.amount` of a payment; a repeat with the same key answers the first
    /// cancel and moves no money twice.
    fn cancel(&self, call: CancelCall) -> BoxFuture<'_, Result<Cancellation, GatewayError>>;
}
