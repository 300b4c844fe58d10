//! Secrets and trust (issue 14's findings 3, 4 and 11): the server refuses to face a network
//! with published secrets, `oms secret` makes strong ones, tokens live at most 90 days and not
//! before their `nbf`, the courier's references are not guessable, a database that cannot be
//! reached at start says why, and `/readyz` answers within its bound.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::Utc;
use oms::auth::TokenClaims;
use oms::domain::actor::Role;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::{json, Value};

use crate::builders::{ClaimBuilder, OrderBuilder, ShopBuilder};
use crate::claims::claim_call;
use crate::harness::{Backend, TestApp};
use crate::on_both;

/// Runs `oms` with `args` and no secrets in its environment; its exit status and stderr, or
/// `None` when it was still running after `wait` (then it is killed).
fn run_oms(args: &[&str], wait: Duration) -> Option<(bool, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(args)
        .env_remove("OMS_JWT_SECRET")
        .env_remove("OMS_COURIER_WEBHOOK_SECRET")
        .env_remove("OMS_LISTEN")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start oms");
    let started = Instant::now();
    while started.elapsed() < wait {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read as _;
                let _ = e.read_to_string(&mut err);
            }
            return Some((status.success(), err));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!(
        "oms_secrets_{}_{}.db",
        std::process::id(),
        Utc::now().timestamp_micros()
    ));
    format!("sqlite://{}?mode=rwc", path.display())
}

#[test]
fn published_secrets_are_refused_beyond_loopback() {
    let port = crate::replicas::free_port().to_string();
    let listen = format!("0.0.0.0:{port}");
    let url = sqlite_url();
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--listen", &listen, "--database-url", &url];
        // A real payment gateway: the simulator is refused beyond loopback too.
        args.extend(["--payment-gateway", "toss", "--payment-gateway-secret-key"]);
        args.push("test_sk_secrets_zXLkKEypNArWmo50");
        args.extend_from_slice(extra);
        run_oms(&args, Duration::from_secs(20))
    };
    // Both defaults: refused, naming both.
    let (ok, err) = serve(&[]).expect("it exits");
    assert!(!ok);
    assert!(err.contains("--jwt-secret (OMS_JWT_SECRET)"), "{err}");
    assert!(
        err.contains("--courier-webhook-secret (OMS_COURIER_WEBHOOK_SECRET)"),
        "{err}"
    );
    assert!(err.contains("oms secret"), "{err}");
    // One default left: refused, naming it alone.
    let own = "a-secret-of-our-own-that-is-long-enough";
    let (ok, err) = serve(&["--jwt-secret", own]).expect("it exits");
    assert!(!ok);
    assert!(!err.contains("--jwt-secret"), "{err}");
    assert!(err.contains("--courier-webhook-secret"), "{err}");
    // Empty or short secrets are as weak as published ones: refused, saying why.
    let (ok, err) =
        serve(&["--jwt-secret", "", "--courier-webhook-secret", own]).expect("it exits");
    assert!(!ok);
    assert!(
        err.contains("--jwt-secret (OMS_JWT_SECRET): empty"),
        "{err}"
    );
    let short = "x".repeat(31);
    let (ok, err) =
        serve(&["--jwt-secret", &short, "--courier-webhook-secret", own]).expect("it exits");
    assert!(!ok);
    assert!(err.contains("shorter than 32 characters"), "{err}");
    // Long but made of one character: as guessable as a short one.
    let (ok, err) = serve(&[
        "--jwt-secret",
        &"y".repeat(40),
        "--courier-webhook-secret",
        own,
    ])
    .expect("it exits");
    assert!(!ok);
    assert!(err.contains("fewer than 10 different characters"), "{err}");
    // Both set, 32 characters at the least: it serves (still running when we stop waiting).
    assert_eq!(
        serve(&[
            "--jwt-secret",
            "0123456789abcdefghijklmnopqrstuv",
            "--courier-webhook-secret",
            "another-of-our-own-long-enough-too"
        ]),
        None,
        "with secrets of its own it starts"
    );
    // On loopback the defaults are allowed (a laptop), with a warning; an empty secret is not.
    let loopback = format!("127.0.0.1:{port}");
    assert_eq!(
        run_oms(
            &["serve", "--listen", &loopback, "--database-url", &url],
            Duration::from_secs(5)
        ),
        None
    );
    let (ok, err) = run_oms(
        &[
            "serve",
            "--listen",
            &loopback,
            "--database-url",
            &url,
            "--jwt-secret",
            "",
        ],
        Duration::from_secs(20),
    )
    .expect("it exits");
    assert!(!ok);
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn help_never_shows_secret_values() {
    for args in [["serve", "--help"], ["token", "--help"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_oms"))
            .args(args)
            .env("OMS_JWT_SECRET", "secret-from-the-environment-0123456789")
            .env(
                "OMS_COURIER_WEBHOOK_SECRET",
                "courier-secret-from-the-env-987654321",
            )
            .output()
            .expect("oms --help");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("OMS_JWT_SECRET"), "{help}");
        assert!(!help.contains("secret-from-the-environment"), "{args:?}");
        assert!(!help.contains("courier-secret-from-the-env"), "{args:?}");
    }
}

#[test]
fn oms_secret_prints_strong_secrets() {
    let secret = || {
        let out = Command::new(env!("CARGO_BIN_EXE_oms"))
            .arg("secret")
            .output()
            .expect("oms secret");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (a, b) = (secret(), secret());
    assert_eq!(a.len(), 43, "{a}");
    assert!(a
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_ne!(a, b);
}

#[test]
fn an_unreachable_database_is_explained_at_start() {
    // Nothing listens on port 1: refused at once, with the reason; the password is hidden.
    let started = Instant::now();
    let (ok, err) = run_oms(
        &[
            "migrate",
            "--database-url",
            "postgres://oms:hunter2@127.0.0.1:1/oms",
        ],
        Duration::from_secs(20),
    )
    .expect("it exits");
    assert!(!ok);
    assert!(started.elapsed() < Duration::from_secs(12));
    assert!(err.contains("cannot connect to the database"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // An address that never answers (TEST-NET-1): a bounded wait and what to check.
    let started = Instant::now();
    let (ok, err) = run_oms(
        &[
            "migrate",
            "--database-url",
            "postgres://oms@192.0.2.1:5432/oms",
        ],
        Duration::from_secs(30),
    )
    .expect("it exits within the connect timeout");
    assert!(!ok);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        err.contains("did not answer within 10 s") || err.contains("cannot connect"),
        "{err}"
    );
}

async fn status_of(t: &TestApp, token: &str) -> (StatusCode, Value) {
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(
            json!({"query": "{ viewer { role } }"}).to_string(),
        ))
        .unwrap();
    t.send(req).await
}

/// Tokens: one forged to last forever, one not valid yet, one issued in the future are
/// refused; a normal one works. The simulated courier's pickup numbers say nothing of the
/// claim they belong to.
async fn tokens_and_courier_references(t: TestApp) {
    let now = Utc::now().timestamp();
    let forge = |iat: i64, exp: i64, nbf: Option<i64>| {
        t.app
            .keys
            .sign_claims(&TokenClaims {
                sub: "ops".into(),
                role: Role::Operator,
                iat,
                exp,
                nbf,
            })
            .unwrap()
    };
    let seller_minus_one = t
        .app
        .keys
        .sign_claims(&TokenClaims {
            sub: "-1".into(),
            role: Role::Seller,
            iat: now,
            exp: now + 3_600,
            nbf: None,
        })
        .unwrap();
    // Each refusal says what is wrong with the token.
    for (what, token, says) in [
        (
            "exp = i64::MAX",
            forge(now, i64::MAX, None),
            "more than 90 days",
        ),
        (
            "a year",
            forge(now, now + 365 * 86_400, None),
            "more than 90 days",
        ),
        (
            "nbf in an hour",
            forge(now, now + 86_400, Some(now + 3_600)),
            "not valid yet (nbf)",
        ),
        (
            "issued tomorrow",
            forge(now + 86_400, now + 2 * 86_400, None),
            "issued in the future (iat)",
        ),
        (
            "expired an hour ago",
            forge(now - 7_200, now - 3_600, None),
            "has expired (exp)",
        ),
        (
            "a seller id of -1",
            seller_minus_one,
            "positive numeric subject",
        ),
    ] {
        let (status, body) = status_of(&t, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{what}: {message}");
    }
    let (status, body) = status_of(&t, &forge(now, now + 3_600, Some(now - 10))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["viewer"]["role"], "OPERATOR");

    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let seller = shop.seller.token.clone();
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(2)
        .delivered(&t)
        .await
        .number_and_line();
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let d = ClaimBuilder::return_of(&number, &line)
            .reason("DEFECTIVE")
            .field("collectionMethod", json!("PICKUP"))
            .request(&t, &customer)
            .await;
        let claim = d["claim"]["claimNumber"].as_str().unwrap().to_owned();
        let d = claim_call(&t, &seller, "approveClaim", json!({"claimNumber": claim})).await;
        let tracking = d["claim"]["collection"]["trackingNumber"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            tracking.starts_with("SIM") && tracking.len() == 15,
            "{tracking}"
        );
        assert!(!tracking.contains(&claim), "{tracking} names {claim}");
        numbers.push(tracking);
    }
    assert_ne!(numbers[0], numbers[1]);
}
on_both!(
    tokens_and_courier_references_cannot_be_forged,
    tokens_and_courier_references
);

/// `/readyz` answers within its bound when the database does not: a migration check blocked
/// behind a lock makes it unready in about two seconds, not never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_within_its_bound() {
    let Some(t) = TestApp::new(Backend::Postgres).await else {
        crate::harness::skip_postgres();
        return;
    };
    let get = || async {
        let started = Instant::now();
        let (status, body) = t
            .send(Request::get("/readyz").body(Body::empty()).unwrap())
            .await;
        (status, body, started.elapsed())
    };
    let (status, body, _) = get().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another session holds the migrations table: reading it blocks.
    let other = Database::connect(t.url.as_str()).await.unwrap();
    let txn = other.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE seaql_migrations IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let (status, body, took) = get().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["migrations"], false);
    assert!(took < Duration::from_secs(4), "{took:?}");
    txn.rollback().await.unwrap();
    let (status, _, _) = get().await;
    assert_eq!(status, StatusCode::OK);
}
