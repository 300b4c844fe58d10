//! The error policy, in one place.
//!
//! One rule, `api.md`'s: a mutation answers every refusal of its request — a business rule
//! ([`ServiceError::User`]) or a value its input type accepts but a documented rule refuses
//! ([`ServiceError::BadInput`], code `INVALID_INPUT`) — with a `userErrors` entry that has a
//! stable [`UserErrorCode`] and a message a person can act on, and changes nothing
//! ([`mutation_refusal`]). A query or a subscription has no `userErrors`: the same refusals
//! are GraphQL errors (`NOT_FOUND`, `BAD_USER_INPUT`, [`to_graphql_error`]). A document the
//! schema refuses never reaches a resolver (async-graphql answers it). Authentication and
//! authorization failures are GraphQL errors everywhere; everything else is `INTERNAL`, logged
//! with its detail and shown to the client without SQL or stack traces. Every code a client can
//! receive is in the catalogue of `src/codes.rs` (`docs/error-codes.md`).

use async_graphql::resolver_utils::EnumType;
use async_graphql::{Enum, SimpleObject};
use sea_orm::{DbErr, RuntimeErr};

use crate::codes::ErrorCode;
use crate::domain::checkout::CheckoutError;
use crate::domain::order::UnknownName;
use crate::domain::text::TextError;

/// The stable code of a business refusal. Clients switch on these; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserErrorCode {
    /// The object does not exist or is not visible to the caller (another tenant's is "not
    /// found", never "forbidden"): check the id or number, and the token.
    NotFound,
    /// An option id that is not in the catalogue (or has no shipping settings): pick one of
    /// the products' options.
    UnknownOption,
    /// A coupon code that does not exist: check the code, or order without it.
    UnknownCoupon,
    /// A quantity below 1, or an order without lines: ask for at least one unit.
    InvalidQuantity,
    /// A line discount below zero or above the line's price.
    InvalidLineDiscount,
    /// An amount (coupon, points) below zero.
    InvalidAmount,
    /// Not enough stock for the quantity asked (재고 부족): for an order, an exchange's
    /// replacement or another replacement after a loss in transit. Ask for fewer units or
    /// another option (the message names the option).
    OutOfStock,
    /// A discontinued product or option (단종): it takes no new orders. Pick another option.
    OptionDiscontinued,
    /// A product of a suspended seller: it takes no new orders (its orders and claims go on).
    /// Order it later, or another seller's.
    SellerSuspended,
    /// More points than the customer's balance.
    PointsExceedBalance,
    /// More points than are left to pay after the coupon.
    PointsExceedTotal,
    /// The order's items do not reach the coupon's minimum purchase.
    CouponMinimumNotMet,
    /// A coupon larger than the order's items.
    CouponExceedsOrder,
    /// The lines are not in the status this step starts from (the message names it): reload
    /// the order.
    LineStatusNotAllowed,
    /// The lines of one shipment must belong to one seller and one order.
    MixedShipment,
    /// The order waits for no deposit: it is not paid by bank transfer, or it is paid or
    /// cancelled already (the message says which).
    NotAwaitingDeposit,
    /// A deposit of zero, or more than is left to deposit (the message gives what is left):
    /// record what arrived up to that; pay any excess back outside.
    DepositExceedsDue,
    /// The order waits for no payment: paid already, cancelled, paid with points alone, or a
    /// virtual account already issued (the message says which). Reload the order.
    NotAwaitingPayment,
    /// `confirmPayment` with an amount other than what the order owes: the payment widget was
    /// opened (or tampered) with another amount. Nothing was charged; open the widget with the
    /// order's `amountDue`.
    PaymentAmountMismatch,
    /// The payment gateway refused the payment for good (a declined card, an unknown or
    /// expired payment key, a payment for another order or amount): the message carries the
    /// gateway's code and message. Nothing was charged; pay again in the payment widget.
    PaymentDeclined,
    /// The payment gateway did not answer in time or failed for the moment; nothing was
    /// recorded. Send the same request again: the same payment key is never charged twice.
    PaymentGatewayUnavailable,
    /// `expectedVersion` did not match: the object moved on. Reload it and decide again.
    StaleVersion,
    /// The idempotency key was used before with another input or mutation: a new request
    /// needs a new key.
    IdempotencyKeyReused,
    /// The idempotency key is not 1 to 255 printable ASCII characters.
    IdempotencyKeyInvalid,
    /// The caller may not set this field (e.g. a customer setting a line discount).
    FieldNotAllowed,
    /// No claim of this kind can be opened on these units (their line status, the seller mix,
    /// a reason this request does not take, the seller's exchange rules): the message says
    /// what is possible instead. A seller's `exchange_rules` policy puts its own code first in
    /// the message (`BUNDLE_MUST_BE_WHOLE` from the built-in default, `EXCHANGE_NOT_ALLOWED`
    /// when a plugin gives none).
    ClaimNotAllowed,
    /// The action does not apply to this claim in its status or hold state, for this actor:
    /// the message names the status and the actions allowed (`Claim.availableActions`).
    ClaimActionNotAllowed,
    /// Outside the claim window (반품·교환 기간) of the reason given, or after purchase
    /// confirmation for a customer-fault reason; the message comes from the seller's policy.
    ClaimWindowClosed,
    /// More units than are claimable now (some may be in another claim): the message gives
    /// the line's claimable units; claim at most those.
    NotEnoughUnits,
    /// A concurrent request changed the claim (or took its units) first; nothing changed.
    /// Retry: the retry reads the claim afresh.
    ClaimConflict,
    /// The claim already has a hold (pending or in force): release or decline it first.
    ClaimAlreadyHeld,
    /// An exchange for an option at another price: return and order anew.
    PriceDifferenceNotSupported,
    /// A fee payment that is not exactly the fee due, or a transfer already waiting for
    /// confirmation: the message says which; pay exactly the fee due.
    FeeAmountMismatch,
    /// The courier could not book the pickup; nothing changed. Retry, or let the customer
    /// ship the goods.
    CourierUnavailable,
    /// The uploaded module is over the module size limit.
    PluginTooLarge,
    /// The uploaded module is not one the contract accepts (the message names the problem:
    /// malformed bytes, a forbidden import, a missing export, a wrong signature).
    PluginInvalid,
    /// The module was built for a contract version this server does not accept.
    PluginUnsupportedContract,
    /// The module checks out but fails its evaluation on one of the sample inputs.
    PluginSmokeFailed,
    /// The server is compiling other plugins (its compile queue is full); nothing was done and
    /// a retry in a few seconds may pass.
    PluginBusy,
    /// Too many requests of this kind for one seller in a short time (dry runs, checks and
    /// uploads); nothing was done. The message says when to try again.
    RateLimited,
    /// A dry run's input is not the hook's input document.
    InvalidPluginInput,
    /// A webhook registration with a bad URL or unknown event types.
    InvalidWebhook,
    /// A text longer than its field's limit, counted in characters (`docs/text-limits.md`).
    TextTooLong,
    /// A text with a character its field refuses: NUL (U+0000), which the database cannot
    /// store, anywhere; any other control character in a one-line field; any but line breaks
    /// and tabs in a memo or description.
    InvalidText,
    /// A list with more entries than its limit (e.g. more than 64 event types).
    ListTooLong,
    /// The identity provider's subject is already linked to another customer (or another
    /// seller): one identity speaks for one account. Check the subject; the other account
    /// keeps it.
    IdentityAlreadyLinked,
    /// A value the input's type accepts but a documented rule refuses, with no code of its
    /// own: a malformed or foreign global ID, a line named twice, an action's missing
    /// courier or amount. The message names what to send instead.
    InvalidInput,
}

/// A business refusal: a code, the input field it is about, and a message.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject, serde::Serialize, serde::Deserialize)]
pub struct UserError {
    /// Stable, machine-readable code.
    pub code: UserErrorCode,
    /// Path of the input field the error is about, e.g. `["input", "lines", "0", "quantity"]`.
    pub field: Option<Vec<String>>,
    /// What went wrong and what to do instead.
    pub message: String,
}

impl UserErrorCode {
    /// The SCREAMING_CASE name clients see.
    pub fn name(self) -> &'static str {
        Self::items()
            .iter()
            .find(|item| item.value == self)
            .map(|item| item.name)
            .unwrap_or("UNKNOWN")
    }

    /// True for a refusal caused by the moment rather than by the request or the state it met:
    /// a race with a concurrent request, or a partner that did not answer. Retrying is the
    /// remedy, so an idempotency key does not remember it: a retry with the same key runs
    /// again. Every other refusal is remembered and replayed.
    pub fn is_transient(self) -> bool {
        use UserErrorCode as C;
        match self {
            // Another request changed the claim mid-flight: a retry reads it afresh.
            C::ClaimConflict
            // The courier did not book: nothing changed, and the booking may work next time.
            | C::CourierUnavailable
            // The payment gateway did not answer; the same payment key may pass in a moment.
            | C::PaymentGatewayUnavailable
            // Busy or throttled now; the same request may pass in a moment.
            | C::PluginBusy
            | C::RateLimited
            // The key already holds another request's outcome; nothing can be stored under it.
            | C::IdempotencyKeyReused => true,
            C::NotFound
            | C::UnknownOption
            | C::UnknownCoupon
            | C::InvalidQuantity
            | C::InvalidLineDiscount
            | C::InvalidAmount
            | C::OutOfStock
            | C::SellerSuspended
            | C::OptionDiscontinued
            | C::PointsExceedBalance
            | C::PointsExceedTotal
            | C::CouponMinimumNotMet
            | C::CouponExceedsOrder
            | C::LineStatusNotAllowed
            | C::MixedShipment
            | C::NotAwaitingDeposit
            | C::DepositExceedsDue
            | C::NotAwaitingPayment
            | C::PaymentAmountMismatch
            | C::PaymentDeclined
            | C::StaleVersion
            | C::IdempotencyKeyInvalid
            | C::FieldNotAllowed
            | C::ClaimNotAllowed
            | C::ClaimActionNotAllowed
            | C::ClaimWindowClosed
            | C::NotEnoughUnits
            | C::ClaimAlreadyHeld
            | C::PriceDifferenceNotSupported
            | C::FeeAmountMismatch
            | C::PluginTooLarge
            | C::PluginInvalid
            | C::PluginUnsupportedContract
            | C::PluginSmokeFailed
            | C::InvalidPluginInput
            | C::InvalidWebhook
            | C::TextTooLong
            | C::InvalidText
            | C::ListTooLong
            | C::IdentityAlreadyLinked
            | C::InvalidInput => false,
        }
    }
}

impl UserError {
    /// A refusal about `field` (a path below `input`).
    pub fn new(code: UserErrorCode, field: &[&str], message: impl Into<String>) -> Self {
        let mut path = vec!["input".to_owned()];
        path.extend(field.iter().map(|s| (*s).to_owned()));
        UserError {
            code,
            field: Some(path),
            message: message.into(),
        }
    }

    /// A refusal that is about no single field.
    pub fn general(code: UserErrorCode, message: impl Into<String>) -> Self {
        UserError {
            code,
            field: None,
            message: message.into(),
        }
    }

    /// "Not found" for an object the caller may not see or that does not exist.
    pub fn not_found(field: &[&str], what: &str) -> Self {
        UserError::new(UserErrorCode::NotFound, field, format!("{what} not found"))
    }

    /// A text input its limit refuses (`domain::text`), about `field` (a path below `input`;
    /// the message names it as `lines[0].bundleId`).
    pub fn text(field: &[&str], e: TextError) -> Self {
        let code = match e {
            TextError::TooLong { .. } => UserErrorCode::TextTooLong,
            TextError::Nul { .. } | TextError::Control { .. } => UserErrorCode::InvalidText,
            TextError::TooManyEntries { .. } => UserErrorCode::ListTooLong,
        };
        let mut name = String::new();
        for part in field {
            if part.bytes().all(|b| b.is_ascii_digit()) {
                name.push('[');
                name.push_str(part);
                name.push(']');
            } else {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(part);
            }
        }
        UserError::new(code, field, e.message(&name))
    }
}

/// Everything a service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A business refusal; becomes `userErrors`.
    #[error("{}", .0.message)]
    User(UserError),
    /// No valid bearer token.
    #[error(
        "authentication required: send `Authorization: Bearer <token>` (`oms token` issues one)"
    )]
    Unauthenticated,
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A value the request's type accepts but a documented rule refuses, with no code of its
    /// own (a malformed id, an out-of-range page size, an action's missing courier): a
    /// `userErrors` entry `INVALID_INPUT` in a mutation, `BAD_USER_INPUT` in a query.
    #[error("{0}")]
    BadInput(String),
    /// A database failure.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The database holds a value this code does not understand.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A claim needs a seller's policy module this process has not compiled yet: the claim's
    /// transaction is abandoned, the module compiled outside it, and the claim run again
    /// (`service::policy::compiled_what_was_missing`). A client never sees this.
    #[error("the policy plugin {plugin_id} is not compiled on this replica yet")]
    PolicyNotCompiled {
        /// The plugin.
        plugin_id: i64,
        /// Its module's SHA-256.
        sha256: String,
    },
}

impl From<UserError> for ServiceError {
    fn from(e: UserError) -> Self {
        ServiceError::User(e)
    }
}

impl From<UnknownName> for ServiceError {
    fn from(e: UnknownName) -> Self {
        ServiceError::Corrupt(e.to_string())
    }
}

impl From<CheckoutError> for UserError {
    fn from(e: CheckoutError) -> Self {
        let message = e.to_string();
        let line_field = |line: usize, field: &str| -> Vec<String> {
            vec![
                "input".into(),
                "lines".into(),
                line.to_string(),
                field.into(),
            ]
        };
        let (code, field) = match e {
            CheckoutError::NoLines => (
                UserErrorCode::InvalidQuantity,
                Some(vec!["input".into(), "lines".into()]),
            ),
            CheckoutError::QuantityNotPositive { line } => (
                UserErrorCode::InvalidQuantity,
                Some(line_field(line, "quantity")),
            ),
            CheckoutError::InvalidLineDiscount { line } => (
                UserErrorCode::InvalidLineDiscount,
                Some(line_field(line, "lineDiscount")),
            ),
            CheckoutError::MissingShippingSettings { line } => (
                UserErrorCode::UnknownOption,
                Some(line_field(line, "optionId")),
            ),
            CheckoutError::InvalidCoupon => (
                UserErrorCode::InvalidAmount,
                Some(vec!["input".into(), "coupon".into()]),
            ),
            CheckoutError::CouponExceedsOrder { .. } => (
                UserErrorCode::CouponExceedsOrder,
                Some(vec!["input".into(), "coupon".into()]),
            ),
            CheckoutError::CouponMinimumNotMet { .. } => (
                UserErrorCode::CouponMinimumNotMet,
                Some(vec!["input".into(), "coupon".into()]),
            ),
            CheckoutError::NegativePoints => (
                UserErrorCode::InvalidAmount,
                Some(vec!["input".into(), "points".into()]),
            ),
            CheckoutError::PointsExceedBalance { .. } => (
                UserErrorCode::PointsExceedBalance,
                Some(vec!["input".into(), "points".into()]),
            ),
            CheckoutError::PointsExceedTotal { .. } => (
                UserErrorCode::PointsExceedTotal,
                Some(vec!["input".into(), "points".into()]),
            ),
        };
        UserError {
            code,
            field,
            message,
        }
    }
}

/// True when a database error is a unique-constraint violation (two writers raced for the
/// same key), on SQLite or PostgreSQL.
pub fn is_unique_violation(e: &DbErr) -> bool {
    let runtime = match e {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    runtime
        .as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// A mutation's failure by the rule of this module: a refusal of its request (a business rule,
/// or bad input) is its `userErrors` entry; anything else is a GraphQL error.
pub fn mutation_refusal(e: ServiceError) -> Result<UserError, async_graphql::Error> {
    e.into_refusal().map_err(to_graphql_error)
}

impl ServiceError {
    /// The `userErrors` entry this failure is in a mutation (and what an idempotency key
    /// remembers), by the rule of this module; the failure itself when it is not a refusal of
    /// the request.
    pub fn into_refusal(self) -> Result<UserError, ServiceError> {
        match self {
            ServiceError::User(refusal) => Ok(refusal),
            ServiceError::BadInput(message) => {
                Ok(UserError::general(UserErrorCode::InvalidInput, message))
            }
            other @ (ServiceError::Unauthenticated
            | ServiceError::Forbidden(_)
            | ServiceError::Db(_)
            | ServiceError::Corrupt(_)
            | ServiceError::PolicyNotCompiled { .. }) => Err(other),
        }
    }
}

/// The GraphQL error of a query's or a subscription's failure, and of a mutation's that is not
/// a refusal of its request ([`mutation_refusal`]). Internal detail is logged here and never
/// sent.
pub fn to_graphql_error(e: ServiceError) -> async_graphql::Error {
    let (code, message) = match &e {
        // Not found keeps its own code (`api.md`: a subscription or a lookup by key that names
        // nothing the caller may see); other refusals of a query's input are bad input.
        ServiceError::User(u) if u.code == UserErrorCode::NotFound => {
            (ErrorCode::NotFound, u.message.clone())
        }
        ServiceError::User(u) => (ErrorCode::BadUserInput, u.message.clone()),
        ServiceError::Unauthenticated => (ErrorCode::Unauthenticated, e.to_string()),
        ServiceError::Forbidden(m) => (ErrorCode::Forbidden, m.clone()),
        ServiceError::BadInput(m) => (ErrorCode::BadUserInput, m.clone()),
        ServiceError::Db(_) | ServiceError::Corrupt(_) | ServiceError::PolicyNotCompiled { .. } => {
            tracing::error!(error = %e, "internal error");
            (
                ErrorCode::Internal,
                "internal error; it has been logged".to_owned(),
            )
        }
    };
    code.error(message)
}
