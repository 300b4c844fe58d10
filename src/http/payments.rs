//! `POST /webhooks/payments`: the payment gateway's deposit callback (Toss Payments'
//! `DEPOSIT_CALLBACK`): a customer deposited into the virtual account issued for an order.
//!
//! Body: `{"createdAt": "...", "secret": "...", "status": "DONE", "transactionKey": "...",
//! "orderId": "20261124-000123"}`. Genuine only when `secret` is the one the gateway gave
//! with the account, and confirmed by looking the payment up again before anything is
//! recorded; recorded once however often it is sent. A wrong secret and an order with no
//! virtual account get the same answer. Every refusal is logged. The gateway resends a
//! callback that was not answered 200.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::HttpState;
use crate::codes::ErrorCode;
use crate::service::payments::{self, CallbackOutcome, DepositCallback};

/// The largest callback body accepted; the gateway's are a few hundred bytes.
pub const MAX_CALLBACK_BYTES: usize = 16 * 1024;

fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code.as_str(), "message": message}})),
    )
        .into_response()
}

/// Applies one deposit callback.
pub async fn deposit_callback(
    State(state): State<HttpState>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    // The route's body limit stops reading just past the limit; either way the answer is ours.
    let Ok(body) = body else {
        tracing::warn!("deposit callback refused: too large or unreadable");
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            "a deposit callback is at most 16 KiB",
        );
    };
    if body.len() > MAX_CALLBACK_BYTES {
        tracing::warn!(bytes = body.len(), "deposit callback refused: too large");
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            "a deposit callback is at most 16 KiB",
        );
    }
    let Ok(callback) = serde_json::from_slice::<DepositCallback>(&body) else {
        tracing::warn!("deposit callback refused: not a callback body");
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "expected {orderId, status, secret, transactionKey, createdAt}",
        );
    };
    let order_id = callback.order_id.chars().take(64).collect::<String>();
    let outcome = match payments::deposit_callback(&state.app, callback).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(error = %e, order = ?order_id, "deposit callback failed");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error; it has been logged; send the callback again",
            );
        }
    };
    let answer = |result: &str| Json(json!({"result": result})).into_response();
    match outcome {
        CallbackOutcome::Recorded => {
            tracing::info!(order = ?order_id, "deposit recorded");
            answer("RECORDED")
        }
        CallbackOutcome::AlreadyRecorded => {
            tracing::info!(order = ?order_id, "deposit callback replayed; nothing changed");
            answer("ALREADY_RECORDED")
        }
        CallbackOutcome::Ignored => {
            tracing::info!(order = ?order_id, "deposit callback of another status; nothing changed");
            answer("IGNORED")
        }
        // One answer for both, so that a caller without the secret learns nothing about
        // which order numbers have a virtual account; the log tells them apart.
        CallbackOutcome::UnknownOrder | CallbackOutcome::Forged => {
            let why = if outcome == CallbackOutcome::Forged {
                "wrong secret (forged?)"
            } else {
                "no virtual account of ours"
            };
            tracing::warn!(order = ?order_id, why, "deposit callback refused");
            refuse(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "no virtual account of this orderId takes this secret",
            )
        }
        CallbackOutcome::NotConfirmed => {
            tracing::warn!(order = ?order_id, "deposit callback refused: the gateway reports no deposit");
            refuse(
                StatusCode::CONFLICT,
                ErrorCode::DepositNotConfirmed,
                "the payment gateway does not report this payment as deposited",
            )
        }
        CallbackOutcome::AmountDiffers => refuse(
            StatusCode::CONFLICT,
            ErrorCode::DepositNotConfirmed,
            "the payment gateway reports less than the order owes; nothing was recorded",
        ),
        CallbackOutcome::GatewayUnavailable => {
            tracing::warn!(order = ?order_id, "deposit callback deferred: the gateway did not answer");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::GatewayUnavailable,
                "the payment gateway could not confirm the deposit now; send the callback again",
            )
        }
    }
}
