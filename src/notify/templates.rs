//! The Korean notification texts: one template per template key (see `super::routing`) and
//! audience, rendered with minijinja from a committed [`Event`].
//!
//! A template reads like the message it makes: the first line is the subject (for mail; 알림톡
//! shows it as the first line), then the body. The templates live in this file as `&'static
//! str` so that a release carries its texts and a test renders every one the routing table
//! names; a typo in a variable fails that test, because undefined variables are errors.
//!
//! What a template sees (always defined; `none` when it does not apply):
//!
//! | variable | example | source |
//! |---|---|---|
//! | `customer`, `seller` | `홍길동`, `모아상점` | [`Names`] |
//! | `order_number` | `20261124-000123` | the event |
//! | `occurred_at` | `2026-11-24 14:00 (KST)` | the event, in Korean time |
//! | `awaiting_payment` | `true` | order events: `orderStatus` is `AWAITING_PAYMENT` |
//! | `claim_number` | `C20261124-0001` | claim events |
//! | `type_code`, `claim_type` | `EXCHANGE`, `교환` | the claim's status |
//! | `other_type` | `반품` | conversions: the type it becomes |
//! | `request_term` | `교환 신청` | the Korean name of the type's request |
//! | `status_code`, `status` | `EXCHANGE_COLLECTED`, `교환 수거 완료` | [`ClaimStatus::korean`] |
//! | `from_status`, `after_refund` | `EXCHANGE_COLLECTING`, `false` | payload `fromStatus` |
//! | `action` | `MARK_COLLECTED` | payload `action` ([`ClaimAction`] code) |
//! | `reason`, `hold_reason` | `사이즈·옵션 변경`, `검수 중` | payload `reason`, `holdReason` |
//! | `memo` | `포장 훼손` | payload `memo` (the note given with the action) |
//! | `fee_hold` | `true` | payload `hold` is `HELD` with `holdReason` `RETURN_FEE_UNPAID` |

use std::sync::OnceLock;

use chrono::FixedOffset;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::domain::claim::{ClaimAction, ClaimStatus, ClaimType, HoldReason, Reason};
use crate::outbox::{Audience, Event};

/// A rendered notification: a one-line subject and a plain-text body, in Korean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// `[주문번호 20261124-000123] 교환 상품이 수거 완료되었습니다`.
    pub subject: String,
    /// A few lines: the numbers, the status, what happens next.
    pub body: String,
}

/// The names a message addresses, looked up by the dispatcher (the event carries ids only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Names {
    /// The customer's name (`홍길동`).
    pub customer: String,
    /// The seller's shop name, for seller messages; `None` reads "판매자님".
    pub seller: Option<String>,
}

/// The template named `template` for `audience`: the name the environment knows it by, and a
/// stable code to register 알림톡 templates under (`claim.collected:CUSTOMER`).
pub fn template_name(template: &str, audience: Audience) -> String {
    format!("{template}:{}", audience_code(audience))
}

/// Renders the template for `audience` for `event`. Fails when no such template exists, when a
/// claim event has no readable status or claim number, or when the template fails to render.
pub fn render(
    template: &str,
    audience: Audience,
    event: &Event,
    names: &Names,
) -> Result<Rendered, String> {
    let env = environment()?;
    let name = template_name(template, audience);
    let compiled = env
        .get_template(&name)
        .map_err(|_| format!("no notification template `{name}`"))?;
    let context = Context::of(template, event, names)?;
    let text = compiled
        .render(&context)
        .map_err(|e| format!("template `{name}` failed for {}: {e}", event.event_id))?;
    split(&text).ok_or_else(|| format!("template `{name}` rendered no subject"))
}

const fn audience_code(audience: Audience) -> &'static str {
    match audience {
        Audience::Customer => "CUSTOMER",
        Audience::Seller => "SELLER",
    }
}

/// The subject (first line) and the body (the rest, blank runs collapsed to one blank line).
fn split(text: &str) -> Option<Rendered> {
    let text = text.replace("\r\n", "\n");
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    let subject = subject.trim();
    if subject.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut blank_run = 0;
    for line in body.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    Some(Rendered {
        subject: subject.to_owned(),
        body: out.trim_end().to_owned(),
    })
}

/// The environment, built once: every template parsed, undefined variables refused, no HTML
/// escaping (these are plain-text messages).
fn environment() -> Result<&'static Environment<'static>, String> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        for (name, source) in SOURCES {
            env.add_template(name, source)
                .map_err(|e| format!("notification template `{name}`: {e}"))?;
        }
        Ok(env)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Everything a template may read; see the module documentation.
#[derive(Debug, Serialize)]
struct Context<'a> {
    customer: &'a str,
    seller: Option<&'a str>,
    order_number: &'a str,
    occurred_at: String,
    awaiting_payment: bool,
    claim_number: Option<&'a str>,
    type_code: Option<&'static str>,
    claim_type: Option<&'static str>,
    other_type: Option<&'static str>,
    request_term: Option<&'static str>,
    status_code: Option<&'static str>,
    status: Option<&'static str>,
    from_status: Option<&'static str>,
    after_refund: bool,
    action: Option<&'static str>,
    reason: Option<&'static str>,
    hold_reason: Option<&'static str>,
    memo: Option<&'a str>,
    fee_hold: bool,
}

impl<'a> Context<'a> {
    fn of(template: &str, event: &'a Event, names: &'a Names) -> Result<Context<'a>, String> {
        let data = &event.data;
        let text = |key: &str| data[key].as_str().filter(|s| !s.trim().is_empty());
        let status = event
            .status
            .as_deref()
            .or_else(|| text("status"))
            .and_then(ClaimStatus::parse);
        let claim_number = event.claim_number.as_deref();
        if template.starts_with("claim.") {
            if status.is_none() {
                return Err(format!(
                    "{} ({}) has no readable claim status",
                    event.event_id, event.event_type
                ));
            }
            if claim_number.is_none() {
                return Err(format!(
                    "{} ({}) has no claim number",
                    event.event_id, event.event_type
                ));
            }
        }
        let claim_type = status.map(ClaimStatus::claim_type);
        let from = text("fromStatus").and_then(ClaimStatus::parse);
        let hold_reason = text("holdReason").and_then(HoldReason::parse);
        Ok(Context {
            customer: &names.customer,
            seller: names.seller.as_deref().filter(|s| !s.trim().is_empty()),
            order_number: &event.order_number,
            occurred_at: korean_time(event),
            awaiting_payment: text("orderStatus") == Some("AWAITING_PAYMENT"),
            claim_number,
            type_code: claim_type.map(ClaimType::as_str),
            claim_type: claim_type.map(ClaimType::korean),
            other_type: claim_type.and_then(converts_into).map(ClaimType::korean),
            request_term: claim_type.map(|t| requested(t).korean()),
            status_code: status.map(ClaimStatus::as_str),
            status: status.map(ClaimStatus::korean),
            from_status: from.map(ClaimStatus::as_str),
            after_refund: from.is_some_and(ClaimStatus::is_refunding),
            action: text("action")
                .and_then(ClaimAction::parse)
                .map(ClaimAction::as_str),
            reason: text("reason").and_then(Reason::parse).map(Reason::korean),
            hold_reason: hold_reason.map(HoldReason::korean),
            memo: text("memo").map(str::trim),
            fee_hold: text("hold") == Some("HELD")
                && hold_reason.is_some_and(HoldReason::is_fee_hold),
        })
    }
}

/// `2026-11-24 14:00 (KST)`: customers and sellers read Korean time.
fn korean_time(event: &Event) -> String {
    match FixedOffset::east_opt(9 * 3600) {
        Some(kst) => event
            .occurred_at
            .with_timezone(&kst)
            .format("%Y-%m-%d %H:%M (KST)")
            .to_string(),
        None => event.occurred_at.format("%Y-%m-%d %H:%M (UTC)").to_string(),
    }
}

/// The status a claim of this type is requested in; its Korean name is the request's.
const fn requested(claim_type: ClaimType) -> ClaimStatus {
    match claim_type {
        ClaimType::Cancel => ClaimStatus::CancelRequested,
        ClaimType::Return => ClaimStatus::ReturnRequested,
        ClaimType::Exchange => ClaimStatus::ExchangeRequested,
    }
}

/// The type a conversion turns a claim into.
const fn converts_into(claim_type: ClaimType) -> Option<ClaimType> {
    match claim_type {
        ClaimType::Cancel => None,
        ClaimType::Return => Some(ClaimType::Exchange),
        ClaimType::Exchange => Some(ClaimType::Return),
    }
}

/// The templates: `{key}:{AUDIENCE}` for messages, other names for shared parts.
const SOURCES: &[(&str, &str)] = &[
    // Shared parts.
    (
        "part:claim_summary",
        r#"주문번호: {{ order_number }}
클레임번호: {{ claim_number }}
처리 상태: {{ status }}
처리 일시: {{ occurred_at }}
"#,
    ),
    (
        "part:seller_title",
        r#"{{ seller ~ " 판매자님" if seller else "판매자님" }}"#,
    ),
    (
        "part:footer_customer",
        r#"
※ 이 메시지는 발신 전용입니다. 궁금한 점은 고객센터로 문의해 주세요.
"#,
    ),
    (
        "part:footer_seller",
        r#"
※ 판매자 센터에서 자세한 내용을 확인하고 처리해 주세요.
"#,
    ),
    // Orders.
    (
        "order.placed:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ "주문이 접수되었습니다 (입금 대기)" if awaiting_payment else "주문이 완료되었습니다" }}

{{ customer }}님, 주문해 주셔서 감사합니다.

주문번호: {{ order_number }}
주문 일시: {{ occurred_at }}

{% if awaiting_payment %}
입금 기한 안에 입금해 주세요. 입금이 확인되면 판매자가 상품 준비를 시작하며, 기한이 지나면 주문은 자동으로 취소됩니다.
{% else %}
결제가 완료되었습니다. 상품이 발송되면 다시 알려 드리겠습니다.
{% endif %}
{% include "part:footer_customer" %}
"#,
    ),
    (
        "order.placed:SELLER",
        r#"[주문번호 {{ order_number }}] {{ "새 주문이 들어왔습니다 (입금 대기)" if awaiting_payment else "새 주문이 들어왔습니다" }}

{% include "part:seller_title" %}, 새 주문이 들어왔습니다.

주문번호: {{ order_number }}
주문 일시: {{ occurred_at }}

{% if awaiting_payment %}
고객의 입금을 기다리는 주문입니다. 아직 발송하지 마세요. 입금이 확인되면 다시 알려 드리겠습니다.
{% else %}
결제가 완료된 주문입니다. 주문을 확인(발주 확인)하고 상품을 준비해 주세요.
{% endif %}
{% include "part:footer_seller" %}
"#,
    ),
    (
        "order.deposit_confirmed:CUSTOMER",
        r#"[주문번호 {{ order_number }}] 입금이 확인되었습니다

{{ customer }}님, 입금이 확인되어 결제가 완료되었습니다.

주문번호: {{ order_number }}
확인 일시: {{ occurred_at }}

판매자가 상품을 준비하고 있습니다. 상품이 발송되면 다시 알려 드리겠습니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "order.deposit_confirmed:SELLER",
        r#"[주문번호 {{ order_number }}] 입금이 확인된 주문이 있습니다

{% include "part:seller_title" %}, 고객의 입금이 확인되어 결제가 완료되었습니다.

주문번호: {{ order_number }}
확인 일시: {{ occurred_at }}

주문을 확인(발주 확인)하고 상품을 준비해 주세요.
{% include "part:footer_seller" %}
"#,
    ),
    (
        "order.shipped:CUSTOMER",
        r#"[주문번호 {{ order_number }}] 상품이 발송되었습니다

{{ customer }}님, 주문하신 상품이 발송되었습니다.

주문번호: {{ order_number }}
발송 일시: {{ occurred_at }}

배송 현황은 주문 상세에서 확인하실 수 있습니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "order.delivered:CUSTOMER",
        r#"[주문번호 {{ order_number }}] 배송이 완료되었습니다

{{ customer }}님, 주문하신 상품의 배송이 완료되었습니다.

주문번호: {{ order_number }}
배송 완료 일시: {{ occurred_at }}

상품을 받으셨다면 구매확정을 해 주세요. 상품에 문제가 있으면 주문 상세에서 반품이나 교환을 신청하실 수 있습니다. 구매확정을 하지 않으시면 일정 기간이 지난 뒤 자동으로 구매확정됩니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "order.purchase_confirmed:CUSTOMER",
        r#"[주문번호 {{ order_number }}] 구매확정되었습니다

{{ customer }}님, 주문하신 상품이 구매확정되었습니다.

주문번호: {{ order_number }}
구매확정 일시: {{ occurred_at }}

구매확정 후에는 상품 불량이나 오배송처럼 판매자에게 책임이 있는 경우에만 반품이나 교환을 신청하실 수 있습니다. 이용해 주셔서 감사합니다.
{% include "part:footer_customer" %}
"#,
    ),
    // Claims: requests.
    (
        "claim.requested:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ request_term }}이 접수되었습니다

{{ customer }}님, {{ request_term }}이 접수되었습니다.

{% include "part:claim_summary" %}
{% if reason %}
사유: {{ reason }}
{% endif %}

{% if other_type and action in ["CONVERT_TO_EXCHANGE", "CONVERT_TO_RETURN"] %}
기존 {{ other_type }} 신청이 {{ claim_type }}으로 변경되어 새로 접수되었습니다.
{% endif %}
{% if type_code == "CANCEL" %}
판매자가 상품 준비 상황을 확인한 뒤 취소를 승인하면 결제하신 수단으로 환불해 드립니다. 그 전에 상품이 발송되면 취소가 거부될 수 있으며, 이 경우 상품을 받으신 뒤 반품을 신청해 주세요.
{% elif type_code == "RETURN" %}
판매자가 신청 내용을 확인하고 승인하면 상품 수거가 시작됩니다. 받으신 상품과 구성품을 모두 포장해 두세요.
{% else %}
판매자가 신청 내용을 확인하고 승인하면 상품 수거가 시작되며, 수거한 상품을 확인한 뒤 교환 상품을 보내 드립니다.
{% endif %}
{% if fee_hold %}
교환 배송비를 결제하셔야 교환이 진행됩니다. 주문 상세에서 배송비를 결제해 주세요. 기한 안에 결제하지 않으시면 교환 신청은 자동으로 철회됩니다.
{% endif %}
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.requested:SELLER",
        r#"[주문번호 {{ order_number }}] 새 {{ request_term }}이 들어왔습니다

{% include "part:seller_title" %}, 새 {{ request_term }}이 들어왔습니다.

{% include "part:claim_summary" %}
{% if reason %}
사유: {{ reason }}
{% endif %}
{% if memo %}
메모: {{ memo }}
{% endif %}

{% if other_type and action in ["CONVERT_TO_EXCHANGE", "CONVERT_TO_RETURN"] %}
기존 {{ other_type }} 신청에서 변경된 신청입니다.
{% endif %}
{% if type_code == "CANCEL" %}
상품을 아직 발송하지 않았다면 취소를 승인해 주세요. 이미 발송했다면 송장을 등록해 주세요. 그러면 취소 요청은 자동으로 거부됩니다.
{% elif type_code == "RETURN" %}
신청 내용을 확인하고 반품을 승인하거나 거부해 주세요. 승인하면 상품 수거가 시작됩니다.
{% else %}
신청 내용과 교환 상품의 재고를 확인하고 교환을 승인하거나 거부해 주세요. 승인하면 상품 수거가 시작됩니다.
{% endif %}
{% if fee_hold %}
고객이 교환 배송비를 결제할 때까지 이 교환은 보류됩니다.
{% endif %}
{% include "part:footer_seller" %}
"#,
    ),
    // Claims: approved, collected.
    (
        "claim.collecting:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ request_term }}이 승인되었습니다

{{ customer }}님, {{ request_term }}이 승인되었습니다.

{% include "part:claim_summary" %}

곧 {{ claim_type }} 상품 수거가 진행됩니다. 받으신 상품과 구성품을 모두 포장해 두세요. 수거가 완료되면 다시 알려 드리겠습니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.collected:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ claim_type }} 상품이 수거 완료되었습니다

{{ customer }}님, {{ claim_type }} 상품이 판매자에게 도착했습니다.

{% include "part:claim_summary" %}

{% if type_code == "RETURN" %}
판매자가 상품을 검수한 뒤 반품을 완료하고 환불해 드립니다.
{% else %}
판매자가 상품을 검수한 뒤 교환 상품을 보내 드립니다.
{% endif %}
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.collected:SELLER",
        r#"[주문번호 {{ order_number }}] {{ claim_type }} 상품이 수거 완료되었습니다

{% include "part:seller_title" %}, {{ claim_type }} 상품이 수거되었습니다.

{% include "part:claim_summary" %}

{% if type_code == "RETURN" %}
상품을 검수한 뒤 반품 완료 처리를 해 주세요. 반품을 받아들일 수 없다면 사유를 적어 거부할 수 있으며, 이 경우 운영자의 승인이 필요합니다.
{% else %}
상품을 검수한 뒤 교환 상품을 발송해 주세요. 교환 상품을 보낼 수 없다면 환불로 처리할 수 있습니다.
{% endif %}
{% include "part:footer_seller" %}
"#,
    ),
    // Claims: money.
    (
        "claim.awaiting_fee:CUSTOMER",
        r#"[주문번호 {{ order_number }}] 반품 배송비 결제가 필요합니다

{{ customer }}님, 반품 상품의 검수가 끝났습니다.

{% include "part:claim_summary" %}

반품 배송비가 환불 금액보다 많아 차액을 결제하셔야 반품이 완료됩니다. 주문 상세에서 배송비를 결제해 주세요.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.refunding:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {% if type_code == "CANCEL" %}주문이 취소되어 환불이 진행 중입니다{% elif type_code == "RETURN" %}반품이 완료되어 환불이 진행 중입니다{% else %}교환이 환불로 처리되어 환불이 진행 중입니다{% endif %}

{% if type_code == "CANCEL" %}
{{ customer }}님, 주문 취소가 완료되었습니다.
{% elif type_code == "RETURN" %}
{{ customer }}님, 반품이 완료되었습니다.
{% else %}
{{ customer }}님, 판매자가 교환 상품을 보낼 수 없어 환불로 처리했습니다.
{% endif %}

{% include "part:claim_summary" %}

결제하신 수단으로 환불이 진행 중입니다. 카드 결제는 카드사 사정에 따라 환불이 반영되기까지 며칠이 걸릴 수 있습니다. 무통장입금으로 결제하셨다면 주문 상세에서 환불 계좌를 확인해 주세요. 환불이 완료되면 다시 알려 드리겠습니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.completed:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {% if after_refund %}{{ claim_type }} 환불이 완료되었습니다{% elif status_code == "CANCEL_COMPLETED" %}주문 취소가 완료되었습니다{% elif status_code == "EXCHANGE_REFUNDED" %}교환 환불이 완료되었습니다{% else %}{{ claim_type }}이 완료되었습니다{% endif %}

{% if after_refund %}
{{ customer }}님, 환불이 완료되었습니다.
{% elif status_code == "CANCEL_COMPLETED" %}
{{ customer }}님, 주문 취소가 완료되었습니다. 결제하신 금액은 결제 수단으로 환불해 드렸습니다.
{% elif status_code == "RETURN_COMPLETED" and action == "PAY_CLAIM_FEE" %}
{{ customer }}님, 반품 배송비 결제가 확인되어 반품이 완료되었습니다.
{% elif status_code == "RETURN_COMPLETED" and action == "WAIVE_CLAIM_FEE" %}
{{ customer }}님, 판매자가 반품 배송비를 면제하여 반품이 완료되었습니다.
{% elif status_code == "RETURN_COMPLETED" %}
{{ customer }}님, 반품과 환불이 완료되었습니다.
{% elif status_code == "EXCHANGE_REFUNDED" %}
{{ customer }}님, 판매자가 교환 상품을 보낼 수 없어 환불로 처리했으며, 환불이 완료되었습니다.
{% else %}
{{ customer }}님, 교환 상품의 배송이 완료되어 교환이 완료되었습니다.
{% endif %}

{% include "part:claim_summary" %}

{% if type_code == "EXCHANGE" and status_code == "EXCHANGE_COMPLETED" %}
이용해 주셔서 감사합니다.
{% else %}
카드 결제는 카드사 사정에 따라 환불이 반영되기까지 며칠이 걸릴 수 있습니다.
{% endif %}
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.reshipping:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ "교환 상품이 다시 발송되었습니다" if from_status == "EXCHANGE_RESHIPPING" else "교환 상품이 발송되었습니다" }}

{% if from_status == "EXCHANGE_RESHIPPING" %}
{{ customer }}님, 먼저 보내 드린 교환 상품의 배송에 문제가 있어 교환 상품을 다시 보내 드렸습니다.
{% else %}
{{ customer }}님, 교환 상품이 발송되었습니다.
{% endif %}

{% include "part:claim_summary" %}

상품을 받으시면 교환이 완료됩니다. 배송 현황은 주문 상세에서 확인하실 수 있습니다.
{% include "part:footer_customer" %}
"#,
    ),
    // Claims: refused, withdrawn, converted.
    (
        "claim.rejected:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ request_term }}이 거부되었습니다

{{ customer }}님, 죄송합니다. {{ request_term }}이 거부되었습니다.

{% include "part:claim_summary" %}
{% if memo %}
거부 사유: {{ memo }}
{% endif %}

{% if action == "SHIPPED_OVER_CANCEL" %}
상품이 이미 발송되어 취소할 수 없습니다. 상품을 받으신 뒤 반품을 신청해 주세요.
{% elif from_status in ["RETURN_COLLECTED", "RETURN_REJECT_PENDING", "EXCHANGE_COLLECTED", "EXCHANGE_REJECT_PENDING"] %}
수거한 상품은 다시 보내 드립니다.
{% endif %}
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.rejected:SELLER",
        r#"[주문번호 {{ order_number }}] {{ request_term }} 거부가 확정되었습니다

{% if from_status in ["RETURN_REJECT_PENDING", "EXCHANGE_REJECT_PENDING"] %}
{% include "part:seller_title" %}, 운영자가 {{ request_term }} 거부를 승인했습니다.
{% else %}
{% include "part:seller_title" %}, {{ request_term }}이 거부되었습니다.
{% endif %}

{% include "part:claim_summary" %}
{% if memo %}
거부 사유: {{ memo }}
{% endif %}

{% if from_status in ["RETURN_COLLECTED", "RETURN_REJECT_PENDING", "EXCHANGE_COLLECTED", "EXCHANGE_REJECT_PENDING"] %}
수거한 상품을 고객에게 다시 보내 주세요.
{% else %}
따로 처리할 일은 없습니다.
{% endif %}
{% include "part:footer_seller" %}
"#,
    ),
    (
        "claim.withdrawn:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ "교환 신청이 자동으로 철회되었습니다" if action == "FEE_UNPAID_TIMEOUT" else request_term ~ "이 철회되었습니다" }}

{% if action == "FEE_UNPAID_TIMEOUT" %}
{{ customer }}님, 교환 배송비가 기한 안에 결제되지 않아 교환 신청이 자동으로 철회되었습니다.
{% else %}
{{ customer }}님, 요청하신 대로 {{ request_term }}을 철회했습니다.
{% endif %}

{% include "part:claim_summary" %}

{% if action == "FEE_UNPAID_TIMEOUT" %}
수거한 상품이 있다면 다시 보내 드립니다. 교환이 필요하시면 다시 신청해 주세요.
{% elif type_code == "CANCEL" %}
주문은 그대로 진행되며, 상품이 발송되면 알려 드리겠습니다.
{% else %}
예약된 상품 수거도 취소되었습니다.
{% endif %}
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.withdrawn:SELLER",
        r#"[주문번호 {{ order_number }}] {{ "교환 배송비 미결제로 교환 신청이 철회되었습니다" if action == "FEE_UNPAID_TIMEOUT" else "고객이 " ~ request_term ~ "을 철회했습니다" }}

{% if action == "FEE_UNPAID_TIMEOUT" %}
{% include "part:seller_title" %}, 고객이 교환 배송비를 기한 안에 결제하지 않아 교환 신청이 자동으로 철회되었습니다.
{% else %}
{% include "part:seller_title" %}, 고객이 {{ request_term }}을 철회했습니다.
{% endif %}

{% include "part:claim_summary" %}

{% if type_code == "CANCEL" %}
주문을 그대로 준비해 발송해 주세요.
{% elif action == "FEE_UNPAID_TIMEOUT" %}
수거한 상품이 있다면 고객에게 다시 보내 주세요. 확보해 둔 교환 상품의 재고는 해제되었습니다.
{% elif type_code == "EXCHANGE" %}
예약된 상품 수거는 취소되었고, 확보해 둔 교환 상품의 재고는 해제되었습니다.
{% else %}
예약된 상품 수거는 취소되었습니다.
{% endif %}
{% include "part:footer_seller" %}
"#,
    ),
    (
        "claim.converted:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ claim_type }}이 {{ status }}되었습니다

{{ customer }}님, {{ request_term }}이 {{ other_type }} 신청으로 변경되었습니다.

{% include "part:claim_summary" %}

이 {{ claim_type }} 건은 종료되고 새 {{ other_type }} 신청으로 이어서 처리됩니다. 새 신청의 접수 안내를 따로 보내 드립니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.converted:SELLER",
        r#"[주문번호 {{ order_number }}] {{ claim_type }}이 {{ status }}되었습니다

{% include "part:seller_title" %}, {{ request_term }}이 {{ other_type }} 신청으로 변경되었습니다.

{% include "part:claim_summary" %}

이 {{ claim_type }} 건은 종료되었습니다. 새 {{ other_type }} 신청이 따로 접수되니 새 클레임에서 처리해 주세요.
{% if type_code == "EXCHANGE" %}
확보해 둔 교환 상품의 재고는 해제되었습니다.
{% endif %}
{% include "part:footer_seller" %}
"#,
    ),
    // Claims: holds and operator decisions (the status stays).
    (
        "claim.held:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {{ claim_type }} 처리가 보류되었습니다

{{ customer }}님, {{ request_term }}의 처리가 잠시 보류되었습니다.

{% include "part:claim_summary" %}
{% if hold_reason %}
보류 사유: {{ hold_reason }}
{% endif %}
{% if memo %}
안내: {{ memo }}
{% endif %}

보류가 풀리면 다시 알려 드리겠습니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.held:SELLER",
        r#"[주문번호 {{ order_number }}] {{ "보류 요청이 승인되었습니다" if action == "APPROVE_HOLD" else claim_type ~ " 건이 보류되었습니다" }}

{% if action == "APPROVE_HOLD" %}
{% include "part:seller_title" %}, 운영자가 {{ claim_type }} 건의 보류 요청을 승인했습니다.
{% else %}
{% include "part:seller_title" %}, {{ claim_type }} 건이 보류되었습니다.
{% endif %}

{% include "part:claim_summary" %}
{% if hold_reason %}
보류 사유: {{ hold_reason }}
{% endif %}
{% if memo %}
메모: {{ memo }}
{% endif %}

보류가 풀릴 때까지 승인, 수거 완료, 재배송 같은 처리는 할 수 없습니다. 거부와 전환은 보류 중에도 할 수 있습니다.
{% include "part:footer_seller" %}
"#,
    ),
    (
        "claim.hold_released:CUSTOMER",
        r#"[주문번호 {{ order_number }}] {% if action == "PAY_CLAIM_FEE" %}{{ claim_type }} 배송비 결제가 확인되었습니다{% elif action == "WAIVE_CLAIM_FEE" %}{{ claim_type }} 배송비가 면제되었습니다{% else %}{{ claim_type }} 처리가 다시 진행됩니다{% endif %}

{% if action == "PAY_CLAIM_FEE" %}
{{ customer }}님, {{ claim_type }} 배송비 결제가 확인되었습니다.
{% elif action == "WAIVE_CLAIM_FEE" %}
{{ customer }}님, 판매자가 {{ claim_type }} 배송비를 면제했습니다.
{% else %}
{{ customer }}님, {{ request_term }}의 보류가 해제되었습니다.
{% endif %}

{% include "part:claim_summary" %}

{{ request_term }}을 이어서 처리해 드리겠습니다.
{% include "part:footer_customer" %}
"#,
    ),
    (
        "claim.hold_released:SELLER",
        r#"[주문번호 {{ order_number }}] {% if action == "PAY_CLAIM_FEE" %}고객이 {{ claim_type }} 배송비를 결제했습니다{% elif action == "WAIVE_CLAIM_FEE" %}{{ claim_type }} 배송비가 면제되었습니다{% else %}{{ claim_type }} 건의 보류가 해제되었습니다{% endif %}

{% if action == "PAY_CLAIM_FEE" %}
{% include "part:seller_title" %}, 고객이 {{ claim_type }} 배송비를 결제하여 보류가 해제되었습니다.
{% elif action == "WAIVE_CLAIM_FEE" %}
{% include "part:seller_title" %}, {{ claim_type }} 배송비가 면제되어 보류가 해제되었습니다.
{% else %}
{% include "part:seller_title" %}, {{ claim_type }} 건의 보류가 해제되었습니다.
{% endif %}

{% include "part:claim_summary" %}

{{ claim_type }} 처리를 이어가 주세요.
{% include "part:footer_seller" %}
"#,
    ),
    (
        "claim.hold_declined:SELLER",
        r#"[주문번호 {{ order_number }}] 보류 요청이 반려되었습니다

{% include "part:seller_title" %}, 운영자가 {{ claim_type }} 건의 보류 요청을 반려했습니다.

{% include "part:claim_summary" %}
{% if memo %}
운영자 메모: {{ memo }}
{% endif %}

보류 없이 {{ claim_type }} 처리를 이어가 주세요.
{% include "part:footer_seller" %}
"#,
    ),
    (
        "claim.rejection_declined:SELLER",
        r#"[주문번호 {{ order_number }}] {{ claim_type }} 거부 요청이 반려되었습니다

{% include "part:seller_title" %}, 운영자가 {{ claim_type }} 거부 요청을 반려했습니다. 클레임은 '{{ status }}' 상태로 돌아갔습니다.

{% include "part:claim_summary" %}
{% if memo %}
운영자 메모: {{ memo }}
{% endif %}

{{ claim_type }} 처리를 이어가 주세요.
{% include "part:footer_seller" %}
"#,
    ),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::{json, Value};

    use super::*;
    use crate::notify::routing::{On, RULES};

    fn event(event_type: &str, status: Option<ClaimStatus>, data: Value) -> Event {
        Event {
            id: 1,
            event_id: "evt_1".into(),
            event_type: event_type.into(),
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 24, 5, 0, 0).unwrap(),
            order_number: "20261124-000123".into(),
            claim_number: status.map(|_| "C20261124-0001".into()),
            claim_type: status.map(|s| s.claim_type().as_str().into()),
            status: status.map(|s| s.as_str().into()),
            seller_ids: vec![7],
            customer_id: 3,
            data,
        }
    }

    fn names(seller: Option<&str>) -> Names {
        Names {
            customer: "홍길동".into(),
            seller: seller.map(str::to_owned),
        }
    }

    /// Checks what every message must be: the subject's prefix, no unrendered or `none` text.
    fn check(rendered: &Rendered, what: &str) {
        assert!(
            rendered.subject.starts_with("[주문번호 20261124-000123] "),
            "{what}: subject {:?}",
            rendered.subject
        );
        assert!(!rendered.subject.contains('\n'), "{what}");
        for text in [&rendered.subject, &rendered.body] {
            for bad in ["none", "None", "{{", "{%", "}}", "  "] {
                assert!(!text.contains(bad), "{what}: {bad:?} in {text}");
            }
        }
        assert!(
            rendered.body.lines().count() >= 3,
            "{what}: {}",
            rendered.body
        );
        assert!(!rendered.body.contains("\n\n\n"), "{what}");
    }

    /// Every template the routing table names renders for its audience, across the payload
    /// variants its branches read (actions, previous statuses, memo, reasons, holds).
    #[test]
    fn every_routed_template_renders() {
        // The codes the templates compare against, so that every branch is taken; an action
        // no template names stands for all the others.
        let quoted: Vec<&str> = SOURCES
            .iter()
            .flat_map(|(_, source)| source.split('"').skip(1).step_by(2))
            .collect();
        let mut branch_actions: Vec<ClaimAction> = quoted
            .iter()
            .filter_map(|q| ClaimAction::parse(q))
            .collect();
        branch_actions.push(ClaimAction::Approve);
        branch_actions.sort();
        branch_actions.dedup();
        let mut branch_statuses: Vec<ClaimStatus> = quoted
            .iter()
            .filter_map(|q| ClaimStatus::parse(q))
            .collect();
        branch_statuses.push(ClaimStatus::ExchangeCollecting);
        branch_statuses.sort();
        branch_statuses.dedup();
        assert!(branch_actions.len() > 5 && branch_statuses.len() > 5);
        let mut rendered = 0;
        for rule in RULES {
            let (triggers, statuses): (Vec<String>, Vec<ClaimStatus>) = match rule.on {
                On::Exact(key) if key.starts_with("order.") => (vec![key.to_owned()], vec![]),
                // Named claim changes happen in any status that can be held.
                On::Exact(key) => (
                    vec![key.to_owned()],
                    ClaimStatus::ALL
                        .iter()
                        .copied()
                        .filter(|s| s.is_holdable())
                        .collect(),
                ),
                On::Statuses(statuses) => (vec![], statuses.to_vec()),
            };
            let sellers: &[Option<&str>] = match rule.audience {
                Audience::Customer => &[None],
                Audience::Seller => &[Some("모아상점"), None],
            };
            for seller in sellers.iter().copied() {
                let names = names(seller);
                if statuses.is_empty() {
                    for order_status in ["PAID", "AWAITING_PAYMENT"] {
                        let e = event(
                            &triggers[0],
                            None,
                            json!({"orderStatus": order_status, "lineIds": [1]}),
                        );
                        let r = render(rule.template, rule.audience, &e, &names)
                            .unwrap_or_else(|err| panic!("{err}"));
                        check(&r, rule.template);
                        rendered += 1;
                    }
                    continue;
                }
                for status in &statuses {
                    let froms: Vec<Value> = std::iter::once(Value::Null)
                        .chain(branch_statuses.iter().map(|s| json!(s.as_str())))
                        .collect();
                    for action in &branch_actions {
                        for from in &froms {
                            for extra in [
                                json!({}),
                                json!({"memo": "포장 훼손", "reason": "DEFECTIVE",
                                       "hold": "HELD", "holdReason": "RETURN_FEE_UNPAID"}),
                            ] {
                                let mut data = json!({
                                    "action": action.as_str(),
                                    "fromStatus": from,
                                    "status": status.as_str(),
                                });
                                if let (Some(d), Some(x)) =
                                    (data.as_object_mut(), extra.as_object())
                                {
                                    d.extend(x.clone());
                                }
                                let event_type = crate::outbox::claim_event_type(*status);
                                let e = event(&event_type, Some(*status), data);
                                let r = render(rule.template, rule.audience, &e, &names)
                                    .unwrap_or_else(|err| {
                                        panic!("{} {action} {from}: {err}", rule.template)
                                    });
                                check(&r, rule.template);
                                rendered += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(rendered > 1000, "only {rendered} renders");
    }

    /// No template is left unused by the routing table (shared parts aside).
    #[test]
    fn every_template_is_routed() {
        for (name, _) in SOURCES {
            if name.starts_with("part:") {
                continue;
            }
            assert!(
                RULES
                    .iter()
                    .any(|r| template_name(r.template, r.audience) == *name),
                "{name} is not in the routing table"
            );
        }
    }

    #[test]
    fn the_issue_example() {
        let e = event(
            "claim.exchange_collected",
            Some(ClaimStatus::ExchangeCollected),
            json!({"action": "MARK_COLLECTED", "fromStatus": "EXCHANGE_COLLECTING",
                   "status": "EXCHANGE_COLLECTED"}),
        );
        let r = render("claim.collected", Audience::Customer, &e, &names(None)).unwrap();
        assert_eq!(
            r.subject,
            "[주문번호 20261124-000123] 교환 상품이 수거 완료되었습니다"
        );
        assert!(r
            .body
            .starts_with("홍길동님, 교환 상품이 판매자에게 도착했습니다.\n"));
        assert!(r.body.contains("클레임번호: C20261124-0001\n"));
        assert!(r.body.contains("처리 상태: 교환 수거 완료\n"));
        assert!(r.body.contains("처리 일시: 2026-11-24 14:00 (KST)\n"));
        assert!(r.body.contains("교환 상품을 보내 드립니다."));
        let seller = render(
            "claim.collected",
            Audience::Seller,
            &e,
            &names(Some("모아상점")),
        )
        .unwrap();
        assert!(seller
            .body
            .starts_with("모아상점 판매자님, 교환 상품이 수거되었습니다."));
    }

    #[test]
    fn branches_read_the_payload() {
        let placed = |status: &str| {
            let e = event("order.placed", None, json!({"orderStatus": status}));
            render("order.placed", Audience::Customer, &e, &names(None)).unwrap()
        };
        assert!(placed("AWAITING_PAYMENT").subject.ends_with("(입금 대기)"));
        assert!(placed("PAID").subject.ends_with("주문이 완료되었습니다"));

        let rejected = event(
            "claim.cancel_rejected",
            Some(ClaimStatus::CancelRejected),
            json!({"action": "SHIPPED_OVER_CANCEL", "fromStatus": "CANCEL_REQUESTED",
                   "status": "CANCEL_REJECTED"}),
        );
        let r = render(
            "claim.rejected",
            Audience::Customer,
            &rejected,
            &names(None),
        )
        .unwrap();
        assert!(r.subject.ends_with("취소 요청이 거부되었습니다"));
        assert!(r.body.contains("이미 발송되어"));

        let timeout = event(
            "claim.exchange_withdrawn",
            Some(ClaimStatus::ExchangeWithdrawn),
            json!({"action": "FEE_UNPAID_TIMEOUT", "fromStatus": "EXCHANGE_REQUESTED",
                   "status": "EXCHANGE_WITHDRAWN"}),
        );
        let r = render(
            "claim.withdrawn",
            Audience::Customer,
            &timeout,
            &names(None),
        )
        .unwrap();
        assert!(r.subject.ends_with("교환 신청이 자동으로 철회되었습니다"));

        let converted = event(
            "claim.return_converted",
            Some(ClaimStatus::ReturnConverted),
            json!({"action": "CONVERT_TO_EXCHANGE", "fromStatus": "RETURN_REQUESTED",
                   "status": "RETURN_CONVERTED"}),
        );
        let r = render(
            "claim.converted",
            Audience::Customer,
            &converted,
            &names(None),
        )
        .unwrap();
        assert!(r.subject.ends_with("반품이 교환으로 변경되었습니다"));

        let refunded = event(
            "claim.cancel_completed",
            Some(ClaimStatus::CancelCompleted),
            json!({"action": "REFUND_SUCCEEDED", "fromStatus": "CANCEL_REFUNDING",
                   "status": "CANCEL_COMPLETED"}),
        );
        let r = render(
            "claim.completed",
            Audience::Customer,
            &refunded,
            &names(None),
        )
        .unwrap();
        assert!(r.subject.ends_with("취소 환불이 완료되었습니다"));
    }

    #[test]
    fn unknown_templates_and_statusless_claims_are_errors() {
        let e = event("order.placed", None, json!({}));
        assert!(render("order.nope", Audience::Customer, &e, &names(None))
            .unwrap_err()
            .contains("order.nope:CUSTOMER"));
        // A claim template needs the claim's status.
        assert!(
            render("claim.collected", Audience::Customer, &e, &names(None))
                .unwrap_err()
                .contains("claim status")
        );
    }
}
