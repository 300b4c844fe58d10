//! Fault tests (issue 9) against real `oms serve` processes, with the payment gateway and a
//! partner's webhook receiver living in the test process so that they outlive the servers.
//!
//! 1. **Crash** (`crash_sqlite`, `crash_postgres`): concurrent clients run claim flows (order →
//!    delivery → cancel / return / exchange → approve → collect → complete with a refund; card
//!    and bank transfer, points, partial quantities) over HTTP while the harness SIGKILLs the
//!    server at seeded random moments (at least 20 times) and restarts it on the same database.
//!    Clients ride out the outages by retrying with the same idempotency key. Once the load is
//!    over and the server has reached quiescence, every invariant holds: a line's quantities
//!    add up with its claims, per tender the money refunded never exceeds the money paid, every
//!    refund marked paid was executed exactly once at the gateway with the same amount (and the
//!    gateway executed nothing else), every claim transition has exactly one outbox message,
//!    and every outbox message reached the webhook. SQLite runs as the server configures it
//!    (WAL, `synchronous=FULL`). The servers' SYSTEM job leases last 2 s (`--job-lease-secs`),
//!    so a job a killed server held resumes once its lease runs out. `OMS_LONG_FAULTS=1` runs
//!    100 kills and 8 clients; `OMS_FAULT_SEED` replays a seed.
//! 2. **Storms** (`storms_postgres_two_replicas`, `storms_sqlite`): 100 concurrent conflicting
//!    requests on the same units or claim — claims over the same units, approvals, completing
//!    actions with refunds, retries of a failed refund, runs of the refund job — split across two
//!    server processes on one PostgreSQL (one process on SQLite, its supported deployment).
//!    Exactly one request wins each storm; every other gets a clean `userErrors` code, never a
//!    GraphQL error, a 5xx or "database is locked"; the gateway executes each refund once and
//!    the invariants hold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use oms::domain::claim::ClaimStatus;
use sea_orm::{EntityTrait, Set};
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, Shop, ShopBuilder};
use crate::harness::{Backend, TestApp};
use crate::replicas::{free_port, Server};
use crate::sinks::HttpSink;

// ---------------------------------------------------------------------------------------------
// A seeded random source

/// SplitMix64: small, seeded, good enough to pick moments and flows; a run is replayed with its
/// seed (`OMS_FAULT_SEED`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn seed() -> u64 {
    std::env::var("OMS_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_micros().unsigned_abs())
}

fn hash(parts: impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

// ---------------------------------------------------------------------------------------------
// The payment gateway, in the test process

/// What the gateway did.
#[derive(Default)]
struct Book {
    /// Refunds executed: cancel idempotency key → (payment key, amount). Each key moves money
    /// once.
    refunds: BTreeMap<String, (String, i64)>,
    /// Payments: payment key → the payment (order id, amount, method, deposited).
    payments: BTreeMap<String, Pay>,
    /// Calls per key (payment key for confirms, idempotency key for cancels), retries included.
    calls: HashMap<String, u32>,
    /// Keys that came back with another amount or payment than the first time.
    mismatches: Vec<String>,
}

/// A payment the gateway holds.
#[derive(Clone)]
struct Pay {
    order_id: String,
    amount: i64,
    virtual_account: bool,
    deposited: bool,
    cancelled: i64,
    cancels: Vec<Value>,
}

impl Pay {
    /// The payment as Toss Payments' API answers it.
    fn json(&self, key: &str) -> Value {
        let status = match (self.virtual_account, self.deposited, self.cancelled) {
            (true, false, _) => "WAITING_FOR_DEPOSIT",
            (_, _, 0) => "DONE",
            (_, _, c) if c < self.amount => "PARTIAL_CANCELED",
            _ => "CANCELED",
        };
        json!({
            "paymentKey": key,
            "orderId": self.order_id,
            "status": status,
            "method": if self.virtual_account { "가상계좌" } else { "카드" },
            "totalAmount": self.amount,
            "balanceAmount": self.amount - self.cancelled,
            "virtualAccount": if self.virtual_account {
                json!({"accountNumber": "X1234567890", "bankCode": "88", "customerName": "고객",
                       "dueDate": "2099-12-31T23:59:59+09:00"})
            } else {
                Value::Null
            },
            "secret": if self.virtual_account { json!(format!("secret-{key}")) } else { Value::Null },
            "cancels": self.cancels,
        })
    }
}

/// A loopback gateway speaking Toss Payments' protocol that records every call and every money
/// movement. When `flaky`, it fails the first cancel of one key in five (500, retried with
/// backoff) and answers each call up to 150 ms after doing its work, so that a kill often falls
/// between the gateway's execution and the server's record of it.
struct Gateway {
    book: Mutex<Book>,
    flaky: bool,
    seed: u64,
    url: String,
}

/// The secret key the servers under test present.
const SECRET_KEY: &str = "test_sk_faults";

impl Gateway {
    async fn start(flaky: bool, seed: u64) -> Arc<Gateway> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = Arc::new(Gateway {
            book: Mutex::default(),
            flaky,
            seed,
            url: format!("http://{}", listener.local_addr().unwrap()),
        });
        let app = Router::new()
            .route("/v1/payments/confirm", post(confirm))
            .route("/v1/payments/{key}", get(payment))
            .route("/v1/payments/orders/{order}", get(payment_for_order))
            .route("/v1/payments/{key}/cancel", post(cancel))
            .with_state(gateway.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        gateway
    }

    fn refunds(&self) -> BTreeMap<String, (String, i64)> {
        self.book.lock().unwrap().refunds.clone()
    }

    fn calls(&self) -> u64 {
        self.book
            .lock()
            .unwrap()
            .calls
            .values()
            .map(|n| u64::from(*n))
            .sum()
    }

    /// The customer deposits into the virtual account of `order_id`: the callback's body.
    fn deposit(&self, order_id: &str) -> Option<Value> {
        let mut book = self.book.lock().unwrap();
        let (key, pay) = book
            .payments
            .iter_mut()
            .find(|(_, p)| p.order_id == order_id && p.virtual_account)?;
        pay.deposited = true;
        Some(
            json!({"createdAt": "2026-12-08T12:00:00.000000", "secret": format!("secret-{key}"),
                    "status": "DONE", "transactionKey": format!("dep-{key}"), "orderId": order_id}),
        )
    }

    /// Counts a call of `key`; true when this call is to fail (a flaky gateway's first call of
    /// one key in five).
    fn count(&self, book: &mut Book, key: &str) -> bool {
        let calls = {
            let n = book.calls.entry(key.to_owned()).or_default();
            *n += 1;
            *n
        };
        self.flaky && calls == 1 && hash((self.seed, key)) % 5 == 0
    }

    /// How long the answer takes after the work is done.
    fn delay(&self, key: &str) -> Duration {
        if !self.flaky {
            return Duration::ZERO;
        }
        let calls = self
            .book
            .lock()
            .unwrap()
            .calls
            .get(key)
            .copied()
            .unwrap_or(0);
        Duration::from_millis(hash((self.seed, key, calls)) % 150)
    }
}

fn toss_error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"code": code, "message": message})))
}

fn authorized(headers: &HeaderMap) -> bool {
    use base64::Engine as _;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SECRET_KEY}:"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

async fn confirm(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return toss_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키",
        );
    }
    let key = body["paymentKey"].as_str().unwrap_or_default().to_owned();
    let order_id = body["orderId"].as_str().unwrap_or_default().to_owned();
    let amount = body["amount"].as_i64().unwrap_or(-1);
    let answer = {
        let mut book = g.book.lock().unwrap();
        g.count(&mut book, &key);
        if book.payments.contains_key(&key) {
            return toss_error(
                StatusCode::BAD_REQUEST,
                "ALREADY_PROCESSED_PAYMENT",
                "이미 처리된 결제 입니다.",
            );
        }
        if book.payments.values().any(|p| p.order_id == order_id) {
            book.mismatches
                .push(format!("{order_id}: a second payment ({key})"));
        }
        let pay = Pay {
            order_id,
            amount,
            virtual_account: key.starts_with("va-"),
            deposited: false,
            cancelled: 0,
            cancels: Vec::new(),
        };
        let answer = pay.json(&key);
        book.payments.insert(key.clone(), pay);
        answer
    };
    // Confirmed; the answer is still on its way.
    tokio::time::sleep(g.delay(&key)).await;
    (StatusCode::OK, Json(answer))
}

async fn payment(
    State(g): State<Arc<Gateway>>,
    Path(key): Path<String>,
) -> (StatusCode, Json<Value>) {
    match g.book.lock().unwrap().payments.get(&key) {
        Some(p) => (StatusCode::OK, Json(p.json(&key))),
        None => toss_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "존재하지 않는 결제 정보 입니다.",
        ),
    }
}

async fn payment_for_order(
    State(g): State<Arc<Gateway>>,
    Path(order): Path<String>,
) -> (StatusCode, Json<Value>) {
    let book = g.book.lock().unwrap();
    match book.payments.iter().find(|(_, p)| p.order_id == order) {
        Some((key, p)) => (StatusCode::OK, Json(p.json(key))),
        None => toss_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "존재하지 않는 결제 정보 입니다.",
        ),
    }
}

async fn cancel(
    State(g): State<Arc<Gateway>>,
    Path(payment_key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return toss_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키",
        );
    }
    let Some(key) = headers.get("idempotency-key").and_then(|k| k.to_str().ok()) else {
        return toss_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "Idempotency-Key required",
        );
    };
    let key = key.to_owned();
    let amount = body["cancelAmount"].as_i64().unwrap_or(-1);
    let answer = {
        let mut book = g.book.lock().unwrap();
        if g.count(&mut book, &key) {
            return toss_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다.",
            );
        }
        if let Some((paid_key, paid)) = book.refunds.get(&key).cloned() {
            if (paid_key.as_str(), paid) != (payment_key.as_str(), amount) {
                book.mismatches.push(format!(
                    "{key}: {payment_key} {amount} after {paid_key} {paid}"
                ));
            }
        } else {
            let Some(pay) = book.payments.get_mut(&payment_key) else {
                return toss_error(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND_PAYMENT",
                    "존재하지 않는 결제 정보 입니다.",
                );
            };
            if pay.virtual_account && body["refundReceiveAccount"].is_null() {
                return toss_error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REFUND_ACCOUNT_INFO",
                    "환불 계좌 정보가 필요합니다.",
                );
            }
            if amount > pay.amount - pay.cancelled {
                return toss_error(
                    StatusCode::FORBIDDEN,
                    "NOT_CANCELABLE_AMOUNT",
                    "취소 할 수 없는 금액 입니다.",
                );
            }
            pay.cancelled += amount;
            pay.cancels.push(
                json!({"cancelAmount": amount, "transactionKey": format!("pg-{key}"),
                                    "canceledAt": "2026-12-08T12:00:00+09:00"}),
            );
            book.refunds
                .insert(key.clone(), (payment_key.clone(), amount));
        }
        book.payments[&payment_key].json(&payment_key)
    };
    // The money moved; the answer is still on its way.
    tokio::time::sleep(g.delay(&key)).await;
    (StatusCode::OK, Json(answer))
}

// ---------------------------------------------------------------------------------------------
// `oms serve` as a child process

/// One `oms serve` process on a fixed port, restartable on the same database. The process is
/// killed (SIGKILL) and reaped when the handle drops, also when an assertion fails.
struct Oms {
    port: u16,
    args: Vec<String>,
    log: PathBuf,
    process: Option<Server>,
}

impl Oms {
    fn new(db_url: &str, gateway: &str, job_interval_secs: u64, name: &str) -> Oms {
        let port = free_port();
        let args = [
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            db_url,
            "--jwt-secret",
            "test-secret",
            "--job-interval-secs",
            &job_interval_secs.to_string(),
            "--payment-gateway",
            "toss",
            "--payment-gateway-url",
            gateway,
            "--payment-gateway-secret-key",
            SECRET_KEY,
            "--outbox-poll-ms",
            "20",
            "--outbox-lease-secs",
            "2",
            "--job-lease-secs",
            "2",
            "--webhook-allow-networks",
            crate::harness::LOOPBACK_SINKS,
        ]
        .map(str::to_owned)
        .to_vec();
        let log = std::env::temp_dir().join(format!(
            "oms-faults-{name}-{}-{port}.log",
            std::process::id()
        ));
        Oms {
            port,
            args,
            log,
            process: None,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process and waits until it is ready (generously: a loaded 2-core machine).
    async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_oms"))
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start oms");
        let mut server = Server(child);
        let client = crate::harness::http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                panic!(
                    "oms serve exited with {status} while starting; log {}",
                    self.log.display()
                );
            }
            let ready = client
                .get(format!("{}/readyz", self.base()))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "oms serve did not become ready; log {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.process = Some(server);
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(&mut self) {
        // `Server`'s drop kills and waits.
        self.process = None;
    }

    /// Log lines that speak of a panic or a locked database (the log is kept for a human).
    fn log_problems(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                l.contains("panicked") || l.contains("database is locked")
            })
            .map(str::to_owned)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Clients that ride out the outages

/// A client of the servers that retries through outages and records anything unclean.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    /// 5xx answers, GraphQL `errors`, "database is locked", unexpected `userErrors`.
    anomalies: Arc<Mutex<Vec<String>>>,
    /// Requests that got no answer (the server was down or died mid-request) and were resent.
    interrupted: Arc<AtomicU64>,
}

impl Api {
    fn new(base: String) -> Api {
        Api {
            http: oms::tls::Tls::default()
                .http_client(None)
                .unwrap()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base,
            anomalies: Arc::default(),
            interrupted: Arc::default(),
        }
    }

    fn anomaly(&self, what: String) {
        self.anomalies.lock().unwrap().push(what);
    }

    /// Sends a GraphQL document until a server answers it cleanly: connection errors (the
    /// server is down, or was killed mid-request) are retried, and so are unclean answers after
    /// they are recorded. Mutations carry an idempotency key, so a retry of one that committed
    /// returns its first result. Returns `data`.
    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables});
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let sent = self
                .http
                .post(format!("{}/graphql", self.base))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await;
            let answer = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    resp.text().await.ok().map(|text| (status, text))
                }
                Err(_) => None,
            };
            if answer.is_none() {
                self.interrupted.fetch_add(1, Ordering::Relaxed);
            }
            if let Some((status, text)) = answer {
                let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let lower = text.to_ascii_lowercase();
                if status.is_server_error()
                    || value.get("errors").is_some()
                    || lower.contains("database is locked")
                    || !value["data"].is_object()
                {
                    self.anomaly(format!("{status} {text} for {body}"));
                } else {
                    return value["data"].clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no clean answer in 4 minutes for {body}; anomalies: {:?}",
                self.anomalies.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A mutation whose payload must have no `userErrors`; returns the payload.
    async fn mutate(
        &self,
        token: &str,
        field: &str,
        input_type: &str,
        selection: &str,
        input: Value,
    ) -> Result<Value, String> {
        let doc = format!(
            "mutation($input: {input_type}!) {{ {field}(input: $input) {{ {selection} userErrors {{ code message }} }} }}"
        );
        let payload = self.gql(token, &doc, json!({"input": input})).await[field].clone();
        if payload["userErrors"] == json!([]) {
            Ok(payload)
        } else {
            let what = format!("{field} {input}: {payload}");
            self.anomaly(what.clone());
            Err(what)
        }
    }

    async fn claim_action(
        &self,
        token: &str,
        field: &str,
        input_type: &str,
        input: Value,
    ) -> Result<(String, String), String> {
        let p = self
            .mutate(
                token,
                field,
                input_type,
                "claim { claimNumber status }",
                input,
            )
            .await?;
        Ok((
            p["claim"]["claimNumber"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            p["claim"]["status"].as_str().unwrap_or_default().to_owned(),
        ))
    }

    /// Requests the claim `claim`, which must be accepted; its number and status.
    async fn request_claim(
        &self,
        token: &str,
        claim: &ClaimBuilder,
    ) -> Result<(String, String), String> {
        self.claim_action(token, claim.mutation(), claim.input_type(), claim.input())
            .await
    }

    /// Places `order`, which must be accepted; its number, its (first) line and what it owes.
    async fn place(&self, order: &OrderBuilder) -> Result<(String, String, Value), String> {
        let p = self
            .mutate(
                order.token(),
                "placeOrder",
                "PlaceOrderInput",
                "order { orderNumber amountDue lines { id } }",
                order.input(),
            )
            .await?;
        Ok((
            p["order"]["orderNumber"].as_str().unwrap().to_owned(),
            p["order"]["lines"][0]["id"].as_str().unwrap().to_owned(),
            p["order"]["amountDue"].clone(),
        ))
    }

    /// `confirmPayment` of a card checkout under the idempotency key `key`.
    async fn pay_by_card(
        &self,
        token: &str,
        number: &str,
        due: &Value,
        key: &str,
    ) -> Result<(), String> {
        let input = json!({"orderNumber": number, "paymentKey": format!("pk-{key}"), "amount": due,
                           "idempotencyKey": format!("{key}-pay")});
        self.mutate(token, "confirmPayment", "ConfirmPaymentInput", "", input)
            .await
            .map(|_| ())
    }

    /// Posts the gateway's deposit callback until the server has recorded it (it may be down).
    async fn deposit_callback(&self, body: &Value) {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let sent = self
                .http
                .post(format!("{}/webhooks/payments", self.base))
                .json(body)
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => return,
                Ok(resp) => self.anomaly(format!("deposit callback: {}", resp.status())),
                Err(_) => {
                    self.interrupted.fetch_add(1, Ordering::Relaxed);
                }
            }
            assert!(
                Instant::now() < deadline,
                "the deposit callback was never recorded"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `field` on `claim` under the idempotency key `key`, with `extra` input fields.
    async fn on_claim(
        &self,
        token: &str,
        field: &str,
        input_type: &str,
        claim: &str,
        key: String,
        mut extra: Value,
    ) -> Result<(String, String), String> {
        extra["claimNumber"] = json!(claim);
        extra["idempotencyKey"] = json!(key);
        self.claim_action(token, field, input_type, extra).await
    }
}

// ---------------------------------------------------------------------------------------------
// The marketplace under test

const REGISTER: &str = "mutation($url: String!) { registerWebhook(input: {url: $url, eventTypes: [\"*\"]}) { webhook { id } userErrors { code message } } }";

/// One seller with an option and a same-priced sibling (exchanges), `customers` customers with
/// points and a refund account (bank-transfer refunds), and the tokens.
async fn shop(t: &TestApp, customers: usize) -> Shop {
    ShopBuilder::new()
        .name("장애 시험 상점")
        .stock(1_000_000)
        .with_sibling()
        .customers(customers)
        .points(10_000_000)
        .refund_account()
        .build(t)
        .await
}

/// Registers the seller's webhook for every event type on `sink`.
async fn register_webhook(api: &Api, shop: &Shop, sink: &HttpSink) {
    let d = api
        .gql(
            &shop.seller.token,
            REGISTER,
            json!({"url": sink.url("/hook")}),
        )
        .await;
    assert_eq!(d["registerWebhook"]["userErrors"], json!([]), "{d}");
}

/// Confirms, ships and delivers a line as an operator.
async fn deliver(
    api: &Api,
    shop: &Shop,
    number: &str,
    line: &str,
    key: &str,
) -> Result<(), String> {
    let ops = &shop.operator;
    api.mutate(ops, "confirmOrder", "OrderLinesInput", "", json!({"orderNumber": number, "lineIds": [line], "idempotencyKey": format!("{key}-confirm")}))
        .await?;
    api.mutate(ops, "shipLines", "ShipLinesInput", "", json!({"lineIds": [line], "courier": "CJ대한통운", "trackingNumber": format!("T-{key}"), "idempotencyKey": format!("{key}-ship")}))
        .await?;
    api.mutate(
        ops,
        "markDelivered",
        "MarkDeliveredInput",
        "",
        json!({"lineIds": [line], "idempotencyKey": format!("{key}-delivered")}),
    )
    .await?;
    Ok(())
}

/// A return from request to completion; a fee the refund does not cover is waived.
async fn return_flow(
    api: &Api,
    shop: &Shop,
    customer: &str,
    (number, line): (&str, &str),
    quantity: u64,
    reason: &str,
    key: &str,
) -> Result<(), String> {
    let seller = &shop.seller.token;
    let request = ClaimBuilder::return_of(number, line)
        .quantity(quantity as i64)
        .reason(reason)
        .idempotency_key(&format!("{key}-request"));
    let (claim, _) = api.request_claim(customer, &request).await?;
    approve_and_collect(api, seller, &claim, key).await?;
    let (_, status) = api
        .on_claim(
            seller,
            "completeReturn",
            "CompleteReturnInput",
            &claim,
            format!("{key}-complete"),
            json!({}),
        )
        .await?;
    if status == "RETURN_AWAITING_FEE" {
        api.on_claim(
            seller,
            "waiveClaimFee",
            "ClaimActionInput",
            &claim,
            format!("{key}-waive"),
            json!({}),
        )
        .await?;
    }
    Ok(())
}

/// The seller approves `claim` and records its pickup: the steps returns and exchanges share.
async fn approve_and_collect(
    api: &Api,
    seller: &str,
    claim: &str,
    key: &str,
) -> Result<(), String> {
    api.on_claim(
        seller,
        "approveClaim",
        "ApproveClaimInput",
        claim,
        format!("{key}-approve"),
        json!({}),
    )
    .await?;
    api.on_claim(
        seller,
        "markCollected",
        "CourierInput",
        claim,
        format!("{key}-collected"),
        json!({"courier": "CJ대한통운", "trackingNumber": format!("R-{key}")}),
    )
    .await?;
    Ok(())
}

/// An exchange (seller's fault: no fee) from request to the replacement's delivery.
async fn exchange_flow(
    api: &Api,
    shop: &Shop,
    customer: &str,
    (number, line): (&str, &str),
    quantity: u64,
    key: &str,
) -> Result<(), String> {
    let seller = &shop.seller.token;
    let request = ClaimBuilder::exchange(number, line, shop.sibling())
        .quantity(quantity as i64)
        .idempotency_key(&format!("{key}-request"));
    let (claim, _) = api.request_claim(customer, &request).await?;
    approve_and_collect(api, seller, &claim, key).await?;
    api.on_claim(
        seller,
        "reshipExchange",
        "CourierInput",
        &claim,
        format!("{key}-reship"),
        json!({"courier": "CJ대한통운", "trackingNumber": format!("X-{key}")}),
    )
    .await?;
    api.on_claim(
        seller,
        "completeExchange",
        "ClaimActionInput",
        &claim,
        format!("{key}-complete"),
        json!({}),
    )
    .await?;
    Ok(())
}

/// One customer's flow: an order (card or bank transfer, with or without points, 2 to 4
/// units), then a partial cancel and a return, a return, or an exchange. Every step has its
/// own idempotency key.
async fn flow(
    (api, gateway): (&Api, &Gateway),
    shop: &Shop,
    worker: usize,
    n: u64,
    rng: &mut Rng,
) -> Result<(), String> {
    let customer = &shop.customers[worker].token;
    let key = format!("w{worker}-f{n}");
    let quantity = rng.range(2, 4);
    let card = rng.range(0, 1) == 0;
    let points = if rng.range(0, 2) == 0 { 1000 } else { 0 };
    let (number, line, due) = api
        .place(
            &OrderBuilder::by(customer)
                .line(shop.option, quantity as i64)
                .payment(if card { "CARD" } else { "BANK_TRANSFER" })
                .points(points)
                .idempotency_key(&format!("{key}-place")),
        )
        .await?;
    // The checkout's second step: the card confirmed, or a virtual account issued and
    // deposited into (the gateway's callback).
    if card {
        api.pay_by_card(customer, &number, &due, &key).await?;
    } else {
        let input = json!({"orderNumber": number, "paymentKey": format!("va-{key}"), "amount": due,
                           "idempotencyKey": format!("{key}-pay")});
        api.mutate(customer, "confirmPayment", "ConfirmPaymentInput", "", input)
            .await?;
        let callback = gateway
            .deposit(&number)
            .ok_or_else(|| format!("no virtual account for {number}"))?;
        api.deposit_callback(&callback).await;
    }
    let reason = if rng.range(0, 1) == 0 {
        "CHANGE_OF_MIND"
    } else {
        "DEFECTIVE"
    };
    match rng.range(0, 2) {
        0 => {
            let cancelled = rng.range(1, quantity - 1);
            let cancel = ClaimBuilder::cancel(&number, &line)
                .quantity(cancelled as i64)
                .idempotency_key(&format!("{key}-cancel"));
            api.request_claim(customer, &cancel).await?;
            deliver(api, shop, &number, &line, &key).await?;
            return_flow(
                api,
                shop,
                customer,
                (&number, &line),
                quantity - cancelled,
                reason,
                &format!("{key}-r"),
            )
            .await
        }
        1 => {
            deliver(api, shop, &number, &line, &key).await?;
            return_flow(
                api,
                shop,
                customer,
                (&number, &line),
                rng.range(1, quantity),
                reason,
                &format!("{key}-r"),
            )
            .await
        }
        _ => {
            deliver(api, shop, &number, &line, &key).await?;
            exchange_flow(
                api,
                shop,
                customer,
                (&number, &line),
                rng.range(1, quantity),
                &format!("{key}-x"),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants, by SQL and through the API

/// What the checks counted.
#[derive(Debug, Default)]
struct Figures {
    orders: usize,
    claims: usize,
    transitions: usize,
    refunds_executed: usize,
    refunded_won: i64,
    messages: usize,
    webhook_requests: usize,
}

/// True when the claim's units are open: counted in `claimed_quantity`.
fn units_open(status: ClaimStatus) -> bool {
    !(status.is_terminal() || status.is_refunding() || status.awaits_fee())
}

/// The units a claim in `status` has closed as cancelled or returned (`domain.md`: units
/// refunded by `refundExchange` count as returned).
fn units_closed(claim_type: &str, status: ClaimStatus) -> (bool, bool) {
    use ClaimStatus as S;
    let cancelled =
        claim_type == "CANCEL" && matches!(status, S::CancelCompleted | S::CancelRefunding);
    let returned = match claim_type {
        "RETURN" => matches!(
            status,
            S::ReturnCompleted | S::ReturnRefunding | S::ReturnAwaitingFee
        ),
        "EXCHANGE" => matches!(status, S::ExchangeRefunded | S::ExchangeRefunding),
        _ => false,
    };
    (cancelled, returned)
}

/// Waits until the server has nothing left to do: no claim refunding, no refund part pending,
/// every message expanded and every delivery delivered, every message seen by the sink.
async fn quiesce(t: &TestApp, sink: &HttpSink, timeout: Duration) {
    let db = t.app.db.conn();
    let deadline = Instant::now() + timeout;
    loop {
        let claims = entity::claim::Entity::find().all(db).await.unwrap();
        let refunding: Vec<String> = claims
            .iter()
            .filter(|c| ClaimStatus::parse(&c.status).is_some_and(ClaimStatus::is_refunding))
            .map(|c| format!("{} {}", c.claim_number, c.status))
            .collect();
        let parts: Vec<String> = entity::refund_part::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.status != "SUCCEEDED")
            .map(|p| {
                format!(
                    "{} {} attempts {} {:?}",
                    p.idempotency_key, p.status, p.attempts, p.last_error
                )
            })
            .collect();
        let messages = entity::outbox_message::Entity::find()
            .all(db)
            .await
            .unwrap();
        let undispatched = messages
            .iter()
            .filter(|m| m.dispatched_at.is_none())
            .count();
        let undelivered = entity::outbox_delivery::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.status != "DELIVERED")
            .map(|d| {
                format!(
                    "message {} {} {} {:?}",
                    d.message_id, d.destination, d.status, d.last_error
                )
            })
            .collect::<Vec<_>>();
        let seen: HashSet<String> = sink
            .requests()
            .iter()
            .filter_map(|r| r.header("webhook-id").map(str::to_owned))
            .collect();
        let unseen = messages
            .iter()
            .filter(|m| !seen.contains(&oms::outbox::event_id(m.id)))
            .count();
        if refunding.is_empty()
            && parts.is_empty()
            && undispatched == 0
            && undelivered.is_empty()
            && unseen == 0
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no quiescence after {timeout:?}: refunding {refunding:?}; parts {parts:?}; {undispatched} messages not expanded; undelivered {undelivered:?}; {unseen} messages never reached the webhook"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Checks every invariant of issue 9 on a quiescent database.
async fn check_invariants(
    t: &TestApp,
    api: &Api,
    operator: &str,
    gateway: &Gateway,
    sink: &HttpSink,
) -> Figures {
    let db = t.app.db.conn();
    let mut figures = Figures::default();

    // Quantities: each line's counters agree with its claims and add up.
    let lines = entity::order_line::Entity::find().all(db).await.unwrap();
    let claims = entity::claim::Entity::find().all(db).await.unwrap();
    let items = entity::claim_item::Entity::find().all(db).await.unwrap();
    let claim_by_id: HashMap<i64, &entity::claim::Model> =
        claims.iter().map(|c| (c.id, c)).collect();
    let mut expected: HashMap<i64, (i32, i32, i32)> = HashMap::new();
    for item in &items {
        let c = claim_by_id[&item.claim_id];
        let status = ClaimStatus::parse(&c.status).expect("known status");
        let (cancelled, returned) = units_closed(&c.claim_type, status);
        let e = expected.entry(item.line_id).or_default();
        if units_open(status) {
            e.0 += item.quantity;
        }
        if cancelled {
            e.1 += item.quantity;
        }
        if returned {
            e.2 += item.quantity;
        }
    }
    for l in &lines {
        let (claimed, cancelled, returned) = expected.get(&l.id).copied().unwrap_or_default();
        assert_eq!(
            (
                l.claimed_quantity,
                l.cancelled_quantity,
                l.returned_quantity
            ),
            (claimed, cancelled, returned),
            "line {} (claimed, cancelled, returned) against its claims",
            l.id
        );
        assert!(
            l.claimed_quantity >= 0
                && l.cancelled_quantity >= 0
                && l.returned_quantity >= 0
                && l.cancelled_quantity + l.returned_quantity + l.claimed_quantity <= l.quantity,
            "line {}: ordered {} < cancelled {} + returned {} + in open claims {}",
            l.id,
            l.quantity,
            l.cancelled_quantity,
            l.returned_quantity,
            l.claimed_quantity
        );
    }
    // At quiescence no flow is half done: every claim is closed.
    for c in &claims {
        let status = ClaimStatus::parse(&c.status).unwrap();
        assert!(
            status.is_terminal(),
            "claim {} still {}",
            c.claim_number,
            c.status
        );
    }

    // Money: per tender refunded ≤ paid, and the refunded amount is its refund parts.
    let tenders = entity::tender::Entity::find().all(db).await.unwrap();
    let parts = entity::refund_part::Entity::find().all(db).await.unwrap();
    for tender in &tenders {
        let parted: i64 = parts
            .iter()
            .filter(|p| p.tender_id == Some(tender.id))
            .map(|p| p.amount)
            .sum();
        assert!(
            0 <= tender.refunded_amount && tender.refunded_amount <= tender.amount,
            "tender {} ({}) refunded {} of {}",
            tender.id,
            tender.method,
            tender.refunded_amount,
            tender.amount
        );
        assert_eq!(
            tender.refunded_amount, parted,
            "tender {}: refunded amount against its parts",
            tender.id
        );
    }

    // The gateway: every refund part marked paid was executed exactly once there, with its
    // amount, and the gateway moved no money that no part records.
    let executed = gateway.refunds();
    let paid: BTreeMap<String, i64> = parts
        .iter()
        .filter(|p| p.method != "POINTS")
        .map(|p| {
            assert_eq!(
                p.status, "SUCCEEDED",
                "part {} at quiescence",
                p.idempotency_key
            );
            assert!(!p.manual, "no part was resolved by hand");
            (p.idempotency_key.clone(), p.amount)
        })
        .collect();
    let at_gateway: BTreeMap<String, i64> =
        executed.iter().map(|(k, (_, a))| (k.clone(), *a)).collect();
    assert_eq!(
        paid, at_gateway,
        "refund parts paid (left) against money moved at the gateway (right)"
    );
    for p in parts.iter().filter(|p| p.method != "POINTS") {
        assert_eq!(
            p.gateway_reference.as_deref(),
            Some(format!("pg-{}", p.idempotency_key).as_str()),
            "part {} records the gateway's answer",
            p.idempotency_key
        );
    }
    let mismatches = gateway.book.lock().unwrap().mismatches.clone();
    assert!(
        mismatches.is_empty(),
        "a key reused with another amount: {mismatches:?}"
    );
    figures.refunds_executed = executed.len();
    figures.refunded_won = executed.values().map(|(_, a)| a).sum();

    // The outbox: one message per claim transition, one `order.placed` per order.
    let events = entity::claim_event::Entity::find().all(db).await.unwrap();
    let messages = entity::outbox_message::Entity::find()
        .all(db)
        .await
        .unwrap();
    let mut transitions: BTreeMap<(i64, i64), String> = BTreeMap::new();
    for e in &events {
        let prior = transitions.insert(
            (e.claim_id, i64::from(e.version)),
            format!("claim.{}", e.to_status.to_ascii_lowercase()),
        );
        assert!(
            prior.is_none(),
            "claim {} has two events at version {}",
            e.claim_id,
            e.version
        );
    }
    let mut written: BTreeMap<(i64, i64), String> = BTreeMap::new();
    for m in messages.iter().filter(|m| m.claim_id.is_some()) {
        let payload: Value = serde_json::from_str(&m.payload).unwrap();
        let version = payload["version"].as_i64().unwrap();
        let prior = written.insert((m.claim_id.unwrap(), version), m.event_type.clone());
        assert!(
            prior.is_none(),
            "two messages for claim {:?} version {version}",
            m.claim_id
        );
    }
    assert_eq!(
        transitions, written,
        "claim transitions (left) against their outbox messages (right)"
    );
    let orders = entity::order::Entity::find().all(db).await.unwrap();
    // Every order announced itself once: a card order when its payment was confirmed
    // (`order.paid`), a virtual account's when it was issued (`order.placed`), and once paid
    // it said so once.
    for o in &orders {
        let count = |event: &str| {
            messages
                .iter()
                .filter(|m| m.order_id == o.id && m.event_type == event)
                .count()
        };
        let (placed, paid, deposited) = (
            count("order.placed"),
            count("order.paid"),
            count("order.deposit_confirmed"),
        );
        let once = match o.payment_method.as_str() {
            "CARD" => placed == 0 && paid == 1 && deposited == 0,
            _ => placed == 1 && paid == 0 && deposited == 1,
        };
        assert!(
            once,
            "order {} ({}): order.placed {placed}, order.paid {paid}, order.deposit_confirmed {deposited}",
            o.order_number, o.payment_method
        );
    }

    // Every message reached the partner, by its webhook id (duplicates allowed, no loss).
    let requests = sink.requests();
    let seen: HashSet<String> = requests
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect();
    let lost: Vec<i64> = messages
        .iter()
        .filter(|m| !seen.contains(&oms::outbox::event_id(m.id)))
        .map(|m| m.id)
        .collect();
    assert!(
        lost.is_empty(),
        "messages that never reached the webhook: {lost:?}"
    );

    // Through the API: each order's lines add up and its claims are closed, paid in full.
    let q = "query($n: String!) { order(orderNumber: $n) { lines { quantity activeQuantity cancelledQuantity returnedQuantity claimedQuantity } claims { claimNumber status timeline { toStatus } refund { parts { method status amount } } } } }";
    for o in &orders {
        let d = api.gql(operator, q, json!({"n": o.order_number})).await;
        for l in d["order"]["lines"].as_array().unwrap() {
            let n = |f: &str| l[f].as_i64().unwrap();
            assert_eq!(
                n("quantity"),
                n("activeQuantity") + n("cancelledQuantity") + n("returnedQuantity"),
                "{d}"
            );
            assert!(n("claimedQuantity") <= n("activeQuantity"), "{d}");
        }
        for c in d["order"]["claims"].as_array().unwrap() {
            let status = ClaimStatus::parse(c["status"].as_str().unwrap()).unwrap();
            assert!(status.is_terminal(), "{c}");
            for p in c["refund"]["parts"].as_array().into_iter().flatten() {
                assert_eq!(p["status"], "SUCCEEDED", "{c}");
            }
            figures.transitions += c["timeline"].as_array().unwrap().len();
        }
    }
    assert_eq!(
        figures.transitions,
        events.len(),
        "the API's timelines are the stored events"
    );

    figures.orders = orders.len();
    figures.claims = claims.len();
    figures.messages = messages.len();
    figures.webhook_requests = requests.len();
    figures
}

// ---------------------------------------------------------------------------------------------
// 1. Crash

async fn crash(backend: Backend) {
    let Some(t) = TestApp::new(backend).await else {
        crate::harness::skip_postgres();
        return;
    };
    let long = std::env::var_os("OMS_LONG_FAULTS").is_some();
    let (kills, workers) = if long { (100, 8) } else { (20, 4) };
    let seed = seed();
    let label = format!("{backend:?}").to_ascii_lowercase();
    println!(
        "faults::crash[{label}]: seed {seed} (OMS_FAULT_SEED={seed} replays the kill schedule)"
    );
    let mut rng = Rng(seed);
    let started = Instant::now();

    let gateway = Gateway::start(true, seed).await;
    let sink = HttpSink::start().await;
    sink.set_delay(Duration::from_millis(5));
    let shop = Arc::new(shop(&t, workers).await);
    let mut oms = Oms::new(&t.url, &gateway.url, 1, &format!("crash-{label}"));
    oms.start().await;
    let api = Api::new(oms.base());
    register_webhook(&api, &shop, &sink).await;

    // The load: each worker runs flows one after another until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let flows_done = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for worker in 0..workers {
        let (api, shop, stop, done) = (api.clone(), shop.clone(), stop.clone(), flows_done.clone());
        let gateway = gateway.clone();
        let mut rng = Rng(seed ^ hash(worker));
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                if flow((&api, &gateway), &shop, worker, n, &mut rng)
                    .await
                    .is_ok()
                {
                    done.fetch_add(1, Ordering::SeqCst);
                }
                n += 1;
            }
        }));
    }

    // The faults: SIGKILL at a random moment, restart on the same database.
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.range(200, 2000))).await;
        oms.kill();
        tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
        oms.start().await;
    }
    let kill_phase = started.elapsed();

    // The load finishes the flows it is in the middle of, then the server settles.
    stop.store(true, Ordering::SeqCst);
    for handle in load {
        tokio::time::timeout(Duration::from_secs(300), handle)
            .await
            .expect("clients finish their flows")
            .expect("client task");
    }
    quiesce(&t, &sink, Duration::from_secs(180)).await;

    let anomalies = api.anomalies.lock().unwrap().clone();
    assert!(anomalies.is_empty(), "unclean answers: {anomalies:#?}");
    let figures = check_invariants(&t, &api, &shop.operator, &gateway, &sink).await;
    let problems = oms.log_problems();
    assert!(
        problems.is_empty(),
        "server log ({}): {problems:#?}",
        oms.log.display()
    );
    let flows = flows_done.load(Ordering::SeqCst);
    assert!(
        flows >= workers as u64,
        "the load made progress: {flows} flows"
    );
    println!(
        "faults::crash[{label}]: seed {seed}, {kills} kills in {:.1} s, {workers} clients, {flows} flows completed ({} requests cut off and resent), {} orders, {} claims, {} transitions, {} refunds executed at the gateway ({} won, {} gateway calls), {} outbox messages, {} webhook requests, {:.1} s in all",
        kill_phase.as_secs_f64(),
        api.interrupted.load(Ordering::Relaxed),
        figures.orders,
        figures.claims,
        figures.transitions,
        figures.refunds_executed,
        figures.refunded_won,
        gateway.calls(),
        figures.messages,
        figures.webhook_requests,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_sqlite() {
    crash(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_postgres() {
    crash(Backend::Postgres).await;
}

// ---------------------------------------------------------------------------------------------
// 2. Storms of conflicting requests

/// Sends `bodies` all at once, spread over the servers in turn, as `token`; asserts that every
/// answer is clean — HTTP 200, no GraphQL `errors`, nothing about a locked or busy database —
/// and returns each answer's `data`.
async fn send_all(bases: &[String], token: &str, bodies: Vec<Value>) -> Vec<Value> {
    let client = oms::tls::Tls::default()
        .http_client(None)
        .unwrap()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let calls = bodies.into_iter().enumerate().map(|(i, body)| {
        let req = client
            .post(format!("{}/graphql", bases[i % bases.len()]))
            .bearer_auth(token)
            .json(&body);
        async move {
            let resp = req.send().await.expect("the server answers");
            (resp.status(), resp.text().await.expect("a body"))
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    answers
        .into_iter()
        .map(|(status, text)| {
            let lower = text.to_ascii_lowercase();
            assert!(
                !lower.contains("locked") && !lower.contains("busy"),
                "{text}"
            );
            assert_eq!(status, StatusCode::OK, "{text}");
            let value: Value = serde_json::from_str(&text).unwrap();
            assert!(value.get("errors").is_none(), "{text}");
            value["data"].clone()
        })
        .collect()
}

/// A storm of claim mutations (`(field, body)` pairs): exactly one wins, every other is
/// refused with one of the `allowed` codes. Returns the winner's payload.
async fn storm(
    name: &str,
    bases: &[String],
    token: &str,
    requests: Vec<(&str, Value)>,
    allowed: &[&str],
) -> Value {
    let fields: Vec<&str> = requests.iter().map(|(f, _)| *f).collect();
    let bodies = requests.into_iter().map(|(_, b)| b).collect();
    let answers = send_all(bases, token, bodies).await;
    let mut winners = Vec::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for (field, data) in fields.iter().zip(answers) {
        let payload = &data[*field];
        match payload["userErrors"][0]["code"].as_str() {
            None => winners.push(payload.clone()),
            Some(code) => {
                assert!(
                    allowed.contains(&code),
                    "{name}: {code} is not a clean refusal here: {payload}"
                );
                *codes.entry(code.to_owned()).or_default() += 1;
            }
        }
    }
    println!("  {name}: {} winner(s), refusals {codes:?}", winners.len());
    assert_eq!(
        winners.len(),
        1,
        "{name}: exactly one winner; refusals {codes:?}; winners {winners:?}"
    );
    winners.remove(0)
}

fn claim_doc(field: &str, input_type: &str) -> String {
    format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ claim {{ claimNumber type status version }} userErrors {{ code message }} }} }}")
}

/// A claim request as one of a storm's `(field, body)` pairs.
fn claim_request(claim: &ClaimBuilder) -> (&'static str, Value) {
    let field = claim.mutation();
    let body = json!({"query": claim_doc(field, claim.input_type()), "variables": {"input": claim.input()}});
    (field, body)
}

/// 100 times the same claim action; every other one names the version the claim is at.
fn claim_storm<'a>(
    field: &'a str,
    input_type: &str,
    claim: &Value,
    version: &Value,
) -> Vec<(&'a str, Value)> {
    (0..100)
        .map(|i| {
            let mut input = json!({"claimNumber": claim});
            if i % 2 == 0 {
                input["expectedVersion"] = version.clone();
            }
            (
                field,
                json!({"query": claim_doc(field, input_type), "variables": {"input": input}}),
            )
        })
        .collect()
}

async fn claim_state(api: &Api, token: &str, claim: &Value) -> Value {
    api.gql(token, "query($n: String!) { claim(claimNumber: $n) { claimNumber type status version refund { parts { status amount idempotencyKey } } } }", json!({"n": claim}))
        .await["claim"]
        .clone()
}

/// The storms of issue 9 against `processes` server processes on one database.
async fn storms(backend: Backend, processes: usize) {
    let Some(t) = TestApp::new(backend).await else {
        crate::harness::skip_postgres();
        return;
    };
    let label = format!("{backend:?}-{processes}").to_ascii_lowercase();
    println!("faults::storms[{label}]: 100 requests per storm over {processes} process(es)");
    let started = Instant::now();
    let gateway = Gateway::start(false, 0).await;
    let sink = HttpSink::start().await;
    let shop = shop(&t, 1).await;
    let (customer, seller, ops) = (&shop.customer().token, &shop.seller.token, &shop.operator);
    // No periodic jobs: the refund job runs when a storm runs it.
    let mut servers: Vec<Oms> = (0..processes)
        .map(|i| Oms::new(&t.url, &gateway.url, 0, &format!("storm-{label}-{i}")))
        .collect();
    for s in &mut servers {
        s.start().await;
    }
    let bases: Vec<String> = servers.iter().map(Oms::base).collect();
    let api = Api::new(bases[0].clone());
    register_webhook(&api, &shop, &sink).await;

    // (a) Claims over the same units: returns and exchanges of 2 of 3 delivered units. Clean
    // refusals: NOT_ENOUGH_UNITS (the winner's claim had committed when the loser read the
    // line) and CLAIM_CONFLICT (the loser read the line before that commit and lost at its
    // conditional write).
    let storm_order = |key: &str| {
        OrderBuilder::by(customer)
            .line(shop.option, 3)
            .idempotency_key(key)
    };
    let (number, line, due) = api.place(&storm_order("storm-1")).await.unwrap();
    api.pay_by_card(customer, &number, &due, "storm-1")
        .await
        .unwrap();
    deliver(&api, &shop, &number, &line, "storm-1")
        .await
        .unwrap();
    let requests = (0..100)
        .map(|i| {
            if i % 2 == 0 {
                claim_request(&ClaimBuilder::return_of(&number, &line).quantity(2))
            } else {
                claim_request(&ClaimBuilder::exchange(&number, &line, shop.sibling()).quantity(2))
            }
        })
        .collect();
    let won = storm(
        "requestReturn/requestExchange on the same units",
        &bases,
        customer,
        requests,
        &["NOT_ENOUGH_UNITS", "CLAIM_CONFLICT"],
    )
    .await;
    let claim = won["claim"]["claimNumber"].clone();
    let is_return = won["claim"]["type"] == "RETURN";
    let d = api
        .gql(customer, "query($n: String!) { order(orderNumber: $n) { lines { claimedQuantity } claims { claimNumber } } }", json!({"n": number}))
        .await;
    assert_eq!(d["order"]["lines"][0]["claimedQuantity"], 2, "{d}");
    assert_eq!(d["order"]["claims"].as_array().unwrap().len(), 1, "{d}");

    // (b) Approving the claim 100 times, half with `expectedVersion`. Clean refusals:
    // STALE_VERSION (the version named is gone), CLAIM_ACTION_NOT_ALLOWED (without a version:
    // the claim is *_COLLECTING by then, where approving is no action) and CLAIM_CONFLICT (read
    // before the winner's commit, lost at the conditional update).
    let moved_on = [
        "STALE_VERSION",
        "CLAIM_ACTION_NOT_ALLOWED",
        "CLAIM_CONFLICT",
    ];
    let version = won["claim"]["version"].clone();
    let won = storm(
        "approveClaim",
        &bases,
        seller,
        claim_storm("approveClaim", "ApproveClaimInput", &claim, &version),
        &moved_on,
    )
    .await;
    assert!(
        won["claim"]["status"]
            .as_str()
            .unwrap()
            .ends_with("_COLLECTING"),
        "{won}"
    );
    api.claim_action(
        seller,
        "markCollected",
        "CourierInput",
        json!({"claimNumber": claim, "courier": "CJ대한통운", "trackingNumber": "STORM-R"}),
    )
    .await
    .unwrap();

    // (c) The refund-completing action 100 times (completeReturn, or refundExchange when the
    // exchange won (a)); the same clean refusals as (b).
    let version = claim_state(&api, seller, &claim).await["version"].clone();
    let (field, input_type) = if is_return {
        ("completeReturn", "CompleteReturnInput")
    } else {
        ("refundExchange", "ClaimActionInput")
    };
    let won = storm(
        field,
        &bases,
        seller,
        claim_storm(field, input_type, &claim, &version),
        &moved_on,
    )
    .await;
    assert!(
        won["claim"]["status"]
            .as_str()
            .unwrap()
            .ends_with("_REFUNDING"),
        "{won}"
    );

    // (d) Cancelling the same 2 of 3 paid units 100 times: refusals as in (a).
    let (number, line, due) = api.place(&storm_order("storm-2")).await.unwrap();
    api.pay_by_card(customer, &number, &due, "storm-2")
        .await
        .unwrap();
    let requests = (0..100)
        .map(|_| claim_request(&ClaimBuilder::cancel(&number, &line).quantity(2)))
        .collect();
    let won = storm(
        "requestCancel on the same units",
        &bases,
        customer,
        requests,
        &["NOT_ENOUGH_UNITS", "CLAIM_CONFLICT"],
    )
    .await;
    assert_eq!(won["claim"]["status"], "CANCEL_REFUNDING", "{won}");
    let cancel = won["claim"]["claimNumber"].clone();

    // (e) Its card refund has failed its eight attempts (set directly: the backoff would take
    // minutes, and is written with the servers stopped: on SQLite a write from another process
    // would meet their writers as "database is locked"); an operator retries it 100 times.
    // Clean refusals as in (b), the action no longer applying once no part is FAILED.
    for s in &mut servers {
        s.kill();
    }
    let cancel_id = entity::claim::Entity::find()
        .all(t.app.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|c| json!(c.claim_number) == cancel)
        .unwrap()
        .id;
    {
        use sea_orm::{ColumnTrait, QueryFilter};
        entity::refund_part::Entity::update_many()
            .set(entity::refund_part::ActiveModel {
                status: Set("FAILED".into()),
                attempts: Set(oms::config::RefundAttempts::DEFAULT.get()),
                last_error: Set(Some("PROVIDER_ERROR: card issuer unavailable".into())),
                ..Default::default()
            })
            .filter(entity::refund_part::Column::ClaimId.eq(cancel_id))
            .filter(entity::refund_part::Column::Method.ne("POINTS"))
            .exec(t.app.db.conn())
            .await
            .unwrap();
    }
    for s in &mut servers {
        s.start().await;
    }
    let version = claim_state(&api, ops, &cancel).await["version"].clone();
    storm(
        "retryRefund",
        &bases,
        ops,
        claim_storm("retryRefund", "ClaimActionInput", &cancel, &version),
        &moved_on,
    )
    .await;

    // (f) The refund job, 100 times at once: each due part goes to the gateway exactly once.
    let runs = send_all(
        &bases,
        ops,
        (0..100)
            .map(|_| json!({"query": "mutation { runSystemJobs(input: {jobs: [PAY_REFUNDS]}) { runs { job ran processed } } }"}))
            .collect(),
    )
    .await;
    let processed: i64 = runs
        .iter()
        .map(|d| d["runSystemJobs"]["runs"][0]["processed"].as_i64().unwrap())
        .sum();
    let ran = runs
        .iter()
        .filter(|d| d["runSystemJobs"]["runs"][0]["ran"] == true)
        .count();
    println!("  runSystemJobs(PAY_REFUNDS): {ran} runs took the lease, {processed} parts paid");
    assert_eq!(processed, 2, "two due parts, each paid by one run");
    {
        let book = gateway.book.lock().unwrap();
        assert_eq!(book.refunds.len(), 2, "{:?}", book.refunds);
        assert!(
            book.calls.values().all(|n| *n == 1),
            "each refund sent once: {:?}",
            book.calls
        );
    }
    for c in [&claim, &cancel] {
        let state = claim_state(&api, ops, c).await;
        assert!(
            ClaimStatus::parse(state["status"].as_str().unwrap())
                .unwrap()
                .is_terminal(),
            "{state}"
        );
    }

    quiesce(&t, &sink, Duration::from_secs(120)).await;
    let anomalies = api.anomalies.lock().unwrap().clone();
    assert!(anomalies.is_empty(), "unclean answers: {anomalies:#?}");
    let figures = check_invariants(&t, &api, ops, &gateway, &sink).await;
    for s in &servers {
        let problems = s.log_problems();
        assert!(
            problems.is_empty(),
            "server log ({}): {problems:#?}",
            s.log.display()
        );
    }
    println!(
        "faults::storms[{label}]: 6 storms of 100, {} claims, {} refunds executed once each, {} messages delivered, {:.1} s",
        figures.claims,
        figures.refunds_executed,
        figures.messages,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_postgres_two_replicas() {
    storms(Backend::Postgres, 2).await;
}

/// One process: SQLite's supported deployment (its writers queue inside the process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_sqlite() {
    storms(Backend::Sqlite, 1).await;
}

/// Two processes on one SQLite file, which is not a supported deployment: SQLite's writers
/// queue inside one process, and a second process's writer meets them as "database is locked"
/// (SQLITE_BUSY, and SQLITE_BUSY_SNAPSHOT when a deferred transaction that has read tries to
/// write), which reaches clients as INTERNAL errors. Kept, ignored, to show it: run it with
/// `--ignored`; it fails on the first storm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two processes on one SQLite file are not a supported deployment"]
async fn storms_sqlite_two_processes() {
    storms(Backend::Sqlite, 2).await;
}
