//! Two server processes on one PostgreSQL database: concurrent requests over the same units,
//! sent to both, leave exactly one claim; the rest are clean refusals.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::builders::{OrderBuilder, ShopBuilder};
use crate::harness::{Backend, TestApp};

/// A server process, killed and reaped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start(url: &str) -> (Server, String) {
    start_with(url, &[], &[]).await
}

/// Starts `oms serve` on `url` with extra flags and environment variables.
pub async fn start_with(url: &str, args: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            url,
            "--jwt-secret",
            "test-secret",
            "--job-interval-secs",
            "0",
        ])
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oms");
    // Killed and reaped on drop, whatever happens next.
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = crate::harness::http_client();
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on {base} did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_winner() {
    let Some(t) = TestApp::new(Backend::Postgres).await else {
        crate::harness::skip_postgres();
        return;
    };
    // The servers run on the real clock: deliver on it too, or the return window (7 days from
    // delivery) depends on the day the test runs.
    t.clock.advance(chrono::Utc::now() - t.app.clock.now());
    let shop = ShopBuilder::new().build(&t).await;
    let customer = shop.customer().token.clone();
    let (number, line) = OrderBuilder::new(&shop)
        .quantity(3)
        .delivered(&t)
        .await
        .number_and_line();

    let (_a, base_a) = start(&t.url).await;
    let (_b, base_b) = start(&t.url).await;
    let client = crate::harness::http_client();
    let doc = "mutation($input: RequestReturnInput!) { requestReturn(input: $input) { claim { claimNumber } userErrors { code } } }";
    let body = json!({"query": doc, "variables": {"input": {"orderNumber": number, "items": [{"lineId": line, "quantity": 2}], "reason": "CHANGE_OF_MIND"}}});
    let calls = (0..20).map(|i| {
        let url = format!("{}/graphql", if i % 2 == 0 { &base_a } else { &base_b });
        let req = client.post(url).bearer_auth(&customer).json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    });
    let answers = futures_util::future::join_all(calls).await;
    let mut winners = 0;
    for a in &answers {
        assert!(a.get("errors").is_none(), "no request fails: {a}");
        match a["data"]["requestReturn"]["userErrors"][0]["code"].as_str() {
            None => winners += 1,
            Some(code) => assert!(
                code == "NOT_ENOUGH_UNITS" || code == "CLAIM_CONFLICT",
                "{a}"
            ),
        }
    }
    assert_eq!(winners, 1, "{answers:?}");
    let d = t.gql(&customer, "query($n: String!) { order(orderNumber: $n) { lines { claimedQuantity } claims { status } } }", json!({"n": number})).await;
    assert_eq!(d["order"]["lines"][0]["claimedQuantity"], 2);
    assert_eq!(d["order"]["claims"].as_array().unwrap().len(), 1);
}

/// SYSTEM job leases between two replicas (1-second leases, the test's clock): a job one holds
/// is skipped by the other; a run longer than the lease keeps it, renewed as it goes; a replica
/// that died holding a lease blocks the job only until the lease runs out; and a run whose lease
/// another replica took over is stopped.
async fn job_leases(t: TestApp) {
    use oms::clock::Clock;
    use oms::error::ServiceError;
    use oms::service::jobs::leased;
    use sea_orm::{EntityTrait, QueryFilter};
    const JOB: &str = "TEST_JOB";
    let replica = |t: &TestApp| {
        let mut r = t.replica();
        r.app.jobs.job_lease_secs = 1;
        r
    };
    let (a, b) = (replica(&t), replica(&t));
    // The lease row (owner, until) once a first run has made it.
    let lease_of = || async {
        entity::job_lease::Entity::find_by_id(JOB.to_owned())
            .one(t.app.db.conn())
            .await
            .unwrap()
            .map(|l| (l.owner, l.lease_until))
            .unwrap_or_default()
    };
    let quick = |app: oms::app::App, answer: u64| async move {
        leased(&app, JOB, async { Ok::<_, ServiceError>(answer) })
            .await
            .unwrap()
    };

    // A long run on A: B is refused while A renews, past the lease's length.
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let long = tokio::spawn({
        let app = a.app.clone();
        async move {
            leased(&app, JOB, async {
                let _ = finished.await;
                Ok::<_, ServiceError>(7)
            })
            .await
        }
    });
    while lease_of().await.0 != a.app.instance_id {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        t.clock.advance(chrono::Duration::milliseconds(800));
        // A's heartbeat (every third of a second) renews from the advanced clock.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while lease_of().await.1 <= t.clock.now() + chrono::Duration::milliseconds(500) {
            assert!(std::time::Instant::now() < deadline, "A renews its lease");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(quick(b.app.clone(), 1).await, None, "B skips A's job");
    }
    finish.send(()).unwrap();
    assert_eq!(long.await.unwrap().unwrap(), Some(7));
    assert_eq!(
        quick(b.app.clone(), 2).await,
        Some(2),
        "released: B runs it"
    );

    // A replica that died holding the lease: B waits for it to run out, no longer.
    let now = t.clock.now();
    let txn = t.app.db.write().await.unwrap();
    assert!(oms::repo::jobs::try_lease(
        &*txn,
        JOB,
        "dead",
        now,
        now + chrono::Duration::seconds(1)
    )
    .await
    .unwrap());
    txn.commit().await.unwrap();
    assert_eq!(quick(b.app.clone(), 3).await, None);
    t.clock.advance(chrono::Duration::milliseconds(1001));
    assert_eq!(
        quick(b.app.clone(), 4).await,
        Some(4),
        "the dead lease ran out"
    );

    // A run whose lease is taken over (its replica stalled past the lease) is stopped.
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let stalled = tokio::spawn({
        let app = a.app.clone();
        let guard = Dropped(dropped.clone());
        async move {
            leased(&app, JOB, async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok::<_, ServiceError>(0)
            })
            .await
        }
    });
    while lease_of().await.0 != a.app.instance_id {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let txn = t.app.db.write().await.unwrap();
    entity::job_lease::Entity::update_many()
        .set(entity::job_lease::ActiveModel {
            owner: sea_orm::Set("thief".to_owned()),
            ..Default::default()
        })
        .filter(sea_orm::ColumnTrait::eq(
            &entity::job_lease::Column::Name,
            JOB,
        ))
        .exec(&*txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(20), stalled)
        .await
        .expect("the stalled run stops")
        .unwrap()
        .unwrap();
    assert_eq!(answer, None, "no answer from a run that lost its lease");
    assert!(dropped.load(Ordering::SeqCst), "its work was dropped");
    assert_eq!(
        lease_of().await.0,
        "thief",
        "A left the thief's lease alone"
    );
    assert_eq!(quick(b.app.clone(), 5).await, None);
}
crate::on_both!(job_leases_between_replicas, job_leases);
