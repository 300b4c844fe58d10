//! A real server per test: a fresh SQLite file or a fresh PostgreSQL database, migrated, with
//! a manual clock; requests go through the real router (`oms::http::router`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{Duration, TimeZone, Utc};
use entity::{customer, product, product_option, seller};
use http_body_util::BodyExt;
use oms::app::App;
use oms::auth::TokenKeys;
use oms::clock::ManualClock;
use oms::config::{JobArgs, LimitArgs};
use oms::db::Db;
use oms::domain::actor::Role;
use oms::metrics::Metrics;
use oms::outbox::dispatch::Channels;
use oms::outbox::webhook_client::{Lookup, LookupFuture, Targets, WebhookClient};
use oms::repo;
use sea_orm::{ConnectionTrait, Database, Set};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    /// The database URL (for servers started as separate processes).
    pub url: String,
    pub gateway: Arc<oms::gateway::SimulatedGateway>,
    pub app: App,
    pub router: Router,
    pub clock: ManualClock,
    /// The names webhook URLs resolve to (shared by every server of the test).
    pub dns: Arc<DnsTable>,
}

/// The networks the harness lets webhooks reach: the loopback sinks (`--webhook-allow-networks`
/// as a development server would set it).
pub const LOOPBACK_SINKS: &str = "127.0.0.0/8,::1/128";

/// The names webhooks resolve to in a test; the system's resolver is never asked. Empty (no
/// name resolves) until the test maps one.
#[derive(Default)]
pub struct DnsTable(Mutex<HashMap<String, Vec<IpAddr>>>);

impl DnsTable {
    /// `name` resolves to `addrs` from now on (none: it no longer resolves).
    pub fn set(&self, name: &str, addrs: &[&str]) {
        let addrs = addrs
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect();
        self.0.lock().unwrap().insert(name.to_owned(), addrs);
    }
}

impl Lookup for DnsTable {
    fn lookup(&self, host: &str) -> LookupFuture {
        let found = self
            .0
            .lock()
            .unwrap()
            .get(host)
            .filter(|addrs| !addrs.is_empty())
            .cloned();
        Box::pin(async move {
            found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such name"))
        })
    }
}

/// A webhook client that may reach `allow` (`127.0.0.0/8,::1/128`; empty: the production
/// default) and resolves names in `dns`.
pub fn webhook_client(allow: &str, dns: Arc<DnsTable>) -> WebhookClient {
    webhook_client_trusting(allow, dns, &oms::tls::Tls::default())
}

/// [`webhook_client`] checking receivers' certificates against `tls` (a test CA).
pub fn webhook_client_trusting(
    allow: &str,
    dns: Arc<DnsTable>,
    tls: &oms::tls::Tls,
) -> WebhookClient {
    WebhookClient::new(Targets::new(allow.parse().expect("networks"), dns), tls).expect("client")
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An HTTP client for talking to servers the tests start (rustls with ring, as the server's).
pub fn http_client() -> reqwest::Client {
    oms::tls::Tls::default()
        .http_client(None)
        .expect("TLS")
        .build()
        .expect("http client")
}

/// Creates a database with a unique name on the server `admin` points at; its URL (`admin`
/// with the database replaced, the query kept).
async fn fresh_postgres_database(admin: &str) -> String {
    let name = unique_name();
    let conn = Database::connect(admin)
        .await
        .expect("connect to the PostgreSQL test server");
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let mut url = url::Url::parse(admin).expect("a PostgreSQL URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn unique_name() -> String {
    format!(
        "oms_test_{}_{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestApp {
    /// A fresh app on `backend`, or `None` when PostgreSQL is not configured
    /// (`OMS_TEST_POSTGRES_URL` unset).
    pub async fn new(backend: Backend) -> Option<TestApp> {
        Self::with_limits(backend, LimitArgs::default()).await
    }

    pub async fn with_limits(backend: Backend, limits: LimitArgs) -> Option<TestApp> {
        Self::build(backend, limits, None, None).await
    }

    /// An app whose courier is `courier` instead of the simulator.
    pub async fn with_courier(
        backend: Backend,
        courier: Arc<dyn oms::courier::CourierAdapter>,
    ) -> Option<TestApp> {
        Self::build(backend, LimitArgs::default(), None, Some(courier)).await
    }

    /// An app whose payment gateway is `gateway` instead of the simulator.
    pub async fn with_gateway(
        backend: Backend,
        gateway: Arc<dyn oms::gateway::PaymentGateway>,
    ) -> Option<TestApp> {
        Self::build(backend, LimitArgs::default(), Some(gateway), None).await
    }

    async fn build(
        backend: Backend,
        limits: LimitArgs,
        custom_gateway: Option<Arc<dyn oms::gateway::PaymentGateway>>,
        custom_courier: Option<Arc<dyn oms::courier::CourierAdapter>>,
    ) -> Option<TestApp> {
        // Internal errors are logged, never sent: show them in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("oms=warn")
            .try_init();
        let url = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
                format!("sqlite://{}?mode=rwc", path.display())
            }
            Backend::Postgres => {
                fresh_postgres_database(&std::env::var("OMS_TEST_POSTGRES_URL").ok()?).await
            }
        };
        Some(Self::on_database(url, limits, custom_gateway, custom_courier).await)
    }

    /// A fresh app on a new database of the PostgreSQL server `admin` points at, reached the
    /// way `admin` says (its `sslmode`, `sslrootcert`, ... kept).
    pub async fn on_postgres(admin: &str) -> TestApp {
        let url = fresh_postgres_database(admin).await;
        Self::on_database(url, LimitArgs::default(), None, None).await
    }

    async fn on_database(
        url: String,
        limits: LimitArgs,
        custom_gateway: Option<Arc<dyn oms::gateway::PaymentGateway>>,
        custom_courier: Option<Arc<dyn oms::courier::CourierAdapter>>,
    ) -> TestApp {
        let db = Db::connect(&url, 8).await.expect("connect");
        db.migrate().await.expect("migrate");
        let clock = ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
                .single()
                .expect("time"),
        );
        let gateway = Arc::new(oms::gateway::SimulatedGateway::default());
        let dns = Arc::new(DnsTable::default());
        let app = App {
            live: oms::outbox::live::LiveHub::new(db.clone()),
            gateway: custom_gateway.unwrap_or_else(|| gateway.clone()),
            courier_secret: "courier-secret".into(),
            courier: custom_courier.unwrap_or_else(|| Arc::new(oms::courier::SimulatedCourier)),
            db,
            clock: Arc::new(clock.clone()),
            keys: TokenKeys::new("test-secret"),
            limits,
            jobs: JobArgs::default(),
            metrics: Metrics::new(),
            instance_id: unique_name(),
            plugins: plugin_host(),
            plugin_quota: Default::default(),
            outbox: Arc::new(Channels::log_only(webhook_client(
                LOOPBACK_SINKS,
                dns.clone(),
            ))),
        };
        let router = oms::http::router(app.clone(), Path::new("web/node_modules"));
        TestApp {
            url,
            gateway,
            app,
            router,
            clock,
            dns,
        }
    }

    /// Another server on the same database whose webhooks go through `client`.
    pub fn with_webhook_client(&self, client: WebhookClient) -> TestApp {
        self.sibling(App {
            plugin_quota: Default::default(),
            outbox: Arc::new(Channels::log_only(client)),
            ..self.app.clone()
        })
    }

    /// Another server on the same database whose webhooks may reach only `allow` (`""`: the
    /// production default, `"127.0.0.1/32"`, ...): its own router and dispatcher, the same
    /// clock, keys and names.
    pub fn with_webhook_networks(&self, allow: &str) -> TestApp {
        self.sibling(App {
            plugin_quota: Default::default(),
            outbox: Arc::new(Channels::log_only(webhook_client(allow, self.dns.clone()))),
            ..self.app.clone()
        })
    }

    /// Another server on the same database, as a second replica: its own router and its own
    /// plugin host (nothing compiled yet), the same clock and keys.
    pub fn replica(&self) -> TestApp {
        self.sibling(App {
            plugins: Arc::new(new_plugin_host(plugin_host().limits().clone())),
            ..self.app.clone()
        })
    }

    /// A replica whose plugin host has these limits (a compile budget a test can reach).
    pub fn replica_with_plugin_limits(&self, limits: oms::plugin::PluginLimits) -> TestApp {
        self.sibling(App {
            plugins: Arc::new(new_plugin_host(limits)),
            ..self.app.clone()
        })
    }

    /// `app` as another server process: its own name, live feed and router.
    fn sibling(&self, app: App) -> TestApp {
        let app = App {
            instance_id: unique_name(),
            live: oms::outbox::live::LiveHub::new(app.db.clone()),
            ..app
        };
        TestApp {
            url: self.url.clone(),
            gateway: self.gateway.clone(),
            router: oms::http::router(app.clone(), Path::new("web/node_modules")),
            app,
            clock: self.clock.clone(),
            dns: self.dns.clone(),
        }
    }

    /// Another server on the same database with a pool of its own, as another process would
    /// have: no connection and no in-process lock shared with this one.
    pub async fn replica_with_own_pool(&self) -> TestApp {
        let mut replica = self.replica();
        replica.app.db = Db::connect(&self.url, 8).await.expect("connect");
        replica.app.live = oms::outbox::live::LiveHub::new(replica.app.db.clone());
        replica.router = oms::http::router(replica.app.clone(), Path::new("web/node_modules"));
        replica
    }

    pub fn token(&self, role: Role, subject: &str) -> String {
        self.app
            .keys
            .issue(role, subject, Duration::days(1))
            .expect("token")
    }

    pub fn operator(&self) -> String {
        self.token(Role::Operator, "ops")
    }

    /// POSTs a GraphQL request; returns the status and the JSON body.
    pub async fn post(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_body(token, body).await
    }

    /// POSTs any body to `/graphql` as JSON; returns the status and the JSON body.
    pub async fn post_body(&self, token: Option<&str>, body: String) -> (StatusCode, Value) {
        let mut req = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/graphql-response+json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// Sends any request through the router.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    /// A GraphQL request that must not fail at the HTTP or GraphQL-error level; returns `data`.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    pub async fn seller(&self, name: &str, base_fee: i64, free: i64, return_fee: i64) -> i64 {
        repo::catalog::insert_seller(
            self.app.db.conn(),
            seller::ActiveModel {
                name: Set(name.to_owned()),
                base_shipping_fee: Set(base_fee),
                free_shipping_threshold: Set(free),
                return_fee: Set(return_fee),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .expect("seller")
    }

    /// A product with one option; returns the option id.
    pub async fn option(&self, seller: i64, price: i64, stock: i64) -> i64 {
        let db = self.app.db.conn();
        let product = repo::catalog::insert_product(
            db,
            product::ActiveModel {
                seller_id: Set(seller),
                name: Set(format!("상품 {price}")),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .expect("product");
        repo::catalog::insert_option(
            db,
            product_option::ActiveModel {
                product_id: Set(product),
                name: Set("기본".to_owned()),
                price: Set(price),
                stock: Set(stock),
                instant_discount: Set(0),
                ..Default::default()
            },
        )
        .await
        .expect("option")
    }

    /// Another option of the product of `option`, at `price`.
    pub async fn sibling_option(&self, option: i64, price: i64, stock: i64) -> i64 {
        use sea_orm::EntityTrait;
        let product = product_option::Entity::find_by_id(option)
            .one(self.app.db.conn())
            .await
            .expect("query")
            .expect("option")
            .product_id;
        repo::catalog::insert_option(
            self.app.db.conn(),
            product_option::ActiveModel {
                product_id: Set(product),
                name: Set(format!("옵션 {price}")),
                price: Set(price),
                stock: Set(stock),
                instant_discount: Set(0),
                ..Default::default()
            },
        )
        .await
        .expect("option")
    }

    pub async fn customer(&self, points: i64) -> i64 {
        self.customer_named("테스트 고객", "c@example.com", None, points)
            .await
    }

    /// A customer with these contact details, no refund account.
    pub async fn customer_named(
        &self,
        name: &str,
        email: &str,
        phone: Option<&str>,
        points: i64,
    ) -> i64 {
        repo::catalog::insert_customer(
            self.app.db.conn(),
            customer::ActiveModel {
                name: Set(name.to_owned()),
                email: Set(email.to_owned()),
                phone: Set(phone.map(str::to_owned)),
                points_balance: Set(points),
                refund_bank: Set(None),
                refund_account_number: Set(None),
                refund_account_holder: Set(None),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .expect("customer")
    }

    pub async fn stock(&self, option: i64) -> i64 {
        use sea_orm::EntityTrait;
        product_option::Entity::find_by_id(option)
            .one(self.app.db.conn())
            .await
            .expect("query")
            .expect("option")
            .stock
    }

    pub async fn points(&self, customer: i64) -> i64 {
        use sea_orm::EntityTrait;
        customer::Entity::find_by_id(customer)
            .one(self.app.db.conn())
            .await
            .expect("query")
            .expect("customer")
            .points_balance
    }

    pub async fn order_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::order::Entity::find()
            .count(self.app.db.conn())
            .await
            .expect("count")
    }
}

pub fn gid(kind: &str, id: i64) -> String {
    format!("gid://oms/{kind}/{id}")
}

/// A WebSocket to `ws://{addr}/graphql` speaking graphql-transport-ws, not yet initialised.
pub type GraphqlSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a graphql-transport-ws socket to a server on `addr` (no `connection_init` sent).
pub async fn graphql_socket(addr: std::net::SocketAddr) -> GraphqlSocket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("connect")
        .0
}

impl TestApp {
    /// Serves this app's router on a loopback port (for WebSocket clients); its address.
    pub async fn serve_on_loopback(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = self.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr
    }
}

/// The PostgreSQL half of a test without `OMS_TEST_POSTGRES_URL`: skipped on a laptop, a
/// failure where `OMS_REQUIRE_POSTGRES=1` says the run must cover PostgreSQL (CI).
pub fn skip_postgres() {
    if std::env::var("OMS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("OMS_REQUIRE_POSTGRES=1 but OMS_TEST_POSTGRES_URL is not set");
    }
    eprintln!("OMS_TEST_POSTGRES_URL not set: PostgreSQL variant skipped");
}

/// Defines a test that runs on SQLite and (when configured) on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = TestApp::new(Backend::Sqlite).await.expect("sqlite");
                ($body)(t).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = TestApp::new(Backend::Postgres).await else {
                    $crate::harness::skip_postgres();
                    return;
                };
                ($body)(t).await;
            }
        }
    };
}

/// One plugin host for the whole test binary: one engine and epoch thread, and modules
/// compiled once. Its limits are the defaults but for the deadline: on a loaded 2-core machine
/// running an unoptimized build, a thread can be off the CPU for longer than 5 ms, which
/// would fail evaluations at random. The deadline has a test of its own
/// (`plugins::the_deadline_is_a_hard_stop`).
pub fn plugin_host() -> Arc<oms::plugin::PluginHost> {
    static HOST: std::sync::OnceLock<Arc<oms::plugin::PluginHost>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let limits = oms::plugin::PluginLimits {
            deadline: std::time::Duration::from_secs(1),
            ..oms::plugin::PluginLimits::default()
        };
        Arc::new(new_plugin_host(limits))
    })
    .clone()
}

/// A plugin host as the server makes one: compiles tried in a worker of the `oms` binary.
pub fn new_plugin_host(limits: oms::plugin::PluginLimits) -> oms::plugin::PluginHost {
    let worker = oms::plugin::Compiler::Worker(env!("CARGO_BIN_EXE_oms").into());
    oms::plugin::PluginHost::with_compiler(limits, worker).expect("plugin host")
}
