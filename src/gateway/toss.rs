//! Toss Payments' core API v1 (`README.md` "Payments: Toss Payments"): confirming an
//! authorization the customer made in the payment widget, looking a payment up by key or by
//! order id, and cancelling part of a payment (a refund).
//!
//! - Every call carries the shop's secret key as HTTP Basic credentials (`base64(key + ":")`:
//!   the key is the user name, there is no password). It goes over HTTPS only (plain HTTP to a
//!   stand-in on loopback), and it appears in no error message, log line or `Debug` output.
//! - A cancel carries the refund part's idempotency key in `Idempotency-Key`: Toss answers a
//!   repeat with the first answer and moves no money twice. A confirm needs none: a repeat is
//!   refused as `ALREADY_PROCESSED_PAYMENT`, and the OMS looks the payment up instead.
//! - A refusal is `{code, message}`; [`TOSS_ERRORS`] says what the OMS does about each code
//!   (README's table is checked against it). A code the table lacks is retried after a 5xx
//!   and given up after a 4xx. No answer in time is `TIMEOUT`, no connection `NETWORK`, and an
//!   answer that is not what the API documents `INVALID_ANSWER`: all three are retried, since
//!   the call may have been carried out and the retry (or a look-up) reads its result.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use futures_util::future::BoxFuture;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::*;
use crate::domain::text::{self, Limit};
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
    /// What it means, in a few words, with the gist of Toss' Korean message.
    pub meaning: &'static str,
    /// The code says the shop's secret key is refused: the call is retried (the operator fixes
    /// the configuration, nothing about the payment is wrong) and an error is logged.
    pub key_refused: bool,
}

impl TossErrorRow {
    /// What the OMS does about the code, in words (the second column of README's table).
    pub const fn what_the_oms_does(&self) -> &'static str {
        if self.key_refused {
            return "retry with the same key; an error is logged: check the secret key";
        }
        match self.outcome {
            Outcome::Retry => "retry with the same key",
            Outcome::GiveUp => "give up (refund part FAILED, confirmation refused)",
            Outcome::NeedsAccount => "wait for a refund account",
            Outcome::AlreadyProcessed => "look the payment up",
        }
    }
}

const fn row(code: &'static str, outcome: Outcome, meaning: &'static str) -> TossErrorRow {
    TossErrorRow {
        code,
        outcome,
        meaning,
        key_refused: false,
    }
}

const fn key_row(code: &'static str, meaning: &'static str) -> TossErrorRow {
    TossErrorRow {
        code,
        outcome: Outcome::Retry,
        meaning,
        key_refused: true,
    }
}

/// The provider's error codes this adapter knows, and what each one makes the OMS do. `README.md`
/// ("Gateway error codes") lists the same rows in the same order; a unit test holds them equal.
pub const TOSS_ERRORS: &[TossErrorRow] = &[
    row(
        "ALREADY_PROCESSED_PAYMENT",
        Outcome::AlreadyProcessed,
        "the payment was confirmed already (이미 처리된 결제)",
    ),
    row(
        "PROVIDER_ERROR",
        Outcome::Retry,
        "a passing error at the card company or bank (일시적인 오류)",
    ),
    row(
        "FAILED_INTERNAL_SYSTEM_PROCESSING",
        Outcome::Retry,
        "an internal error at Toss (내부 시스템 처리 작업 실패)",
    ),
    row(
        "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
        Outcome::Retry,
        "the payment was not completed by Toss' systems (결제가 완료되지 않음)",
    ),
    row(
        "FAILED_REFUND_PROCESS",
        Outcome::Retry,
        "the bank could not pay the refund just now (은행 응답 지연 등으로 환불 실패)",
    ),
    row(
        "IDEMPOTENT_REQUEST_PROCESSING",
        Outcome::Retry,
        "a request with the same idempotency key is still under way (이전 요청 처리 중)",
    ),
    row(
        "FORBIDDEN_CONSECUTIVE_REQUEST",
        Outcome::Retry,
        "too many requests in a row (반복적인 요청은 허용되지 않음)",
    ),
    row(
        "REJECT_CARD_PAYMENT",
        Outcome::GiveUp,
        "the card's limit is exceeded or its balance too low (한도초과 혹은 잔액부족)",
    ),
    row(
        "REJECT_CARD_COMPANY",
        Outcome::GiveUp,
        "the card company declined the payment (결제 승인 거절)",
    ),
    row(
        "INVALID_CARD_EXPIRATION",
        Outcome::GiveUp,
        "the card's expiry date is wrong (카드 유효기간 오류)",
    ),
    row(
        "INVALID_STOPPED_CARD",
        Outcome::GiveUp,
        "the card is suspended (정지된 카드)",
    ),
    row(
        "EXCEED_MAX_DAILY_PAYMENT_COUNT",
        Outcome::GiveUp,
        "the day's number of payments is used up (하루 결제 가능 횟수 초과)",
    ),
    row(
        "EXCEED_MAX_PAYMENT_AMOUNT",
        Outcome::GiveUp,
        "more than the payment limit (하루 결제 가능 금액 초과)",
    ),
    row(
        "BELOW_MINIMUM_AMOUNT",
        Outcome::GiveUp,
        "less than the method's minimum amount (최소 결제 금액 미만)",
    ),
    row(
        "NOT_FOUND_PAYMENT",
        Outcome::GiveUp,
        "no such payment (존재하지 않는 결제 정보)",
    ),
    row(
        "NOT_FOUND_PAYMENT_SESSION",
        Outcome::GiveUp,
        "the authorization lapsed before it was confirmed (결제 시간 만료)",
    ),
    row(
        "INVALID_REQUEST",
        Outcome::GiveUp,
        "a malformed request, or an amount other than the one authorized (잘못된 요청)",
    ),
    row(
        "ALREADY_CANCELED_PAYMENT",
        Outcome::GiveUp,
        "the payment is cancelled already (이미 취소된 결제)",
    ),
    row(
        "NOT_CANCELABLE_AMOUNT",
        Outcome::GiveUp,
        "more than what is left of the payment (취소할 수 없는 금액)",
    ),
    row(
        "NOT_CANCELABLE_PAYMENT",
        Outcome::GiveUp,
        "the payment cannot be cancelled (취소할 수 없는 결제)",
    ),
    row(
        "EXCEED_MAX_REFUND_DUE",
        Outcome::GiveUp,
        "the period for refunds is over (환불 가능 기간 경과)",
    ),
    row(
        "NOT_ALLOWED_PARTIAL_REFUND",
        Outcome::GiveUp,
        "no partial refund of an escrow or cash-card payment (부분 환불 불가)",
    ),
    row(
        "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
        Outcome::GiveUp,
        "no partial refund while the deposit is awaited (입금 대기 중 부분 환불 불가)",
    ),
    row(
        "REFUND_REJECTED",
        Outcome::GiveUp,
        "the refund was rejected (환불 거절)",
    ),
    row(
        "ALREADY_REFUND_PAYMENT",
        Outcome::GiveUp,
        "the payment is refunded already (이미 환불된 결제)",
    ),
    row(
        "FORBIDDEN_REQUEST",
        Outcome::GiveUp,
        "a request this shop may not make (허용되지 않은 요청)",
    ),
    row(
        "INVALID_REFUND_ACCOUNT_INFO",
        Outcome::NeedsAccount,
        "no refund account, or its number and holder do not match (환불 계좌 정보 불일치)",
    ),
    row(
        "INVALID_REFUND_ACCOUNT_NUMBER",
        Outcome::NeedsAccount,
        "a wrong refund account number (잘못된 환불 계좌번호)",
    ),
    row(
        "INVALID_BANK",
        Outcome::NeedsAccount,
        "a bank Toss does not know (유효하지 않은 은행)",
    ),
    row(
        "FORBIDDEN_BANK_REFUND_REQUEST",
        Outcome::NeedsAccount,
        "the customer's account takes no deposits (고객 계좌가 입금이 되지 않는 상태)",
    ),
    key_row(
        "UNAUTHORIZED_KEY",
        "the secret key is not recognised (인증되지 않은 시크릿 키)",
    ),
    key_row(
        "INVALID_API_KEY",
        "a wrong secret key (잘못된 시크릿 키 연동 정보)",
    ),
    key_row(
        "INCORRECT_BASIC_AUTH_FORMAT",
        "a malformed Authorization header (잘못된 인증 헤더 형식)",
    ),
];

/// The row of `code`, if the table has one.
fn toss_error(code: &str) -> Option<&'static TossErrorRow> {
    TOSS_ERRORS.iter().find(|r| r.code == code)
}

/// Characters of a path segment sent as they are (RFC 3986's unreserved ones); any other is
/// percent-encoded, so a key or an order id can never reach another endpoint.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The secret a virtual account's deposit callbacks carry (Toss' are 50 characters).
const SECRET: Limit = Limit::line(200);

/// The most characters of a provider's message kept in an error (they end up in logs and in
/// a refund part's last error).
const MESSAGE_CHARS: usize = 500;

/// The Toss Payments adapter. Its `Debug` output never shows the secret key.
#[derive(Clone)]
pub struct TossGateway {
    base_url: String,
    /// `Basic base64(secretKey + ":")`, marked sensitive.
    authorization: HeaderValue,
    client: reqwest::Client,
}

impl fmt::Debug for TossGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TossGateway")
            .field("base_url", &self.base_url)
            .field("secret_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl TossGateway {
    /// An adapter for the API at `base_url` (`https://`, or `http://` to a stand-in on
    /// loopback) with the shop's secret key, a timeout per call, certificates checked against
    /// `tls`, and `identity` presented when the server asks for a client certificate.
    pub fn new(
        base_url: &str,
        secret_key: &str,
        timeout: Duration,
        tls: &Tls,
        identity: Option<&ClientIdentity>,
    ) -> Result<TossGateway, String> {
        check_base_url(base_url)?;
        let authorization = basic_authorization(secret_key)?;
        let client = tls
            .http_client(identity)
            .map_err(|e| format!("the payment gateway's TLS: {e}"))?
            .timeout(timeout)
            // The API never redirects; following one would send the secret key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the payment gateway's HTTP client: {e}"))?;
        Ok(TossGateway {
            base_url: base_url.trim_end_matches('/').to_owned(),
            authorization,
            client,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends `request` with the credentials; a 2xx answer is read as `T`, anything else as a
    /// refusal.
    async fn call<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, GatewayError> {
        let response = request
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(refusal(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| {
            invalid_answer(format!(
                "the {status} answer is not what the API documents: {e}"
            ))
        })
    }

    async fn payment_at(&self, path: String) -> Result<Payment, GatewayError> {
        let wire: WirePayment = self.call(self.client.get(self.url(&path))).await?;
        wire.parse()
    }
}

/// Refuses a base URL the secret key must not be sent to.
fn check_base_url(base_url: &str) -> Result<(), String> {
    let url = url::Url::parse(base_url)
        .map_err(|e| format!("--payment-gateway-url {base_url:?} is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: what stands before `@` may be a credential.
        return Err(
            "--payment-gateway-url has a user name or password in it: the secret key \
                    goes in OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE (or --payment-gateway-secret-key)"
                .to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "--payment-gateway-url {base_url} has a `?` or `#` part: give the API's base URL \
             alone (https://api.tosspayments.com)"
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if on_loopback(&url) => Ok(()),
        "http" => Err(format!(
            "--payment-gateway-url {base_url} is plain http:// to another machine: the secret \
             key would cross the network readable; use https:// (plain http:// is for a \
             stand-in on loopback: 127.0.0.0/8, ::1, localhost)"
        )),
        other => Err(format!(
            "--payment-gateway-url {base_url} has the scheme {other}: use https://"
        )),
    }
}

fn on_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The `Authorization` header of `secret_key`. A refusal never quotes the key.
fn basic_authorization(secret_key: &str) -> Result<HeaderValue, String> {
    use base64::Engine as _;
    const SET_IT: &str =
        "set OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE (or --payment-gateway-secret-key)";
    if secret_key.is_empty() {
        return Err(format!("the Toss Payments secret key is empty: {SET_IT}"));
    }
    if let Some(at) = secret_key
        .chars()
        .position(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err(format!(
            "the Toss Payments secret key has a space, a control character or a `:` at \
             character {}: a key is one word (`test_sk_...`, `live_sk_...`); {SET_IT}",
            at + 1
        ));
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:"));
    let mut value = HeaderValue::try_from(format!("Basic {encoded}")).map_err(|_| {
        format!("the Toss Payments secret key cannot be sent in a header: {SET_IT}")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A request that got no usable answer: a timeout, or no connection (a TLS refusal says why
/// and which flag to set).
fn transport(e: reqwest::Error) -> GatewayError {
    if e.is_timeout() {
        GatewayError::timeout()
    } else {
        GatewayError::new("NETWORK", crate::tls::explain(&e), Outcome::Retry)
    }
}

fn invalid_answer(message: String) -> GatewayError {
    GatewayError::new("INVALID_ANSWER", message, Outcome::Retry)
}

/// A non-2xx answer: the provider's `{code, message}` mapped through [`TOSS_ERRORS`].
fn refusal(status: StatusCode, body: &[u8]) -> GatewayError {
    #[derive(Deserialize)]
    struct WireError {
        code: Option<String>,
        message: Option<String>,
    }
    let wire = serde_json::from_slice::<WireError>(body).ok();
    // A code is an upper-case identifier; anything else (an HTML error page from a proxy,
    // garbage) counts as no code.
    let code = wire.as_ref().and_then(|w| w.code.clone()).filter(|c| {
        !c.is_empty()
            && c.len() <= 64
            && c.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    });
    let message = wire
        .and_then(|w| w.message)
        .map(|m| clip(&m))
        .unwrap_or_else(|| format!("HTTP {status} without an error message"));
    let Some(code) = code else {
        return GatewayError::new(
            &format!("HTTP_{}", status.as_u16()),
            message,
            outcome_of_status(status),
        );
    };
    match toss_error(&code) {
        Some(row) => {
            if row.key_refused {
                tracing::error!(
                    code = row.code,
                    "Toss Payments refuses the shop's secret key: check \
                     OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE (--payment-gateway-secret-key) and that \
                     the key fits --payment-gateway-url (test_sk_ or live_sk_); payment calls \
                     are retried until it is fixed"
                );
            }
            GatewayError::new(row.code, message, row.outcome)
        }
        None => GatewayError::new(&code, message, outcome_of_status(status)),
    }
}

/// What to do about a code the table lacks: the status decides.
fn outcome_of_status(status: StatusCode) -> Outcome {
    // 429 is a rate limiter in front of the API: it passes, like a 5xx.
    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        Outcome::GiveUp
    } else {
        Outcome::Retry
    }
}

/// At most [`MESSAGE_CHARS`] characters, on one line.
fn clip(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MESSAGE_CHARS)
        .collect()
}

/// Won from a JSON number: an integer, or a float with no fraction (`15000.0`).
fn won<'de, D: Deserializer<'de>>(d: D) -> Result<Won, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(Won::new(i));
    }
    match n.as_f64() {
        // Whole and well within i64: the cast is exact.
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Won::new(f as i64)),
        _ => Err(serde::de::Error::custom(format!(
            "{n} is not a whole number of won"
        ))),
    }
}

/// A time as Toss writes it (`2026-12-10T23:59:59+09:00`); one without an offset is Korean
/// time.
fn parse_time(field: &str, value: &str) -> Result<DateTime<Utc>, GatewayError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let kst = FixedOffset::east_opt(9 * 3600)
        .ok_or_else(|| invalid_answer("Korean time's offset".to_owned()))?;
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .and_then(|t| kst.from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            invalid_answer(format!(
                "{field} {:?} is not a time (expected 2026-12-10T23:59:59+09:00)",
                clip(value)
            ))
        })
}

/// A value the OMS stores, checked like one a person typed: a NUL or a megabyte from a broken
/// answer would otherwise fail the database write after the money moved.
fn stored(field: &str, value: String, limit: Limit) -> Result<String, GatewayError> {
    limit
        .check(&value)
        .map_err(|e| invalid_answer(format!("the answer's {}", e.message(field))))?;
    Ok(value)
}

/// A payment as the API writes it (the fields the OMS reads; the rest is ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePayment {
    payment_key: String,
    order_id: String,
    status: String,
    method: Option<String>,
    #[serde(deserialize_with = "won")]
    total_amount: Won,
    #[serde(deserialize_with = "won")]
    balance_amount: Won,
    virtual_account: Option<WireVirtualAccount>,
    secret: Option<String>,
    /// `null` until the first cancel.
    cancels: Option<Vec<WireCancel>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVirtualAccount {
    account_number: String,
    bank_code: String,
    customer_name: Option<String>,
    due_date: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCancel {
    transaction_key: String,
    #[serde(deserialize_with = "won")]
    cancel_amount: Won,
    canceled_at: String,
}

impl WirePayment {
    fn parse(self) -> Result<Payment, GatewayError> {
        let status = PaymentStatus::parse(&self.status).ok_or_else(|| {
            invalid_answer(format!(
                "payment {} has the status {:?}, which this adapter does not know (a new status \
                 of the API?)",
                clip(&self.payment_key),
                clip(&self.status)
            ))
        })?;
        let virtual_account = match self.virtual_account {
            None => None,
            Some(va) => Some(VirtualAccount {
                account_number: stored(
                    "virtualAccount.accountNumber",
                    va.account_number,
                    text::ACCOUNT_NUMBER,
                )?,
                bank_code: stored("virtualAccount.bankCode", va.bank_code, text::BANK)?,
                customer_name: stored(
                    "virtualAccount.customerName",
                    va.customer_name.unwrap_or_default(),
                    text::ACCOUNT_HOLDER,
                )?,
                due_date: parse_time("virtualAccount.dueDate", &va.due_date)?,
            }),
        };
        let cancels = self
            .cancels
            .unwrap_or_default()
            .into_iter()
            .map(WireCancel::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Payment {
            payment_key: stored("paymentKey", self.payment_key, text::PAYMENT_KEY)?,
            order_id: self.order_id,
            status,
            method: method(self.method.as_deref()),
            total_amount: self.total_amount,
            balance_amount: self.balance_amount,
            virtual_account,
            secret: self
                .secret
                .map(|s| stored("secret", s, SECRET))
                .transpose()?,
            cancels,
        })
    }
}

impl WireCancel {
    fn parse(self) -> Result<Cancellation, GatewayError> {
        Ok(Cancellation {
            transaction_key: stored(
                "cancels[].transactionKey",
                self.transaction_key,
                text::PAYMENT_REFERENCE,
            )?,
            cancel_amount: self.cancel_amount,
            canceled_at: parse_time("cancels[].canceledAt", &self.canceled_at)?,
        })
    }
}

/// The method by Toss' name: Korean by default, English under `Accept-Language: en`.
fn method(name: Option<&str>) -> PaymentKind {
    match name.map(str::trim) {
        Some("카드" | "CARD") => PaymentKind::Card,
        Some("가상계좌" | "VIRTUAL_ACCOUNT") => PaymentKind::VirtualAccount,
        Some(other) => PaymentKind::Other(other.to_owned()),
        // A payment not confirmed yet has no method.
        None => PaymentKind::Other(String::new()),
    }
}

impl PaymentGateway for TossGateway {
    fn confirm(&self, call: ConfirmCall) -> BoxFuture<'_, Result<Payment, GatewayError>> {
        Box::pin(async move {
            let body = serde_json::json!({
                "paymentKey": call.payment_key,
                "orderId": call.order_id,
                "amount": call.amount.amount(),
            });
            let request = self
                .client
                .post(self.url("/v1/payments/confirm"))
                .json(&body);
            let wire: WirePayment = self.call(request).await?;
            wire.parse()
        })
    }

    fn payment(&self, payment_key: &str) -> BoxFuture<'_, Result<Payment, GatewayError>> {
        let path = format!("/v1/payments/{}", utf8_percent_encode(payment_key, SEGMENT));
        Box::pin(self.payment_at(path))
    }

    fn payment_for_order(
        &self,
        order_id: &str,
    ) -> BoxFuture<'_, Result<Option<Payment>, GatewayError>> {
        let path = format!(
            "/v1/payments/orders/{}",
            utf8_percent_encode(order_id, SEGMENT)
        );
        Box::pin(async move {
            match self.payment_at(path).await {
                Ok(p) => Ok(Some(p)),
                Err(e) if e.code == "NOT_FOUND_PAYMENT" => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn cancel(&self, call: CancelCall) -> BoxFuture<'_, Result<Cancellation, GatewayError>> {
        Box::pin(async move {
            let Some(payment_key) = call.payment_key.as_deref() else {
                return Err(GatewayError::new(
                    "NOT_PAID_THROUGH_GATEWAY",
                    format!(
                        "this money was not paid through Toss Payments (a bank transfer an \
                         operator confirmed), so Toss cannot pay it back: pay {} back by bank \
                         transfer to the customer's refund account, then record it with \
                         resolveRefundManually",
                        call.amount
                    ),
                    Outcome::GiveUp,
                ));
            };
            let mut body = serde_json::json!({
                "cancelReason": call.reason,
                "cancelAmount": call.amount.amount(),
            });
            if let Some(account) = &call.refund_account {
                // Toss wants its two-character bank code; customers give a bank's name.
                let Some(bank) = bank_code(&account.bank) else {
                    return Err(GatewayError::new(
                        "INVALID_BANK",
                        format!(
                            "the refund account's bank `{}` is not a bank Toss Payments pays \
                             into: the customer gives the account again with a bank such as \
                             국민은행, 신한, 카카오뱅크 or Toss's code (06, 88, 90)",
                            account.bank
                        ),
                        Outcome::NeedsAccount,
                    ));
                };
                body["refundReceiveAccount"] = serde_json::json!({
                    "bank": bank,
                    "accountNumber": account.account_number,
                    "holderName": account.holder_name,
                });
            }
            let path = format!(
                "/v1/payments/{}/cancel",
                utf8_percent_encode(payment_key, SEGMENT)
            );
            let request = self
                .client
                .post(self.url(&path))
                .header("Idempotency-Key", &call.idempotency_key)
                .json(&body);
            let wire: WirePayment = self.call(request).await?;
            let payment = wire.parse()?;
            // The answer is the whole payment; this cancel is the latest of its amount (a
            // repeat is answered with the first answer, where it was the latest too).
            payment
                .cancels
                .into_iter()
                .filter(|c| c.cancel_amount == call.amount)
                .max_by_key(|c| c.canceled_at)
                .ok_or_else(|| {
                    invalid_answer(format!(
                        "the cancel of {} from payment {payment_key} was answered without a \
                         cancel of that amount",
                        call.amount
                    ))
                })
        })
    }
}

/// The banks a virtual account's refund can go to, as Toss Payments codes them (its reference,
/// "Codes"): the code, then the names customers type (with and without 은행, the short name,
/// the English name).
const BANKS: &[(&str, &[&str])] = &[
    ("39", &["경남은행", "경남", "KYONGNAMBANK"]),
    ("34", &["광주은행", "광주", "GWANGJUBANK"]),
    ("12", &["단위농협", "지역농축협", "LOCALNONGHYEOP"]),
    ("32", &["부산은행", "부산", "BUSANBANK"]),
    ("45", &["새마을금고", "새마을", "SAEMAUL"]),
    ("64", &["산림조합", "산림", "SANLIM"]),
    ("88", &["신한은행", "신한", "SHINHAN"]),
    ("48", &["신협", "SHINHYEOP"]),
    ("27", &["씨티은행", "씨티", "CITI"]),
    ("20", &["우리은행", "우리", "WOORI"]),
    ("71", &["우체국", "우체국예금보험", "POST"]),
    ("50", &["저축은행중앙회", "저축은행", "저축", "SAVINGBANK"]),
    ("37", &["전북은행", "전북", "JEONBUKBANK"]),
    ("35", &["제주은행", "제주", "JEJUBANK"]),
    ("90", &["카카오뱅크", "카카오", "KAKAOBANK"]),
    ("89", &["케이뱅크", "케이", "KBANK"]),
    ("92", &["토스뱅크", "토스", "TOSSBANK"]),
    ("81", &["하나은행", "하나", "HANA"]),
    ("54", &["홍콩상하이은행", "HSBC"]),
    ("31", &["DGB대구은행", "대구은행", "대구", "DAEGUBANK"]),
    ("03", &["IBK기업은행", "기업은행", "기업", "IBK"]),
    ("06", &["KB국민은행", "국민은행", "국민", "KOOKMIN"]),
    ("02", &["KDB산업은행", "산업은행", "산업", "KDBBANK"]),
    ("11", &["NH농협은행", "농협은행", "농협", "NONGHYEOP"]),
    ("23", &["SC제일은행", "제일은행", "SC제일", "SC"]),
    ("07", &["Sh수협은행", "수협은행", "수협", "SUHYEOP"]),
];

/// Toss Payments' code of the bank a customer named (`국민은행`, `KB국민`, `kookmin`, `06`),
/// ignoring spaces and case; `None` for a bank it does not pay into.
pub fn bank_code(bank: &str) -> Option<&'static str> {
    let typed: String = bank
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    BANKS
        .iter()
        .find(|(code, names)| {
            *code == typed
                || names.iter().any(|n| {
                    n.to_uppercase() == typed || format!("KB{}", n.to_uppercase()) == typed
                })
        })
        .map(|(code, _)| *code)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {

    #[test]
    fn banks_are_known_by_name_code_and_english() {
        for (typed, code) in [
            ("국민은행", "06"),
            ("KB국민은행", "06"),
            ("kookmin", "06"),
            ("06", "06"),
            ("신한", "88"),
            (" 카카오 뱅크 ", "90"),
            ("NH농협은행", "11"),
            ("우체국", "71"),
            ("Sh수협은행", "07"),
        ] {
            assert_eq!(bank_code(typed), Some(code), "{typed}");
        }
        for unknown in ["", "뱅크오브아메리카", "99", "국민카드"] {
            assert_eq!(bank_code(unknown), None, "{unknown}");
        }
        let codes: std::collections::HashSet<&str> = BANKS.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes.len(), BANKS.len(), "each code once");
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_has_each_code_once_in_toss_shape_with_a_korean_gist() {
        let mut seen = std::collections::HashSet::new();
        for row in TOSS_ERRORS {
            assert!(seen.insert(row.code), "{} twice", row.code);
            assert!(
                row.code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{}",
                row.code
            );
            assert!(
                row.meaning.chars().any(|c| ('가'..='힣').contains(&c)),
                "{}: no Korean gist",
                row.code
            );
            // README's table cells are split at `|`.
            assert!(!row.meaning.contains('|'), "{}", row.code);
            assert!(!row.key_refused || row.outcome == Outcome::Retry);
        }
    }

    #[test]
    fn the_codes_the_oms_relies_on_have_their_outcomes() {
        let expect = |codes: &[&str], outcome: Outcome| {
            for code in codes {
                let row = toss_error(code).unwrap_or_else(|| panic!("{code} missing"));
                assert_eq!(row.outcome, outcome, "{code}");
            }
        };
        expect(&["ALREADY_PROCESSED_PAYMENT"], Outcome::AlreadyProcessed);
        expect(
            &[
                "PROVIDER_ERROR",
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
                "FAILED_REFUND_PROCESS",
                "IDEMPOTENT_REQUEST_PROCESSING",
                "FORBIDDEN_CONSECUTIVE_REQUEST",
                "UNAUTHORIZED_KEY",
                "INVALID_API_KEY",
                "INCORRECT_BASIC_AUTH_FORMAT",
            ],
            Outcome::Retry,
        );
        expect(
            &[
                "REJECT_CARD_PAYMENT",
                "REJECT_CARD_COMPANY",
                "INVALID_CARD_EXPIRATION",
                "INVALID_STOPPED_CARD",
                "EXCEED_MAX_DAILY_PAYMENT_COUNT",
                "EXCEED_MAX_PAYMENT_AMOUNT",
                "BELOW_MINIMUM_AMOUNT",
                "NOT_FOUND_PAYMENT",
                "NOT_FOUND_PAYMENT_SESSION",
                "INVALID_REQUEST",
                "ALREADY_CANCELED_PAYMENT",
                "NOT_CANCELABLE_AMOUNT",
                "NOT_CANCELABLE_PAYMENT",
                "EXCEED_MAX_REFUND_DUE",
                "NOT_ALLOWED_PARTIAL_REFUND",
                "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
                "REFUND_REJECTED",
                "ALREADY_REFUND_PAYMENT",
                "FORBIDDEN_REQUEST",
            ],
            Outcome::GiveUp,
        );
        expect(
            &[
                "INVALID_REFUND_ACCOUNT_INFO",
                "INVALID_REFUND_ACCOUNT_NUMBER",
                "INVALID_BANK",
                "FORBIDDEN_BANK_REFUND_REQUEST",
            ],
            Outcome::NeedsAccount,
        );
        let key_refused: Vec<&str> = TOSS_ERRORS
            .iter()
            .filter(|r| r.key_refused)
            .map(|r| r.code)
            .collect();
        assert_eq!(
            key_refused,
            [
                "UNAUTHORIZED_KEY",
                "INVALID_API_KEY",
                "INCORRECT_BASIC_AUTH_FORMAT"
            ]
        );
    }

    /// README's "Gateway error codes" table lists exactly the rows of `TOSS_ERRORS`, in order.
    #[test]
    fn the_readme_table_is_the_error_table() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n### Gateway error codes\n")
            .nth(1)
            .expect("README.md has a `### Gateway error codes` section");
        let mut lines = section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'));
        assert_eq!(lines.next(), Some("| code | what the OMS does | meaning |"));
        assert!(lines.next().is_some_and(|l| l.starts_with("|---")));
        let table: Vec<(String, String, String)> = lines
            .map(|l| {
                let cells: Vec<&str> = l
                    .trim()
                    .trim_matches('|')
                    .split('|')
                    .map(str::trim)
                    .collect();
                assert_eq!(cells.len(), 3, "{l}");
                (
                    cells[0].trim_matches('`').to_owned(),
                    cells[1].to_owned(),
                    cells[2].to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String, String)> = TOSS_ERRORS
            .iter()
            .map(|r| {
                (
                    r.code.to_owned(),
                    r.what_the_oms_does().to_owned(),
                    r.meaning.to_owned(),
                )
            })
            .collect();
        if table != expected {
            let rows: Vec<String> = TOSS_ERRORS
                .iter()
                .map(|r| {
                    format!(
                        "| `{}` | {} | {} |",
                        r.code,
                        r.what_the_oms_does(),
                        r.meaning
                    )
                })
                .collect();
            panic!(
                "README.md's table differs from TOSS_ERRORS; its rows should read:\n{}",
                rows.join("\n")
            );
        }
    }

    fn card_payment() -> serde_json::Value {
        json!({
            "mId": "tosspayments",
            "version": "2022-11-16",
            "lastTransactionKey": "9C62B18EEF0DE3EB7F4422EB6D14BC6E",
            "paymentKey": "5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1",
            "orderId": "20261124-000123",
            "orderName": "티셔츠 외 2건",
            "status": "DONE",
            "requestedAt": "2026-11-24T18:00:00+09:00",
            "approvedAt": "2026-11-24T18:00:05+09:00",
            "useEscrow": false,
            "card": {"issuerCode": "61", "number": "43301234****123*", "installmentPlanMonths": 0},
            "virtualAccount": null,
            "secret": null,
            "cancels": null,
            "type": "NORMAL",
            "method": "카드",
            "currency": "KRW",
            "totalAmount": 15000,
            "balanceAmount": 15000,
            "suppliedAmount": 13636,
            "vat": 1364,
            "taxFreeAmount": 0
        })
    }

    fn parse(value: serde_json::Value) -> Result<Payment, GatewayError> {
        serde_json::from_value::<WirePayment>(value)
            .unwrap()
            .parse()
    }

    #[test]
    fn a_card_payment_parses_and_extra_fields_are_ignored() {
        let p = parse(card_payment()).unwrap();
        assert_eq!(
            p.payment_key,
            "5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1"
        );
        assert_eq!(p.order_id, "20261124-000123");
        assert_eq!(p.status, PaymentStatus::Done);
        assert_eq!(p.method, PaymentKind::Card);
        assert_eq!(p.total_amount, Won::new(15000));
        assert_eq!(p.balance_amount, Won::new(15000));
        assert_eq!(p.virtual_account, None);
        assert_eq!(p.secret, None);
        assert!(p.cancels.is_empty());

        let mut english = card_payment();
        english["method"] = json!("CARD");
        english["totalAmount"] = json!(15000.0);
        assert_eq!(parse(english).unwrap().method, PaymentKind::Card);
        let mut wallet = card_payment();
        wallet["method"] = json!("간편결제");
        assert_eq!(
            parse(wallet).unwrap().method,
            PaymentKind::Other("간편결제".into())
        );
        let mut fraction = card_payment();
        fraction["totalAmount"] = json!(15000.5);
        assert!(serde_json::from_value::<WirePayment>(fraction).is_err());
    }

    #[test]
    fn a_virtual_account_parses_with_its_due_date_in_utc() {
        let mut va = card_payment();
        va["method"] = json!("가상계좌");
        va["status"] = json!("WAITING_FOR_DEPOSIT");
        va["card"] = json!(null);
        va["secret"] = json!("ps_Z1aOwX7K8mYpalQNMoKJryQxzvNP");
        va["virtualAccount"] = json!({
            "accountType": "일반",
            "accountNumber": "X6505636518308",
            "bankCode": "20",
            "customerName": "김토스",
            "dueDate": "2026-12-10T23:59:59+09:00",
            "refundStatus": "NONE",
            "expired": false,
            "settlementStatus": "INCOMPLETED",
            "refundReceiveAccount": null
        });
        let p = parse(va.clone()).unwrap();
        assert_eq!(p.status, PaymentStatus::WaitingForDeposit);
        assert_eq!(p.method, PaymentKind::VirtualAccount);
        assert_eq!(p.secret.as_deref(), Some("ps_Z1aOwX7K8mYpalQNMoKJryQxzvNP"));
        let account = p.virtual_account.unwrap();
        assert_eq!(account.account_number, "X6505636518308");
        assert_eq!(account.bank_code, "20");
        assert_eq!(account.customer_name, "김토스");
        assert_eq!(
            account.due_date,
            Utc.with_ymd_and_hms(2026, 12, 10, 14, 59, 59).unwrap()
        );
        // Without an offset the time is Korean.
        va["virtualAccount"]["dueDate"] = json!("2026-12-10T23:59:59");
        let p = parse(va.clone()).unwrap();
        assert_eq!(
            p.virtual_account.unwrap().due_date,
            Utc.with_ymd_and_hms(2026, 12, 10, 14, 59, 59).unwrap()
        );
        va["virtualAccount"]["dueDate"] = json!("next week");
        assert_eq!(parse(va.clone()).unwrap_err().code, "INVALID_ANSWER");
        // A NUL in a stored value is refused before anything is written.
        va["virtualAccount"]["dueDate"] = json!("2026-12-10T23:59:59+09:00");
        va["virtualAccount"]["accountNumber"] = json!("X65\u{0}05");
        let e = parse(va).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.outcome),
            ("INVALID_ANSWER", Outcome::Retry)
        );
        assert!(e.message.contains("NUL"), "{e}");
    }

    #[test]
    fn cancels_parse_and_an_unknown_status_is_retried() {
        let mut p = card_payment();
        p["status"] = json!("PARTIAL_CANCELED");
        p["balanceAmount"] = json!(5000);
        p["cancels"] = json!([
            {"transactionKey": "A1", "cancelReason": "클레임 환불", "cancelAmount": 4000,
             "canceledAt": "2026-11-25T10:00:00+09:00", "refundableAmount": 11000,
             "cancelStatus": "DONE"},
            {"transactionKey": "B2", "cancelReason": "클레임 환불", "cancelAmount": 6000,
             "canceledAt": "2026-11-26T10:00:00+09:00", "refundableAmount": 5000,
             "cancelStatus": "DONE"}
        ]);
        let parsed = parse(p.clone()).unwrap();
        assert_eq!(parsed.status, PaymentStatus::PartialCanceled);
        assert_eq!(parsed.balance_amount, Won::new(5000));
        assert_eq!(parsed.cancels.len(), 2);
        assert_eq!(parsed.cancels[1].transaction_key, "B2");
        assert_eq!(parsed.cancels[1].cancel_amount, Won::new(6000));
        assert_eq!(
            parsed.cancels[0].canceled_at,
            Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0).unwrap()
        );

        p["status"] = json!("SETTLED");
        let e = parse(p).unwrap_err();
        assert_eq!(e.outcome, Outcome::Retry);
        assert!(e.message.contains("\"SETTLED\""), "{e}");
    }

    #[test]
    fn refusals_follow_the_table_then_the_status() {
        let body = |code: &str| json!({"code": code, "message": "메시지"}).to_string();
        let e = refusal(StatusCode::BAD_REQUEST, body("PROVIDER_ERROR").as_bytes());
        assert_eq!(
            (e.code.as_str(), e.outcome),
            ("PROVIDER_ERROR", Outcome::Retry)
        );
        assert_eq!(e.message, "메시지");
        let e = refusal(StatusCode::BAD_REQUEST, body("INVALID_BANK").as_bytes());
        assert_eq!(e.outcome, Outcome::NeedsAccount);
        let e = refusal(
            StatusCode::UNAUTHORIZED,
            body("UNAUTHORIZED_KEY").as_bytes(),
        );
        assert_eq!(e.outcome, Outcome::Retry);
        // Codes the table lacks: the status decides.
        let e = refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            body("SOMETHING_NEW").as_bytes(),
        );
        assert_eq!(
            (e.code.as_str(), e.outcome),
            ("SOMETHING_NEW", Outcome::Retry)
        );
        let e = refusal(StatusCode::BAD_REQUEST, body("SOMETHING_NEW").as_bytes());
        assert_eq!(e.outcome, Outcome::GiveUp);
        let e = refusal(StatusCode::TOO_MANY_REQUESTS, b"");
        assert_eq!((e.code.as_str(), e.outcome), ("HTTP_429", Outcome::Retry));
        // No code at all: a proxy's page.
        let e = refusal(StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>");
        assert_eq!((e.code.as_str(), e.outcome), ("HTTP_502", Outcome::Retry));
        let e = refusal(
            StatusCode::NOT_FOUND,
            b"{\"code\": \"<script>\", \"message\": \"x\"}",
        );
        assert_eq!((e.code.as_str(), e.outcome), ("HTTP_404", Outcome::GiveUp));
        let long = json!({"code": "X", "message": "가\n".repeat(2000)}).to_string();
        let e = refusal(StatusCode::BAD_REQUEST, long.as_bytes());
        assert_eq!(e.message.chars().count(), MESSAGE_CHARS);
        assert!(!e.message.contains('\n'));
    }

    fn new(url: &str, key: &str) -> Result<TossGateway, String> {
        TossGateway::new(url, key, Duration::from_secs(1), &Tls::default(), None)
    }

    #[test]
    fn the_base_url_and_the_key_are_checked_and_the_key_never_shown() {
        for ok in [
            "https://api.tosspayments.com",
            "https://api.tosspayments.com/",
            "http://127.0.0.1:9100",
            "http://127.1.2.3",
            "http://localhost:9100",
            "http://[::1]:9100",
        ] {
            assert!(new(ok, "test_sk_abc").is_ok(), "{ok}");
        }
        for refused in [
            "http://api.tosspayments.com",
            "http://10.0.0.5:9100",
            "ftp://api.tosspayments.com",
            "api.tosspayments.com",
            "https://api.tosspayments.com/?mode=test",
        ] {
            let why = new(refused, "test_sk_abc").unwrap_err();
            assert!(why.contains("--payment-gateway-url"), "{why}");
        }
        let why = new("https://test_sk_abc:@api.tosspayments.com", "test_sk_abc").unwrap_err();
        assert!(!why.contains("test_sk_abc"), "{why}");
        for bad in ["", "test_sk_abc\n", "test sk", "test_sk:abc"] {
            let why = new("https://api.tosspayments.com", bad).unwrap_err();
            assert!(why.contains("secret key"), "{why}");
            if !bad.is_empty() {
                assert!(!why.contains(bad), "{why}");
            }
        }
        let gateway = new(
            "https://api.tosspayments.com/",
            "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R",
        )
        .unwrap();
        let shown = format!("{gateway:?}");
        assert!(
            !shown.contains("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"),
            "{shown}"
        );
        // Nor its base64 form.
        assert!(!shown.contains("dGVzdF9za"), "{shown}");
        assert!(shown.contains("https://api.tosspayments.com"), "{shown}");
    }

    #[test]
    fn the_authorization_is_basic_of_the_key_and_a_colon() {
        let value = basic_authorization("test_sk_abc").unwrap();
        assert_eq!(value.to_str().unwrap(), "Basic dGVzdF9za19hYmM6");
        assert!(value.is_sensitive());
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(
            utf8_percent_encode("a/b?c#d 주문.-_~", SEGMENT).to_string(),
            "a%2Fb%3Fc%23d%20%EC%A3%BC%EB%AC%B8.-_~"
        );
    }
}
