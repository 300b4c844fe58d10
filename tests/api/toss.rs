//! A Toss Payments server on loopback, written from the public reference of the core API v1
//! (`POST /v1/payments/confirm`, `GET /v1/payments/{paymentKey}`,
//! `GET /v1/payments/orders/{orderId}`, `POST /v1/payments/{paymentKey}/cancel`), and the
//! adapter's tests against it (no database needed).
//!
//! [`TossServer`] keeps Toss' promises: HTTP Basic credentials of the secret key; a payment
//! confirmed once (a repeat is `ALREADY_PROCESSED_PAYMENT`) and only for the amount the widget
//! authorized; a cancel answered once per `Idempotency-Key` (a repeat gets the stored answer and
//! moves no money); nothing cancelled beyond the balance; a virtual account refunded only into
//! a refund account. It stands for the widget too: [`TossServer::authorize`] is the customer
//! paying in it, and with `auto_authorize` (on by default) an unknown key at confirm is taken as
//! a card authorization of the confirmed amount (a key starting `va-`: a virtual account), so
//! `OrderBuilder::place` works against it. Faults are programmed per call: a 500, a call slower
//! than the client's timeout, a call carried out whose answer never arrives in time, a declined
//! confirm. It counts calls per endpoint and the money moved per payment.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};
use oms::clock::{Clock, SystemClock};
use oms::domain::money::Won;
use oms::gateway::{
    CancelCall, ConfirmCall, GatewayError, Outcome, PaymentGateway, PaymentKind, PaymentStatus,
    RefundAccount, TossGateway,
};
use oms::tls::{ClientIdentity, Tls};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::sinks::TlsListener;

/// The shop's secret key the server accepts.
pub(crate) const SECRET_KEY: &str = "test_sk_oms_loopback_zXLkKEypNArWmo50";

/// The timeout of [`TossServer::gateway`]'s adapter: ample for a loopback call on a loaded
/// machine, short enough for the timeout tests.
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a slow or lost answer is held back: past any client timeout of the tests.
const HOLD: Duration = Duration::from_secs(10);

/// The API's endpoints, for counting calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    /// `POST /v1/payments/confirm`
    Confirm,
    /// `GET /v1/payments/{paymentKey}`
    Payment,
    /// `GET /v1/payments/orders/{orderId}`
    PaymentForOrder,
    /// `POST /v1/payments/{paymentKey}/cancel`
    Cancel,
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub(crate) struct TossRequest {
    pub endpoint: Endpoint,
    /// The path as sent (percent-encoded).
    pub path: String,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    /// The JSON body (`Null` for a GET).
    pub body: Value,
}

struct FakePayment {
    key: String,
    order_id: String,
    status: PaymentStatus,
    method: PaymentKind,
    total: i64,
    balance: i64,
    requested_at: DateTime<Utc>,
    approved_at: Option<DateTime<Utc>>,
    last_transaction_key: Option<String>,
    virtual_account: Option<FakeAccount>,
    secret: Option<String>,
    cancels: Vec<FakeCancel>,
}

struct FakeAccount {
    number: String,
    bank_code: String,
    customer_name: String,
    due: DateTime<Utc>,
}

struct FakeCancel {
    transaction_key: String,
    amount: i64,
    reason: String,
    at: DateTime<Utc>,
    refundable: i64,
}

#[derive(Default)]
struct Book {
    /// In the order they were authorized.
    payments: Vec<FakePayment>,
    /// Each cancel idempotency key's answer (successes only: a refusal is decided again, so a
    /// virtual account's refund goes through once the customer gave an account).
    answers: HashMap<String, (StatusCode, Value)>,
    requests: Vec<TossRequest>,
    /// Money taken, per payment key, in order.
    charges: Vec<(String, Won)>,
    /// Money given back, per payment key, in order.
    refunds: Vec<(String, Won)>,
    serial: u64,
}

impl Book {
    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn by_key(&mut self, key: &str) -> Option<&mut FakePayment> {
        self.payments.iter_mut().find(|p| p.key == key)
    }
}

struct TossState {
    secret_key: String,
    auto_authorize: AtomicBool,
    fail_next: AtomicU32,
    slow_next: AtomicU32,
    lose_next: AtomicU32,
    decline_next: Mutex<Option<String>>,
    clock: Mutex<Arc<dyn Clock>>,
    book: Mutex<Book>,
}

/// The loopback Toss Payments server. Cheap to clone; lives as long as the test's runtime.
#[derive(Clone)]
pub(crate) struct TossServer {
    url: String,
    state: Arc<TossState>,
}

type Answer = (StatusCode, Value);

fn error(status: StatusCode, code: &str, message: &str) -> Answer {
    (status, json!({"code": code, "message": message}))
}

fn kst(t: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(9 * 3600).unwrap();
    t.with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn method_name(kind: &PaymentKind) -> &str {
    match kind {
        PaymentKind::Card => "카드",
        PaymentKind::VirtualAccount => "가상계좌",
        PaymentKind::Other(name) => name,
    }
}

/// A short hexadecimal stand-in for Toss' random identifiers.
fn digest(parts: &[&str], n: u64) -> String {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    n.hash(&mut h);
    format!("{:016X}", h.finish())
}

impl FakePayment {
    /// The Payment object as the API answers it (the fields the reference documents; those the
    /// OMS never reads are filled with plausible values).
    fn json(&self) -> Value {
        let va = self.virtual_account.as_ref().map(|a| {
            json!({
                "accountType": "일반",
                "accountNumber": a.number,
                "bankCode": a.bank_code,
                "customerName": a.customer_name,
                "dueDate": kst(a.due),
                "refundStatus": "NONE",
                "expired": self.status == PaymentStatus::Expired,
                "settlementStatus": "INCOMPLETED",
                "refundReceiveAccount": null,
            })
        });
        let card =
            (self.method == PaymentKind::Card && self.status != PaymentStatus::Ready).then(|| {
                json!({
                    "issuerCode": "61",
                    "acquirerCode": "31",
                    "number": "43301234****123*",
                    "installmentPlanMonths": 0,
                    "isInterestFree": false,
                    "approveNo": "00000000",
                    "cardType": "신용",
                    "ownerType": "개인",
                    "acquireStatus": "READY",
                    "amount": self.total,
                })
            });
        let cancels: Option<Vec<Value>> = (!self.cancels.is_empty()).then(|| {
            self.cancels
                .iter()
                .map(|c| {
                    json!({
                        "transactionKey": c.transaction_key,
                        "cancelReason": c.reason,
                        "taxExemptionAmount": 0,
                        "canceledAt": kst(c.at),
                        "easyPayDiscountAmount": 0,
                        "receiptKey": null,
                        "cancelAmount": c.amount,
                        "taxFreeAmount": 0,
                        "refundableAmount": c.refundable,
                        "cancelStatus": "DONE",
                        "cancelRequestId": null,
                    })
                })
                .collect()
        });
        json!({
            "mId": "tosspayments-loopback",
            "version": "2022-11-16",
            "paymentKey": self.key,
            "type": "NORMAL",
            "orderId": self.order_id,
            "orderName": "OMS 주문",
            "currency": "KRW",
            "method": (self.status != PaymentStatus::Ready).then(|| method_name(&self.method)),
            "totalAmount": self.total,
            "balanceAmount": self.balance,
            "status": self.status.as_str(),
            "requestedAt": kst(self.requested_at),
            "approvedAt": self.approved_at.map(kst),
            "useEscrow": false,
            "lastTransactionKey": self.last_transaction_key,
            "suppliedAmount": self.total - self.total / 11,
            "vat": self.total / 11,
            "cultureExpense": false,
            "taxFreeAmount": 0,
            "taxExemptionAmount": 0,
            "cancels": cancels,
            "isPartialCancelable": true,
            "card": card,
            "virtualAccount": va,
            "secret": self.secret,
            "mobilePhone": null,
            "giftCertificate": null,
            "transfer": null,
            "receipt": {"url": format!("https://dashboard.tosspayments.com/receipt/{}", self.key)},
            "checkout": {"url": format!("https://api.tosspayments.com/v1/payments/{}/checkout", self.key)},
            "easyPay": null,
            "country": "KR",
            "failure": null,
            "cashReceipt": null,
            "cashReceipts": null,
            "discount": null,
        })
    }
}

impl TossServer {
    /// Starts the server on a free port of `127.0.0.1`, over plain HTTP.
    pub(crate) async fn start() -> TossServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (state, app) = Self::routes();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TossServer { url, state }
    }

    /// Starts the server on a free port of `127.0.0.1`, over TLS with `acceptor`
    /// (`TestCa::acceptor`: its certificate, and a client certificate required when asked).
    pub(crate) async fn start_tls(acceptor: TlsAcceptor) -> TossServer {
        let listener = TlsListener::bind(acceptor).await;
        let url = format!("https://{}", listener.addr());
        let (state, app) = Self::routes();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TossServer { url, state }
    }

    fn routes() -> (Arc<TossState>, Router) {
        let state = Arc::new(TossState {
            secret_key: SECRET_KEY.to_owned(),
            auto_authorize: AtomicBool::new(true),
            fail_next: AtomicU32::new(0),
            slow_next: AtomicU32::new(0),
            lose_next: AtomicU32::new(0),
            decline_next: Mutex::new(None),
            clock: Mutex::new(Arc::new(SystemClock)),
            book: Mutex::new(Book::default()),
        });
        let app = Router::new()
            .route("/v1/payments/confirm", post(confirm))
            .route("/v1/payments/orders/{order_id}", get(payment_for_order))
            .route("/v1/payments/{payment_key}", get(payment))
            .route("/v1/payments/{payment_key}/cancel", post(cancel))
            .with_state(state.clone());
        (state, app)
    }

    /// `http://127.0.0.1:<port>` (`https://` over TLS): the adapter's base URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The adapter for this server with the right secret key, [`CLIENT_TIMEOUT`] and the
    /// system's roots.
    pub(crate) fn gateway(&self) -> TossGateway {
        self.gateway_trusting(&Tls::default(), None)
    }

    /// The adapter for this server trusting `tls`, presenting `identity` when asked.
    pub(crate) fn gateway_trusting(
        &self,
        tls: &Tls,
        identity: Option<&ClientIdentity>,
    ) -> TossGateway {
        TossGateway::new(&self.url, SECRET_KEY, CLIENT_TIMEOUT, tls, identity).unwrap()
    }

    /// Whether an unknown key at confirm is taken as the widget's authorization (on by
    /// default). Off, such a confirm is `404 NOT_FOUND_PAYMENT_SESSION`.
    pub(crate) fn set_auto_authorize(&self, on: bool) {
        self.state.auto_authorize.store(on, Ordering::SeqCst);
    }

    /// The times the server writes (`requestedAt`, `dueDate`, `canceledAt`, ...) come from
    /// `clock` (the test app's `ManualClock`) instead of the system's.
    pub(crate) fn use_clock(&self, clock: Arc<dyn Clock>) {
        *self.state.clock.lock().unwrap() = clock;
    }

    /// The customer pays `amount` for `order_id` in the widget with `method` (a card, a virtual
    /// account, or another method by its Korean name, paid at once): a READY payment. Returns
    /// its payment key, what the widget hands the shop's page.
    pub(crate) fn authorize(&self, order_id: &str, amount: i64, method: PaymentKind) -> String {
        let now = self.state.now();
        let mut book = self.state.book.lock().unwrap();
        let n = book.next();
        let key = format!("tgen_{n:04}{}", digest(&[order_id], n));
        book.payments
            .push(ready(key.clone(), order_id, amount, method, now));
        key
    }

    /// Makes the next `n` calls (any endpoint) answer `500 FAILED_INTERNAL_SYSTEM_PROCESSING`,
    /// doing nothing.
    pub(crate) fn fail_next(&self, n: u32) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// Makes the next call hang past the client's timeout before anything is done.
    pub(crate) fn slow_next(&self) {
        self.state.slow_next.store(1, Ordering::SeqCst);
    }

    /// Makes the next call "done but lost": carried out, its answer held back past the client's
    /// timeout (to the OMS, the same as a crash between the gateway's answer and the commit).
    pub(crate) fn lose_next(&self) {
        self.state.lose_next.store(1, Ordering::SeqCst);
    }

    /// Makes the next confirm a decline with `code` (`REJECT_CARD_COMPANY`, ...): the
    /// authorization is ABORTED and nothing is charged.
    pub(crate) fn decline_next_confirm(&self, code: &str) {
        *self.state.decline_next.lock().unwrap() = Some(code.to_owned());
    }

    /// The customer deposits into the virtual account issued for `order_id`: the payment is
    /// DONE and charged. Returns the deposit callback's body as Toss sends it
    /// (`{createdAt, secret, status: "DONE", transactionKey, orderId}`), or `None` when no
    /// virtual account of that order waits for a deposit.
    pub(crate) fn deposit(&self, order_id: &str) -> Option<Value> {
        let now = self.state.now();
        let mut book = self.state.book.lock().unwrap();
        let n = book.next();
        let p = book
            .payments
            .iter_mut()
            .find(|p| p.order_id == order_id && p.status == PaymentStatus::WaitingForDeposit)?;
        let transaction_key = digest(&[p.key.as_str(), "deposit"], n);
        p.status = PaymentStatus::Done;
        p.last_transaction_key = Some(transaction_key.clone());
        p.approved_at = Some(now);
        let body = json!({
            "createdAt": kst(now),
            "secret": p.secret,
            "status": "DONE",
            "transactionKey": transaction_key,
            "orderId": p.order_id,
        });
        let charge = (p.key.clone(), Won::new(p.total));
        book.charges.push(charge);
        Some(body)
    }

    /// The virtual account issued for `order_id` lapses without a deposit: EXPIRED. False when
    /// none waits.
    pub(crate) fn expire(&self, order_id: &str) -> bool {
        let mut book = self.state.book.lock().unwrap();
        match book
            .payments
            .iter_mut()
            .find(|p| p.order_id == order_id && p.status == PaymentStatus::WaitingForDeposit)
        {
            Some(p) => {
                p.status = PaymentStatus::Expired;
                true
            }
            None => false,
        }
    }

    /// Calls received at `endpoint` so far (refused and faulted ones included).
    pub(crate) fn calls(&self, endpoint: Endpoint) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }

    /// Every request received, in order.
    pub(crate) fn requests(&self) -> Vec<TossRequest> {
        self.state.book.lock().unwrap().requests.clone()
    }

    /// Money taken for `payment_key` (a card at confirm, a virtual account at its deposit).
    pub(crate) fn charges(&self, payment_key: &str) -> Vec<Won> {
        let book = self.state.book.lock().unwrap();
        Self::of(&book.charges, payment_key)
    }

    /// Money given back from `payment_key`, one entry per cancel that moved money.
    pub(crate) fn refunds(&self, payment_key: &str) -> Vec<Won> {
        let book = self.state.book.lock().unwrap();
        Self::of(&book.refunds, payment_key)
    }

    /// Every charge, as (payment key, amount), in order.
    pub(crate) fn all_charges(&self) -> Vec<(String, Won)> {
        self.state.book.lock().unwrap().charges.clone()
    }

    /// Every refund, as (payment key, amount), in order.
    pub(crate) fn all_refunds(&self) -> Vec<(String, Won)> {
        self.state.book.lock().unwrap().refunds.clone()
    }

    fn of(moves: &[(String, Won)], payment_key: &str) -> Vec<Won> {
        moves
            .iter()
            .filter(|(k, _)| k == payment_key)
            .map(|(_, w)| *w)
            .collect()
    }

    /// The key of the latest payment made for `order_id` (the one `OrderBuilder::place`
    /// confirmed with a key of its own).
    pub(crate) fn payment_key_of(&self, order_id: &str) -> Option<String> {
        let book = self.state.book.lock().unwrap();
        book.payments
            .iter()
            .rev()
            .find(|p| p.order_id == order_id)
            .map(|p| p.key.clone())
    }

    /// The payment as `GET /v1/payments/{paymentKey}` answers it.
    pub(crate) fn payment(&self, payment_key: &str) -> Option<Value> {
        let mut book = self.state.book.lock().unwrap();
        book.by_key(payment_key).map(|p| p.json())
    }
}

fn ready(
    key: String,
    order_id: &str,
    amount: i64,
    method: PaymentKind,
    now: DateTime<Utc>,
) -> FakePayment {
    FakePayment {
        key,
        order_id: order_id.to_owned(),
        status: PaymentStatus::Ready,
        method,
        total: amount,
        balance: amount,
        requested_at: now,
        approved_at: None,
        last_transaction_key: None,
        virtual_account: None,
        secret: None,
        cancels: Vec::new(),
    }
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// What the programmed faults do to one call.
struct Faults {
    fail: bool,
    slow: bool,
    lose: bool,
}

impl TossState {
    fn now(&self) -> DateTime<Utc> {
        self.clock.lock().unwrap().now()
    }

    /// Records the request and takes the faults programmed for it.
    fn arrive(&self, endpoint: Endpoint, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Faults {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request = TossRequest {
            endpoint,
            path: uri.path().to_owned(),
            authorization: header(header::AUTHORIZATION.as_str()),
            idempotency_key: header("idempotency-key"),
            body: serde_json::from_slice(body).unwrap_or_default(),
        };
        self.book.lock().unwrap().requests.push(request);
        Faults {
            fail: take(&self.fail_next),
            slow: take(&self.slow_next),
            lose: take(&self.lose_next),
        }
    }

    /// Checks the Basic credentials: the secret key as the user name, no password.
    fn check_key(&self, headers: &HeaderMap) -> Result<(), Answer> {
        let unauthorized = || {
            error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED_KEY",
                "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
            )
        };
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthorized)?;
        let decoded = value
            .strip_prefix("Basic ")
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(unauthorized)?;
        let Some((user, password)) = decoded.split_once(':') else {
            return Err(error(
                StatusCode::FORBIDDEN,
                "INCORRECT_BASIC_AUTH_FORMAT",
                "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
            ));
        };
        if user != self.secret_key || !password.is_empty() {
            return Err(unauthorized());
        }
        Ok(())
    }

    /// Runs one call: the faults before it, the credentials, `work`, and a lost answer held
    /// back after it.
    async fn serve(
        &self,
        faults: Faults,
        headers: &HeaderMap,
        work: impl FnOnce(&TossState) -> Answer,
    ) -> Response {
        if faults.fail {
            return respond(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
            ));
        }
        if faults.slow {
            tokio::time::sleep(HOLD).await;
            return respond(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "too late: nothing was done",
            ));
        }
        let answer = match self.check_key(headers) {
            Ok(()) => work(self),
            Err(refused) => refused,
        };
        if faults.lose {
            tokio::time::sleep(HOLD).await;
        }
        respond(answer)
    }

    fn confirm(&self, body: &[u8]) -> Answer {
        let invalid = |m: &str| error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", m);
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return invalid("잘못된 요청입니다.");
        };
        let (Some(key), Some(order_id), Some(amount)) = (
            body["paymentKey"].as_str(),
            body["orderId"].as_str(),
            body["amount"].as_i64(),
        ) else {
            return invalid("필수 파라미터(paymentKey, orderId, amount)가 누락되었습니다.");
        };
        let now = self.now();
        let declined = self.decline_next.lock().unwrap().take();
        let mut book = self.book.lock().unwrap();
        let n = book.next();
        if let Some(code) = declined {
            if let Some(p) = book
                .by_key(key)
                .filter(|p| p.status == PaymentStatus::Ready)
            {
                p.status = PaymentStatus::Aborted;
            }
            let status = if code.starts_with("REJECT_") || code.starts_with("FORBIDDEN_") {
                StatusCode::FORBIDDEN
            } else if code.starts_with("NOT_FOUND_") {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            return error(status, &code, "결제 승인이 거절되었습니다.");
        }
        if book.by_key(key).is_none() {
            if !self.auto_authorize.load(Ordering::SeqCst) {
                return error(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND_PAYMENT_SESSION",
                    "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
                );
            }
            let method = if key.starts_with("va-") {
                PaymentKind::VirtualAccount
            } else {
                PaymentKind::Card
            };
            book.payments
                .push(ready(key.to_owned(), order_id, amount, method, now));
        }
        let Some(p) = book.by_key(key) else {
            return invalid("잘못된 요청입니다.");
        };
        if p.status != PaymentStatus::Ready {
            return error(
                StatusCode::BAD_REQUEST,
                "ALREADY_PROCESSED_PAYMENT",
                "이미 처리된 결제 입니다.",
            );
        }
        if p.order_id != order_id {
            return invalid("결제 요청의 주문번호(orderId)와 승인 요청의 주문번호가 다릅니다.");
        }
        if p.total != amount {
            return invalid("요청한 결제 금액과 인증된 결제 금액이 다릅니다.");
        }
        p.last_transaction_key = Some(digest(&[key, "confirm"], n));
        if p.method == PaymentKind::VirtualAccount {
            p.status = PaymentStatus::WaitingForDeposit;
            p.virtual_account = Some(FakeAccount {
                number: format!("X{:013}", 6_505_636_500_000 + n),
                bank_code: "20".into(),
                customer_name: "구매자".into(),
                due: now + chrono::Duration::days(3),
            });
            p.secret = Some(format!("ps_{}{}", digest(&[key, "secret"], n), n));
            return (StatusCode::OK, p.json());
        }
        p.status = PaymentStatus::Done;
        p.approved_at = Some(now);
        let answer = p.json();
        book.charges.push((key.to_owned(), Won::new(amount)));
        (StatusCode::OK, answer)
    }

    fn lookup(&self, key: Option<&str>, order_id: Option<&str>) -> Answer {
        let book = self.book.lock().unwrap();
        let found = book.payments.iter().rev().find(|p| match (key, order_id) {
            (Some(key), _) => p.key == key,
            // The order's payment: the latest that is not an aborted attempt.
            (None, Some(order_id)) => p.order_id == order_id && p.status != PaymentStatus::Aborted,
            (None, None) => false,
        });
        match found {
            Some(p) => (StatusCode::OK, p.json()),
            None => error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND_PAYMENT",
                "존재하지 않는 결제 정보 입니다.",
            ),
        }
    }

    fn cancel(&self, key: &str, idempotency_key: Option<&str>, body: &[u8]) -> Answer {
        let invalid = |m: &str| error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", m);
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return invalid("잘못된 요청입니다.");
        };
        let Some(reason) = body["cancelReason"].as_str().filter(|r| !r.is_empty()) else {
            return invalid("필수 파라미터(cancelReason)가 누락되었습니다.");
        };
        let now = self.now();
        let mut book = self.book.lock().unwrap();
        if let Some(stored) = idempotency_key.and_then(|k| book.answers.get(k)) {
            return stored.clone();
        }
        let n = book.next();
        let Some(p) = book.by_key(key) else {
            return error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND_PAYMENT",
                "존재하지 않는 결제 정보 입니다.",
            );
        };
        let amount = match body.get("cancelAmount") {
            None | Some(Value::Null) => p.balance,
            Some(v) => match v.as_i64().filter(|a| *a > 0) {
                Some(a) => a,
                None => return invalid("취소 금액(cancelAmount)이 올바르지 않습니다."),
            },
        };
        let moves_money = match p.status {
            PaymentStatus::Canceled => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "ALREADY_CANCELED_PAYMENT",
                    "이미 취소된 결제 입니다.",
                )
            }
            PaymentStatus::Ready
            | PaymentStatus::InProgress
            | PaymentStatus::Aborted
            | PaymentStatus::Expired => {
                return error(
                    StatusCode::FORBIDDEN,
                    "NOT_CANCELABLE_PAYMENT",
                    "취소 할 수 없는 결제 입니다.",
                )
            }
            // Nothing deposited yet: the account is closed, in full only.
            PaymentStatus::WaitingForDeposit => {
                if amount != p.balance {
                    return error(
                        StatusCode::FORBIDDEN,
                        "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
                        "입금 대기중인 결제는 부분 환불이 불가합니다.",
                    );
                }
                false
            }
            PaymentStatus::Done | PaymentStatus::PartialCanceled => true,
        };
        if amount > p.balance {
            return error(
                StatusCode::FORBIDDEN,
                "NOT_CANCELABLE_AMOUNT",
                "취소 할 수 없는 금액 입니다.",
            );
        }
        if moves_money && p.method == PaymentKind::VirtualAccount {
            if let Err(refused) = check_refund_account(&body["refundReceiveAccount"]) {
                return refused;
            }
        }
        let transaction_key = digest(&[key, "cancel"], n);
        p.balance -= amount;
        p.status = if p.balance > 0 {
            PaymentStatus::PartialCanceled
        } else {
            PaymentStatus::Canceled
        };
        p.last_transaction_key = Some(transaction_key.clone());
        p.cancels.push(FakeCancel {
            transaction_key,
            amount,
            reason: reason.to_owned(),
            at: now,
            refundable: p.balance,
        });
        let answer = (StatusCode::OK, p.json());
        if moves_money {
            book.refunds.push((key.to_owned(), Won::new(amount)));
        }
        if let Some(k) = idempotency_key {
            book.answers.insert(k.to_owned(), answer.clone());
        }
        answer
    }
}

/// A virtual account's money goes back only into a refund account: `{bank, accountNumber,
/// holderName}`.
fn check_refund_account(account: &Value) -> Result<(), Answer> {
    if !account.is_object() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "INVALID_REFUND_ACCOUNT_INFO",
            "가상계좌 결제의 환불에는 환불 계좌 정보(refundReceiveAccount)가 필요합니다.",
        ));
    }
    let field = |name: &str| account[name].as_str().unwrap_or_default().trim();
    if field("bank").is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "INVALID_BANK",
            "유효하지 않은 은행입니다.",
        ));
    }
    let number = field("accountNumber");
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "INVALID_REFUND_ACCOUNT_NUMBER",
            "잘못된 환불 계좌번호입니다.",
        ));
    }
    if field("holderName").is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "INVALID_REFUND_ACCOUNT_INFO",
            "환불 계좌번호와 예금주명이 일치하지 않습니다.",
        ));
    }
    Ok(())
}

fn respond((status, body): Answer) -> Response {
    (status, Json(body)).into_response()
}

async fn confirm(
    State(s): State<Arc<TossState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let faults = s.arrive(Endpoint::Confirm, &uri, &headers, &body);
    s.serve(faults, &headers, |s| s.confirm(&body)).await
}

async fn payment(
    State(s): State<Arc<TossState>>,
    Path(key): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let faults = s.arrive(Endpoint::Payment, &uri, &headers, b"");
    s.serve(faults, &headers, |s| s.lookup(Some(&key), None))
        .await
}

async fn payment_for_order(
    State(s): State<Arc<TossState>>,
    Path(order_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let faults = s.arrive(Endpoint::PaymentForOrder, &uri, &headers, b"");
    s.serve(faults, &headers, |s| s.lookup(None, Some(&order_id)))
        .await
}

async fn cancel(
    State(s): State<Arc<TossState>>,
    Path(key): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let faults = s.arrive(Endpoint::Cancel, &uri, &headers, &body);
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.serve(faults, &headers, |s| {
        s.cancel(&key, idempotency_key.as_deref(), &body)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The adapter against the server.

fn confirm_call(key: &str, order_id: &str, amount: i64) -> ConfirmCall {
    ConfirmCall {
        payment_key: key.into(),
        order_id: order_id.into(),
        amount: Won::new(amount),
    }
}

fn cancel_call(idempotency_key: &str, payment_key: &str, amount: i64) -> CancelCall {
    CancelCall {
        idempotency_key: idempotency_key.into(),
        payment_key: Some(payment_key.into()),
        amount: Won::new(amount),
        reason: "클레임 20261124-000001-C1 환불".into(),
        refund_account: None,
    }
}

fn assert_refused(
    result: Result<impl std::fmt::Debug, GatewayError>,
    code: &str,
    outcome: Outcome,
) {
    match result {
        Err(e) => assert_eq!((e.code.as_str(), e.outcome), (code, outcome), "{e}"),
        Ok(v) => panic!("expected {code}, got {v:?}"),
    }
}

/// A card authorized in the widget is confirmed for its amount and charged once.
#[tokio::test]
async fn confirms_a_card() {
    let toss = TossServer::start().await;
    let gw = toss.gateway();
    let key = toss.authorize("20261124-000001", 15000, PaymentKind::Card);
    let p = gw
        .confirm(confirm_call(&key, "20261124-000001", 15000))
        .await
        .unwrap();
    assert_eq!(p.payment_key, key);
    assert_eq!(p.order_id, "20261124-000001");
    assert_eq!(p.status, PaymentStatus::Done);
    assert_eq!(p.method, PaymentKind::Card);
    assert_eq!(
        (p.total_amount, p.balance_amount),
        (Won::new(15000), Won::new(15000))
    );
    assert_eq!(toss.charges(&key), [Won::new(15000)]);

    // Another method that settles at once (계좌이체): charged at confirm too.
    let key = toss.authorize(
        "20261124-000002",
        9000,
        PaymentKind::Other("계좌이체".into()),
    );
    let p = gw
        .confirm(confirm_call(&key, "20261124-000002", 9000))
        .await
        .unwrap();
    assert_eq!(p.method, PaymentKind::Other("계좌이체".into()));
    assert_eq!(toss.charges(&key), [Won::new(9000)]);

    // A key the server has not seen is the widget's card authorization (auto_authorize) ...
    let p = gw
        .confirm(confirm_call("test-pk-3", "20261124-000003", 7000))
        .await
        .unwrap();
    assert_eq!(
        (p.status, p.method),
        (PaymentStatus::Done, PaymentKind::Card)
    );
    // ... until that is switched off.
    toss.set_auto_authorize(false);
    assert_refused(
        gw.confirm(confirm_call("test-pk-4", "20261124-000004", 7000))
            .await,
        "NOT_FOUND_PAYMENT_SESSION",
        Outcome::GiveUp,
    );
    assert_eq!(toss.all_charges().len(), 3);
}

/// A virtual account is issued with where to deposit, until when, and the callbacks' secret;
/// the deposit makes it DONE and charged, and its callback carries that secret.
#[tokio::test]
async fn issues_a_virtual_account() {
    let toss = TossServer::start().await;
    let gw = toss.gateway();
    // The server's times follow the test's clock.
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    toss.use_clock(Arc::new(oms::clock::ManualClock::new(now)));
    let p = gw
        .confirm(confirm_call("va-1", "20261124-000010", 30000))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::WaitingForDeposit);
    assert_eq!(p.method, PaymentKind::VirtualAccount);
    let account = p.virtual_account.clone().unwrap();
    assert!(account.account_number.starts_with('X'), "{account:?}");
    assert_eq!(account.bank_code, "20");
    assert_eq!(account.customer_name, "구매자");
    assert_eq!(account.due_date, now + chrono::Duration::days(3));
    let secret = p.secret.clone().unwrap();
    assert!(secret.starts_with("ps_"), "{secret}");
    assert!(toss.charges("va-1").is_empty(), "nothing deposited yet");

    let callback = toss.deposit("20261124-000010").unwrap();
    assert_eq!(callback["secret"], secret.as_str());
    assert_eq!(callback["status"], "DONE");
    assert_eq!(callback["orderId"], "20261124-000010");
    assert!(callback["transactionKey"]
        .as_str()
        .is_some_and(|k| !k.is_empty()));
    assert!(DateTime::parse_from_rfc3339(callback["createdAt"].as_str().unwrap()).is_ok());
    assert_eq!(toss.deposit("20261124-000010"), None, "deposited once");
    assert_eq!(
        gw.payment("va-1").await.unwrap().status,
        PaymentStatus::Done
    );
    assert_eq!(toss.charges("va-1"), [Won::new(30000)]);

    // An account that lapses.
    gw.confirm(confirm_call("va-2", "20261124-000011", 30000))
        .await
        .unwrap();
    assert!(toss.expire("20261124-000011"));
    assert_eq!(
        gw.payment("va-2").await.unwrap().status,
        PaymentStatus::Expired
    );
}

/// Confirming another amount than the one authorized, or another order's, is refused for good
/// and charges nothing; a repeat of a confirm is ALREADY_PROCESSED; a decline gives up.
#[tokio::test]
async fn confirm_refusals_are_mapped() {
    let toss = TossServer::start().await;
    let gw = toss.gateway();
    let key = toss.authorize("20261124-000020", 15000, PaymentKind::Card);
    assert_refused(
        gw.confirm(confirm_call(&key, "20261124-000020", 14000))
            .await,
        "INVALID_REQUEST",
        Outcome::GiveUp,
    );
    assert_refused(
        gw.confirm(confirm_call(&key, "20261124-000099", 15000))
            .await,
        "INVALID_REQUEST",
        Outcome::GiveUp,
    );
    assert!(toss.charges(&key).is_empty());
    assert_eq!(gw.payment(&key).await.unwrap().status, PaymentStatus::Ready);

    gw.confirm(confirm_call(&key, "20261124-000020", 15000))
        .await
        .unwrap();
    assert_refused(
        gw.confirm(confirm_call(&key, "20261124-000020", 15000))
            .await,
        "ALREADY_PROCESSED_PAYMENT",
        Outcome::AlreadyProcessed,
    );
    assert_eq!(toss.charges(&key), [Won::new(15000)], "charged once");

    let declined = toss.authorize("20261124-000021", 5000, PaymentKind::Card);
    toss.decline_next_confirm("REJECT_CARD_COMPANY");
    assert_refused(
        gw.confirm(confirm_call(&declined, "20261124-000021", 5000))
            .await,
        "REJECT_CARD_COMPANY",
        Outcome::GiveUp,
    );
    assert_eq!(
        gw.payment(&declined).await.unwrap().status,
        PaymentStatus::Aborted
    );
    assert!(toss.charges(&declined).is_empty());
}

/// No answer in time is a TIMEOUT and a 5xx a provider failure, both retried; the retry with
/// the same key charges once.
#[tokio::test]
async fn timeouts_and_server_errors_are_retried() {
    let toss = TossServer::start().await;
    let gw = toss.gateway();
    let key = toss.authorize("20261124-000030", 15000, PaymentKind::Card);
    let call = confirm_call(&key, "20261124-000030", 15000);

    toss.slow_next();
    let started = std::time::Instant::now();
    assert_refused(gw.confirm(call.clone()).await, "TIMEOUT", Outcome::Retry);
    assert!(
        started.elapsed() < HOLD,
        "the client gave up at its timeout"
    );
    toss.fail_next(2);
    assert_refused(
        gw.confirm(call.clone()).await,
        "FAILED_INTERNAL_SYSTEM_PROCESSING",
        Outcome::Retry,
    );
    assert_refused(
        gw.payment(&key).await,
        "FAILED_INTERNAL_SYSTEM_PROCESSING",
        Outcome::Retry,
    );
    assert!(toss.charges(&key).is_empty(), "nothing was done");
    gw.confirm(call.clone()).await.unwrap();

    // Done but lost: charged, the answer never arrived; the retry learns it was processed.
    let lost = toss.authorize("20261124-000031", 8000, PaymentKind::Card);
    toss.lose_next();
    assert_refused(
        gw.confirm(confirm_call(&lost, "20261124-000031", 8000))
            .await,
        "TIMEOUT",
        Outcome::Retry,
    );
    assert_refused(
        gw.confirm(confirm_call(&lost, "20261124-000031", 8000))
            .await,
        "ALREADY_PROCESSED_PAYMENT",
        Outcome::AlreadyProcessed,
    );
    assert_eq!(gw.payment(&lost).await.unwrap().status, PaymentStatus::Done);
    assert_eq!(toss.charges(&lost), [Won::new(8000)]);
    assert_eq!(toss.calls(Endpoint::Confirm), 5);

    // Nothing listens: NETWORK, retried.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let nowhere = TossGateway::new(
        &format!("http://{closed}"),
        SECRET_KEY,
        CLIENT_TIMEOUT,
        &Tls::default(),
        None,
    )
    .unwrap();
    assert_refused(nowhere.payment(&key).await, "NETWORK", Outcome::Retry);
}

/// A cancel with the same idempotency key refunds once, even when the first answer was lost;
/// beyond the balance it is refused for good; the answer's cancel is this cancel.
#[tokio::test]
async fn cancels_are_idempotent_and_bounded() {
    let toss = TossServer::start().await;
    let gw = toss.gateway();
    let key = toss.authorize("20261124-000040", 20000, PaymentKind::Card);
    gw.confirm(confirm_call(&key, "20261124-000040", 20000))
        .await
        .unwrap();

    let first = gw.cancel(cancel_call("C1-pay1", &key, 6000)).await.unwrap();
    assert_eq!(first.cancel_amount, Won::new(6000));
    let again = gw.cancel(cancel_call("C1-pay1", &key, 6000)).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(toss.refunds(&key), [Won::new(6000)], "refunded once");

    // Two parts of the same amount are two refunds; each answer names its own cancel.
    let second = gw.cancel(cancel_call("C2-pay1", &key, 6000)).await.unwrap();
    assert_ne!(second.transaction_key, first.transaction_key);

    // Done but lost: refunded, the answer held back; the retry gets the stored answer.
    toss.lose_next();
    assert_refused(
        gw.cancel(cancel_call("C3-pay1", &key, 3000)).await,
        "TIMEOUT",
        Outcome::Retry,
    );
    assert_eq!(toss.refunds(&key).len(), 3);
    let retried = gw.cancel(cancel_call("C3-pay1", &key, 3000)).await.unwrap();
    assert_eq!(retried.cancel_amount, Won::new(3000));
    assert_eq!(
        toss.refunds(&key),
        [Won::new(6000), Won::new(6000), Won::new(3000)]
    );

    // 5000 left.
    assert_refused(
        gw.cancel(cancel_call("C4-pay1", &key, 5001)).await,
        "NOT_CANCELABLE_AMOUNT",
        Outcome::GiveUp,
    );
    let last = gw.cancel(cancel_call("C4-pay1", &key, 5000)).await.unwrap();
    assert_eq!(last.cancel_amount, Won::new(5000));
    let p = gw.payment(&key).await.unwrap();
    assert_eq!(
        (p.status, p.balance_amount),
        (PaymentStatus::Canceled, Won::ZERO)
    );
    assert_eq!(p.cancels.len(), 4);
    assert_refused(
        gw.cancel(cancel_call("C5-pay1", &key, 1000)).await,
        "ALREADY_CANCELED_PAYMENT",
        Outcome::GiveUp,
    );

    // What went over the wire: the key in the header, reason and amount in the body.
    let sent = toss
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Cancel)
        .collect::<Vec<_>>();
    assert_eq!(sent[0].path, format!("/v1/payments/{key}/cancel"));
    assert_eq!(sent[0].idempotency_key.as_deref(), Some("C1-pay1"));
    assert_eq!(
        sent[0].body,
        json!({"cancelReason": "클레임 20261124-000001-C1 환불", "cancelAmount": 6000})
    );

    // Money that never went through Toss: nothing is sent, an operator pays it back.
    let calls = toss.requests().len();
    let e = gw
        .cancel(CancelCall {
            payment_key: None,
            ..cancel_call("C6-transfer", &key, 1000)
        })
        .await
        .unwrap_err();
    assert_eq!(e.outcome, Outcome::GiveUp);
    assert!(e.message.contains("resolveRefundManually"), "{e}");
    assert!(e.message.contains("bank transfer"), "{e}");
    assert_eq!(toss.requests().len(), calls);
}

/// A deposited virtual account is refunded only into a refund account: without one the part
/// waits for it (NeedsAccount); with one the same key goes through.
#[tokio::test]
async fn virtual_account_refunds_need_an_account() {
    let toss = TossServer::start().await;
    let gw = toss.gateway();
    gw.confirm(confirm_call("va-40", "20261124-000050", 30000))
        .await
        .unwrap();
    // Before the deposit: only the whole amount closes the account, moving no money.
    assert_refused(
        gw.cancel(cancel_call("C1-va", "va-40", 1000)).await,
        "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
        Outcome::GiveUp,
    );
    toss.deposit("20261124-000050").unwrap();

    assert_refused(
        gw.cancel(cancel_call("C1-va", "va-40", 10000)).await,
        "INVALID_REFUND_ACCOUNT_INFO",
        Outcome::NeedsAccount,
    );
    let mut call = cancel_call("C1-va", "va-40", 10000);
    call.refund_account = Some(RefundAccount {
        bank: "신한".into(),
        account_number: "110-123-456789".into(),
        holder_name: "구매자".into(),
    });
    let mut wrong = call.clone();
    wrong.refund_account.as_mut().unwrap().account_number = "계좌번호".into();
    assert_refused(
        gw.cancel(wrong).await,
        "INVALID_REFUND_ACCOUNT_NUMBER",
        Outcome::NeedsAccount,
    );
    assert!(toss.refunds("va-40").is_empty());
    let done = gw.cancel(call.clone()).await.unwrap();
    assert_eq!(done.cancel_amount, Won::new(10000));
    assert_eq!(toss.refunds("va-40"), [Won::new(10000)]);
    // The bank the customer typed goes out as Toss's code.
    let sent = toss.requests().pop().unwrap();
    assert_eq!(
        sent.body["refundReceiveAccount"],
        json!({"bank": "88", "accountNumber": "110-123-456789", "holderName": "구매자"})
    );
    // A bank Toss does not pay into waits for another account, without a call.
    let calls = toss.requests().len();
    let mut unknown = call.clone();
    unknown.refund_account.as_mut().unwrap().bank = "뱅크오브아메리카".into();
    assert_refused(
        gw.cancel(unknown).await,
        "INVALID_BANK",
        Outcome::NeedsAccount,
    );
    assert_eq!(toss.requests().len(), calls);
}

/// Look-ups by key and by order id; a key with reserved characters is percent-encoded; an
/// order without a payment is `None`, a missing key NOT_FOUND_PAYMENT.
#[tokio::test]
async fn looks_payments_up() {
    let toss = TossServer::start().await;
    let gw = toss.gateway();
    let key = "test-pk-a/b c?d";
    gw.confirm(confirm_call(key, "20261124-000060", 12000))
        .await
        .unwrap();
    let p = gw.payment(key).await.unwrap();
    assert_eq!(
        (p.payment_key.as_str(), p.total_amount),
        (key, Won::new(12000))
    );
    assert_eq!(
        toss.requests().pop().unwrap().path,
        "/v1/payments/test-pk-a%2Fb%20c%3Fd"
    );
    let by_order = gw
        .payment_for_order("20261124-000060")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_order.payment_key, key);
    assert_eq!(gw.payment_for_order("20261124-999999").await.unwrap(), None);
    assert_refused(
        gw.payment("no-such-key").await,
        "NOT_FOUND_PAYMENT",
        Outcome::GiveUp,
    );
    assert_eq!(toss.calls(Endpoint::Payment), 2);
    assert_eq!(toss.calls(Endpoint::PaymentForOrder), 2);
    // The server's own view agrees.
    assert_eq!(toss.payment(key).unwrap()["status"], "DONE");
    assert_eq!(toss.payment_key_of("20261124-000060").as_deref(), Some(key));
}

/// The credentials are `Basic base64(secretKey + ":")`; a wrong key is UNAUTHORIZED_KEY,
/// retried (an operator fixes the configuration), and moves nothing.
#[tokio::test]
async fn the_secret_key_is_sent_as_basic_credentials() {
    let toss = TossServer::start().await;
    toss.gateway().payment("nothing").await.unwrap_err();
    let expected = format!("Basic {}", STANDARD.encode(format!("{SECRET_KEY}:")));
    assert_eq!(
        toss.requests()[0].authorization.as_deref(),
        Some(expected.as_str())
    );

    let wrong = TossGateway::new(
        toss.url(),
        "test_sk_someone_else",
        CLIENT_TIMEOUT,
        &Tls::default(),
        None,
    )
    .unwrap();
    assert_refused(
        wrong
            .confirm(confirm_call("test-pk-1", "20261124-000070", 1000))
            .await,
        "UNAUTHORIZED_KEY",
        Outcome::Retry,
    );
    let paid = toss.authorize("20261124-000071", 2000, PaymentKind::Card);
    toss.gateway()
        .confirm(confirm_call(&paid, "20261124-000071", 2000))
        .await
        .unwrap();
    assert_refused(
        wrong.cancel(cancel_call("C1", &paid, 2000)).await,
        "UNAUTHORIZED_KEY",
        Outcome::Retry,
    );
    assert!(toss.all_refunds().is_empty());
    assert_eq!(toss.payment_key_of("20261124-000070"), None);
}

/// `http://` to another machine is refused when the adapter is built (the key would cross the
/// network readable); the key never shows in `Debug`.
#[tokio::test]
async fn plain_http_beyond_loopback_is_refused_and_the_key_is_hidden() {
    let why = TossGateway::new(
        "http://pg.partner.example",
        SECRET_KEY,
        CLIENT_TIMEOUT,
        &Tls::default(),
        None,
    )
    .unwrap_err();
    assert!(why.contains("--payment-gateway-url"), "{why}");
    assert!(!why.contains(SECRET_KEY), "{why}");

    let toss = TossServer::start().await;
    let shown = format!("{:?}", toss.gateway());
    assert!(!shown.contains(SECRET_KEY), "{shown}");
    assert!(
        !shown.contains(&STANDARD.encode(format!("{SECRET_KEY}:"))),
        "{shown}"
    );
    assert!(shown.contains(toss.url()), "{shown}");
}
