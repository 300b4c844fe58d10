//! `POST /webhooks/courier`: the courier's tracking events. Authenticated by the shared secret
//! in `X-Courier-Token`; idempotent per `eventId`.
//!
//! Body: `{"eventId": "...", "courier": "CJ대한통운", "trackingNumber": "...", "event":
//! "PICKED_UP" | "DELIVERED"}`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use crate::codes::ErrorCode;
use crate::error::ServiceError;
use crate::service::courier::{self, TrackingEvent, TrackingEventKind};

/// The event as the courier sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrackingEventBody {
    event_id: String,
    courier: String,
    tracking_number: String,
    event: String,
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Applies one tracking event.
pub async fn tracking_event(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get("x-courier-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !crate::auth::secrets_match(token, &state.app.courier_secret) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated.as_str(),
            "send the courier secret in X-Courier-Token",
        );
    }
    let Ok(ev) = serde_json::from_slice::<TrackingEventBody>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest.as_str(),
            "expected {eventId, courier, trackingNumber, event}",
        );
    };
    if let Err(e) = courier::check_text(&ev.event_id, &ev.courier, &ev.tracking_number, &ev.event) {
        return refuse(StatusCode::BAD_REQUEST, e.code.name(), &e.message);
    }
    let kind = match ev.event.as_str() {
        "PICKED_UP" => TrackingEventKind::PickedUp,
        "DELIVERED" => TrackingEventKind::Delivered,
        other => {
            return refuse(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest.as_str(),
                &format!("unknown event `{other}`: PICKED_UP or DELIVERED"),
            )
        }
    };
    if ev.event_id.trim().is_empty() || ev.tracking_number.trim().is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest.as_str(),
            "eventId and trackingNumber must not be empty",
        );
    }
    let event = TrackingEvent {
        event_id: ev.event_id,
        courier: ev.courier,
        tracking_number: ev.tracking_number,
        kind,
    };
    match courier::apply(&state.app, event).await {
        Ok(outcome) => Json(json!({
            "duplicate": outcome.duplicate,
            "claims": outcome.claims.iter().map(|(n, s)| json!({"claimNumber": n, "status": s})).collect::<Vec<_>>(),
            "linesDelivered": outcome.lines_delivered,
        }))
        .into_response(),
        Err(ServiceError::User(e)) => refuse(StatusCode::CONFLICT, e.code.name(), &e.message),
        Err(e) => {
            tracing::error!(error = %e, "courier event failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal.as_str(), "internal error; it has been logged; send the event again")
        }
    }
}
