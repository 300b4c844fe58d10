//! TLS to every partner and database, against loopback servers whose certificates a
//! certificate authority made in the test signed: an https payment gateway (with mutual TLS)
//! refunding through the API, https webhook receivers, a mail relay with STARTTLS and one with
//! implicit TLS (both with credentials), NATS over `tls://`, and PostgreSQL with `ssl = on`
//! (the second cluster `.ci/pg-tls.sh` starts). Certificates the server must not trust —
//! another authority's, one issued for another name, an expired one — are refused with a
//! message that says what is wrong.

use std::sync::Arc;
use std::time::Duration;

use oms::domain::money::Won;
use oms::gateway::{CancelCall, ConfirmCall, GatewayError, Outcome, PaymentGateway, TossGateway};
use oms::notify::channels::Mailer;
use oms::notify::templates::Rendered;
use oms::outbox::dispatch::Channels;
use oms::tls::{ClientIdentity, Tls};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use tokio_rustls::TlsAcceptor;

use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::claims::run_refund_job;
use crate::events::drain;
use crate::harness::{webhook_client_trusting, Backend, TestApp, LOOPBACK_SINKS};
use crate::sinks::{HttpSink, SmtpSink, SmtpTls};
use crate::toss::{TossServer, CLIENT_TIMEOUT, SECRET_KEY};

/// A certificate authority for one test.
pub struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (host names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Leaf {
        self.leaf(names, ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    /// A server certificate for 127.0.0.1 and localhost that expired in 2020.
    pub fn expired_server(&self) -> Leaf {
        self.leaf(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            true,
        )
    }

    /// A client certificate (mutual TLS).
    pub fn client(&self, name: &str) -> Leaf {
        self.leaf(&[name], ExtendedKeyUsagePurpose::ClientAuth, false)
    }

    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose, expired: bool) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![usage];
        if expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// The server's trust: the system's roots and this authority.
    pub fn trust(&self) -> Tls {
        Tls::default().trusting(self.pem.as_bytes()).unwrap()
    }

    /// A TLS acceptor presenting `leaf`; when `clients` is given, it requires a client
    /// certificate signed by that authority.
    pub fn acceptor(leaf: &Leaf, clients: Option<&TestCa>) -> TlsAcceptor {
        Self::acceptor_of_versions(leaf, clients, rustls::DEFAULT_VERSIONS)
    }

    /// [`TestCa::acceptor`] speaking only TLS 1.2: a server that refuses a missing client
    /// certificate does so inside the handshake, so the client always reads why (under TLS 1.3
    /// the client's handshake is over before the server checks, and the refusal can race the
    /// first request).
    pub fn acceptor_tls12(leaf: &Leaf, clients: Option<&TestCa>) -> TlsAcceptor {
        Self::acceptor_of_versions(leaf, clients, &[&rustls::version::TLS12])
    }

    fn acceptor_of_versions(
        leaf: &Leaf,
        clients: Option<&TestCa>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> TlsAcceptor {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(oms::tls::provider())
            .with_protocol_versions(versions)
            .unwrap();
        let builder = match clients {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca.pem.as_bytes()) {
                    roots.add(cert.unwrap()).unwrap();
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    oms::tls::provider(),
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        TlsAcceptor::from(Arc::new(builder.with_single_cert(certs, key).unwrap()))
    }
}

const LOCAL: &[&str] = &["127.0.0.1", "localhost"];

/// The loopback Toss server over HTTPS with `leaf`, requiring a client certificate from
/// `clients` when given.
async fn https_toss(leaf: &Leaf, clients: Option<&TestCa>) -> TossServer {
    TossServer::start_tls(TestCa::acceptor(leaf, clients)).await
}

/// An order placed and cancelled by its customer, the refund job run: the claim as the
/// customer reads it (`status`, `refund.parts`).
async fn cancel_and_refund(t: &TestApp) -> serde_json::Value {
    let shop = ShopBuilder::new().build(t).await;
    let customer = shop.customer().token.clone();
    let o = OrderBuilder::new(&shop).place(t).await;
    let d = ClaimBuilder::cancel(&o.number, o.line())
        .request(t, &customer)
        .await;
    assert_eq!(d["userErrors"], json!([]), "{d}");
    run_refund_job(t).await;
    let q = "query($n: String!) { claim(claimNumber: $n) { status refund { parts { status attempts } } } }";
    t.gql(&customer, q, json!({"n": d["claim"]["claimNumber"]}))
        .await
}

/// A cancel of `payment_key` that must be refused before it reaches the server.
async fn refused(gateway: &TossGateway, payment_key: &str) -> GatewayError {
    let call = CancelCall {
        idempotency_key: "k-refused".into(),
        payment_key: Some(payment_key.into()),
        amount: Won::new(1000),
        reason: "TLS test".into(),
        refund_account: None,
    };
    match gateway.cancel(call).await {
        Err(e) => e,
        Ok(c) => panic!("expected a refusal, got {c:?}"),
    }
}

/// A card order paid and refunded through the API with Toss over HTTPS demanding the
/// marketplace's client certificate: charged once, refunded once; the same server refuses a
/// client without the certificate, saying which flag presents one.
async fn refunds_over_mutual_tls(backend: Backend) {
    let ca = TestCa::new("OMS test CA");
    let toss = https_toss(&ca.server(LOCAL), Some(&ca)).await;
    assert!(toss.url().starts_with("https://127.0.0.1:"));
    let client = ca.client("oms-marketplace");
    let identity = ClientIdentity::from_pem(client.cert.as_bytes(), client.key.as_bytes()).unwrap();
    let gateway = Arc::new(toss.gateway_trusting(&ca.trust(), Some(&identity)));
    let Some(t) = TestApp::with_gateway(backend, gateway).await else {
        crate::harness::skip_postgres();
        return;
    };
    let d = cancel_and_refund(&t).await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");
    assert_eq!(d["claim"]["refund"]["parts"][0]["attempts"], 1, "{d}");
    assert_eq!(toss.all_charges().len(), 1);
    assert_eq!(toss.all_refunds().len(), 1);

    // Without the client certificate the server ends the handshake: nothing reaches it.
    let (paid, _) = toss.all_charges().remove(0);
    let requests = toss.requests().len();
    let anonymous = toss.gateway_trusting(&ca.trust(), None);
    let e = refused(&anonymous, &paid).await;
    assert_eq!(
        (e.code.as_str(), e.outcome),
        ("NETWORK", Outcome::Retry),
        "{e}"
    );
    assert_eq!(toss.requests().len(), requests);
    assert_eq!(toss.all_refunds().len(), 1, "nothing moved");
    // Refused inside the handshake (TLS 1.2, see `TestCa::acceptor_tls12`), the message says
    // which flag presents a certificate.
    let strict = TossServer::start_tls(TestCa::acceptor_tls12(&ca.server(LOCAL), Some(&ca))).await;
    let e = refused(&strict.gateway_trusting(&ca.trust(), None), "any").await;
    assert_eq!(e.code, "NETWORK", "{e}");
    assert!(e.message.contains("--payment-gateway-client-cert"), "{e}");
    assert!(strict.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_over_mutual_tls_sqlite() {
    refunds_over_mutual_tls(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_over_mutual_tls_postgres() {
    refunds_over_mutual_tls(Backend::Postgres).await;
}

/// Certificates the server must not trust, each refused with what is wrong and what to do;
/// nothing reaches the server over a refused handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificates_are_refused_with_the_reason() {
    let ca = TestCa::new("OMS test CA");
    let gateway = |toss: &TossServer, tls: &Tls| {
        TossGateway::new(toss.url(), SECRET_KEY, CLIENT_TIMEOUT, tls, None).unwrap()
    };

    // Signed by an authority the server does not know (the system's roots only).
    let toss = https_toss(&ca.server(LOCAL), None).await;
    let unknown = gateway(&toss, &Tls::default());
    let e = refused(&unknown, "any").await;
    assert_eq!(e.outcome, Outcome::Retry);
    assert!(e.message.contains("UnknownIssuer"), "{e}");
    assert!(e.message.contains("--tls-ca-file"), "{e}");
    assert!(toss.requests().is_empty());
    // The same server, its CA given: a payment is confirmed and refunded.
    let trusting = gateway(&toss, &ca.trust());
    let call = ConfirmCall {
        payment_key: "test-pk-tls".into(),
        order_id: "20261124-000001".into(),
        amount: Won::new(5000),
    };
    trusting.confirm(call).await.unwrap();
    let mut cancel = CancelCall {
        idempotency_key: "k-ok".into(),
        payment_key: Some("test-pk-tls".into()),
        amount: Won::new(5000),
        reason: "TLS test".into(),
        refund_account: None,
    };
    trusting.cancel(cancel.clone()).await.unwrap();
    assert_eq!(toss.all_refunds().len(), 1);

    // Issued for another name.
    let toss = https_toss(&ca.server(&["pg.partner.example"]), None).await;
    let e = refused(&gateway(&toss, &ca.trust()), "any").await;
    assert!(e.message.contains("not issued for the host name"), "{e}");

    // Expired.
    let toss = https_toss(&ca.expired_server(), None).await;
    cancel.idempotency_key = "k-expired".into();
    let e = gateway(&toss, &ca.trust())
        .cancel(cancel)
        .await
        .unwrap_err();
    assert!(e.message.contains("has expired"), "{e}");
    assert!(toss.requests().is_empty());

    // A client certificate file that holds no certificate, and a CA file that holds none.
    assert!(ClientIdentity::from_pem(b"garbage", ca.client("x").key.as_bytes()).is_err());
    assert!(Tls::default().trusting(b"-----BEGIN NOTHING-----").is_err());
}

/// Webhooks to an https receiver are delivered and signed; a receiver whose certificate the
/// server does not trust gets nothing, and its seller reads why in the delivery log; plain
/// `http://` to a public address is refused at registration.
async fn webhooks_over_https(t: TestApp) {
    let ca = TestCa::new("OMS test CA");
    let t = t.with_webhook_client(webhook_client_trusting(
        LOOPBACK_SINKS,
        t.dns.clone(),
        &ca.trust(),
    ));
    let good = HttpSink::start_tls(TestCa::acceptor(&ca.server(LOCAL), None)).await;
    let stranger = TestCa::new("Someone else's CA");
    let bad = HttpSink::start_tls(TestCa::acceptor(&stranger.server(LOCAL), None)).await;
    assert!(good.url("/hook").starts_with("https://127.0.0.1:"));

    let s = ShopBuilder::new().stock(50).build(&t).await;
    let register = "mutation($url: String!) { registerWebhook(input: {url: $url, eventTypes: [\"order.*\"]}) { webhook { id } userErrors { code message } } }";
    let mut hooks = Vec::new();
    for sink in [&good, &bad] {
        let d = t
            .gql(&s.seller.token, register, json!({"url": sink.url("/hook")}))
            .await["registerWebhook"]
            .clone();
        assert_eq!(d["userErrors"], json!([]), "{d}");
        hooks.push(d["webhook"]["id"].clone());
    }
    t.dns.set("hooks.partner.example", &["93.184.216.34"]);
    let plain = t
        .gql(
            &s.seller.token,
            register,
            json!({"url": "http://hooks.partner.example/oms"}),
        )
        .await["registerWebhook"]
        .clone();
    assert_eq!(plain["userErrors"][0]["code"], "INVALID_WEBHOOK", "{plain}");
    assert!(
        plain["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("https://"),
        "{plain}"
    );

    OrderBuilder::new(&s).place(&t).await;
    drain(&t.app).await;
    let delivered = good.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(delivered.len(), 1);
    assert!(delivered[0].header("webhook-signature").is_some());
    assert_eq!(
        bad.requests().len(),
        0,
        "no request over a refused handshake"
    );

    let log = "query($id: ID!) { webhookDeliveries(webhookId: $id) { status lastError } }";
    let d = t.gql(&s.seller.token, log, json!({"id": hooks[0]})).await;
    assert_eq!(d["webhookDeliveries"][0]["status"], "DELIVERED", "{d}");
    let d = t.gql(&s.seller.token, log, json!({"id": hooks[1]})).await;
    let why = d["webhookDeliveries"][0]["lastError"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("TLS certificate was refused"), "{d}");
}

crate::on_both!(webhooks_over_https_on_both, webhooks_over_https);

fn mail() -> Rendered {
    Rendered {
        subject: "[OMS] 반품 접수".into(),
        body: "반품이 접수되었습니다.".into(),
    }
}

/// Mail through a relay with STARTTLS (587) and one with implicit TLS (465), each with a user
/// name and password; a relay that offers no STARTTLS is not sent mail in plain text; a relay
/// whose certificate is not trusted is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_over_starttls_and_implicit_tls() {
    let ca = TestCa::new("OMS test CA");
    let tls = ca.trust();
    let acceptor = TestCa::acceptor(&ca.server(LOCAL), None);

    let submission = SmtpSink::start_with(SmtpTls::StartTls(acceptor.clone())).await;
    let url = format!(
        "smtp://oms%40shop.kr:s3cret%2Bpw@{}?tls=required",
        submission.addr()
    );
    let mailer = Mailer::from_url(Some(&url), "OMS 알림 <noreply@oms.test>", &tls).unwrap();
    mailer.send("buyer@example.com", &mail()).await.unwrap();
    let mails = submission.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject(), "[OMS] 반품 접수");
    assert_eq!(
        submission.logins(),
        [("oms@shop.kr".to_owned(), "s3cret+pw".to_owned())]
    );

    let implicit = SmtpSink::start_with(SmtpTls::Implicit(acceptor)).await;
    let url = format!("smtps://oms:pw@{}", implicit.addr());
    let mailer = Mailer::from_url(Some(&url), "noreply@oms.test", &tls).unwrap();
    mailer.send("buyer@example.com", &mail()).await.unwrap();
    assert_eq!(implicit.wait_for(1, Duration::from_secs(5)).await.len(), 1);
    assert_eq!(implicit.logins(), [("oms".to_owned(), "pw".to_owned())]);

    // A relay without STARTTLS: `tls=required` sends nothing.
    let plain = SmtpSink::start().await;
    let url = format!("smtp://{}?tls=required", plain.addr());
    let mailer = Mailer::from_url(Some(&url), "noreply@oms.test", &tls).unwrap();
    assert!(mailer.send("buyer@example.com", &mail()).await.is_err());
    assert_eq!(plain.mails().len(), 0);

    // A relay whose certificate another authority signed.
    let stranger = TestCa::new("Someone else's CA");
    let untrusted = SmtpSink::start_with(SmtpTls::Implicit(TestCa::acceptor(
        &stranger.server(LOCAL),
        None,
    )))
    .await;
    let url = format!("smtps://oms:pw@{}", untrusted.addr());
    let mailer = Mailer::from_url(Some(&url), "noreply@oms.test", &tls).unwrap();
    let why = mailer.send("buyer@example.com", &mail()).await.unwrap_err();
    assert!(why.contains("--tls-ca-file"), "{why}");
    assert!(untrusted.logins().is_empty(), "no password to a stranger");
}

/// A NATS server with TLS on a free port, its certificate signed by a test CA; stopped and
/// its files removed when dropped.
struct NatsTls {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for NatsTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn nats_with_tls(ca: &TestCa) -> Option<NatsTls> {
    let binary = [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())?;
    let dir = std::env::temp_dir().join(format!(
        "oms-nats-tls-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let leaf = ca.server(LOCAL);
    std::fs::write(dir.join("cert.pem"), &leaf.cert).unwrap();
    std::fs::write(dir.join("key.pem"), &leaf.key).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = std::process::Command::new(binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.join("js"))
        .arg("--tls")
        .arg("--tlscert")
        .arg(dir.join("cert.pem"))
        .arg("--tlskey")
        .arg(dir.join("key.pem"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(NatsTls { child, port, dir })
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Events reach JetStream over `tls://`; a server whose certificate is not trusted is refused
/// at start with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_nats_over_tls() {
    use futures_util::StreamExt as _;
    let ca = TestCa::new("OMS test CA");
    let Some(nats) = nats_with_tls(&ca).await else {
        assert!(
            std::env::var("OMS_TEST_NATS_URL").is_err(),
            "nats-server is needed for the NATS TLS test"
        );
        eprintln!("nats-server not installed: NATS TLS test skipped");
        return;
    };
    // `tls://` to a server that speaks plain text on its port.
    if let Ok(plain) = std::env::var("OMS_TEST_NATS_URL") {
        let plain = plain.replacen("nats://", "tls://", 1);
        let refused = oms::outbox::stream::NatsStream::connect(&plain, &ca.trust(), None)
            .await
            .err()
            .unwrap();
        assert!(
            refused.contains("does not speak TLS on this port"),
            "{refused}"
        );
    }
    let url = format!("tls://127.0.0.1:{}", nats.port);
    let refused = oms::outbox::stream::NatsStream::connect(&url, &Tls::default(), None)
        .await
        .err()
        .unwrap();
    assert!(refused.contains("--tls-ca-file"), "{refused}");

    let stream = oms::outbox::stream::NatsStream::connect(&url, &ca.trust(), None)
        .await
        .unwrap();
    let t = TestApp::new(Backend::Sqlite).await.unwrap();
    let app = oms::app::App {
        plugin_quota: Default::default(),
        outbox: Arc::new(Channels {
            nats: Some(stream),
            ..Channels::log_only(crate::harness::webhook_client(
                LOOPBACK_SINKS,
                t.dns.clone(),
            ))
        }),
        ..t.app.clone()
    };
    let s = ShopBuilder::new().stock(5).build(&t).await;
    let client = async_nats::ConnectOptions::new()
        .tls_client_config(ca.trust().client_config(None).unwrap())
        .require_tls(true)
        .connect(&url)
        .await
        .unwrap();
    let mut sub = client
        .subscribe(format!("oms.seller.{}.>", s.seller.id))
        .await
        .unwrap();
    let number = OrderBuilder::new(&s).place(&t).await.number;
    let report = drain(&app).await;
    assert_eq!(report.retried, 0, "{report:?}");
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(body["orderNumber"], number);
}

/// PostgreSQL that accepts only TLS (`OMS_TEST_POSTGRES_TLS_URL`, a `verify-full` URL with
/// its `sslrootcert`): the API works on it; the same server without its CA, or without TLS,
/// is refused at start with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls() {
    let Ok(admin) = std::env::var("OMS_TEST_POSTGRES_TLS_URL") else {
        assert!(
            std::env::var("OMS_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
            "OMS_REQUIRE_POSTGRES=1 but OMS_TEST_POSTGRES_TLS_URL is not set (.ci/pg-tls.sh)"
        );
        eprintln!("OMS_TEST_POSTGRES_TLS_URL not set: PostgreSQL TLS test skipped");
        return;
    };
    let t = TestApp::on_postgres(&admin).await;
    let d = cancel_and_refund(&t).await;
    assert_eq!(d["claim"]["status"], "CANCEL_COMPLETED", "{d}");

    let mut without_ca = url::Url::parse(&admin).unwrap();
    let kept: Vec<(String, String)> = without_ca
        .query_pairs()
        .filter(|(k, _)| k != "sslrootcert")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    without_ca.query_pairs_mut().clear().extend_pairs(kept);
    let why = oms::db::Db::open(without_ca.as_str(), 1).await.unwrap_err();
    assert!(why.contains("UnknownIssuer"), "{why}");

    // The server's certificate names 127.0.0.1 and localhost; another name for it is refused.
    let mut other_name = url::Url::parse(&admin).unwrap();
    other_name.set_host(Some("127.0.0.2")).unwrap();
    let why = oms::db::Db::open(other_name.as_str(), 1).await.unwrap_err();
    assert!(why.contains("not issued for the host name"), "{why}");

    let mut plain = url::Url::parse(&admin).unwrap();
    plain.set_query(Some("sslmode=disable"));
    let why = oms::db::Db::open(plain.as_str(), 1).await.unwrap_err();
    assert!(why.contains("no encryption"), "{why}");

    // `--tls-ca-file` stands in for a missing `sslrootcert`.
    let ca_file = url::Url::parse(&admin)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "sslrootcert")
        .map(|(_, v)| std::path::PathBuf::from(v.into_owned()))
        .unwrap();
    let completed = oms::tls::postgres_url(without_ca.as_str(), Some(&ca_file));
    assert!(oms::db::Db::open(&completed, 1).await.is_ok());
}
