//! Running in production, through the real binary: every unsafe setting stops `oms serve`
//! beyond loopback with a message naming it, `--check-config` tells a safe configuration from
//! an unsafe one without connecting to anything, secrets come from `OMS_<NAME>_FILE`, and
//! JSON logs carry each request's id and caller.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{Backend, TestApp};
use crate::replicas::{free_port, Server};

const JWT: &str = "startup-test-jwt-secret-0123456789abcdef";
const COURIER: &str = "startup-test-courier-secret-0123456789";

/// What a finished `oms` said.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `oms` with `args` in a clean environment holding only `envs`; `None` when it was
/// still running after 20 seconds (then it is killed).
fn run(args: &[&str], envs: &[(&str, &str)]) -> Option<Outcome> {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start oms");
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = child.try_wait() {
            let out = child.wait_with_output().expect("its output");
            return Some(Outcome {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                took: started.elapsed(),
            });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A file in a fresh directory of its own, holding `contents`.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "oms_startup_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn sqlite_url() -> String {
    let path = temp_file("oms.db", "");
    let _ = std::fs::remove_file(&path);
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A configuration with nothing unsafe: strong secrets from the environment, SQLite.
fn safe_env(database: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OMS_JWT_SECRET", JWT.to_owned()),
        ("OMS_COURIER_WEBHOOK_SECRET", COURIER.to_owned()),
        ("OMS_DATABASE_URL", database.to_owned()),
        ("OMS_JOB_INTERVAL_SECS", "0".to_owned()),
        ("OMS_PAYMENT_GATEWAY", "toss".to_owned()),
        ("OMS_PAYMENT_GATEWAY_SECRET_KEY", TOSS_KEY.to_owned()),
    ]
}

/// A Toss Payments secret key of the shop's own (test keys look like this).
const TOSS_KEY: &str = "test_sk_startup_zXLkKEypNArWmo50nX3l";

/// One unsafe setting at a time: the flags and variables that make it, the variables taken
/// away, and the name the refusal must give.
struct Case {
    args: &'static [&'static str],
    envs: &'static [(&'static str, &'static str)],
    unset: &'static [&'static str],
    names: &'static str,
    /// Another unsafe setting that comes with this one (the demo runs on the simulator).
    with: Option<&'static str>,
}

/// The simulator, which the demo needs and which is unsafe beyond loopback too.
const SIMULATOR: &str = "--payment-gateway (OMS_PAYMENT_GATEWAY): the built-in simulator";

const CASES: &[Case] = &[
    Case {
        args: &[],
        envs: &[],
        unset: &["OMS_JWT_SECRET"],
        names: "--jwt-secret (OMS_JWT_SECRET): the published development default",
        with: None,
    },
    Case {
        args: &[],
        envs: &[("OMS_COURIER_WEBHOOK_SECRET", "too-short")],
        unset: &[],
        names: "--courier-webhook-secret (OMS_COURIER_WEBHOOK_SECRET): shorter than 32",
        with: None,
    },
    Case {
        args: &["--demo"],
        envs: &[("OMS_PAYMENT_GATEWAY", "simulated")],
        unset: &[],
        names: "--demo (OMS_DEMO)",
        with: Some(SIMULATOR),
    },
    Case {
        args: &[],
        envs: &[("OMS_PAYMENT_GATEWAY", "simulated")],
        unset: &[],
        names: "--payment-gateway (OMS_PAYMENT_GATEWAY): the built-in simulator confirms any payment key",
        with: None,
    },
    Case {
        args: &[],
        envs: &[("OMS_DEMO", "true"), ("OMS_PAYMENT_GATEWAY", "simulated")],
        unset: &[],
        names: "--demo (OMS_DEMO)",
        with: Some(SIMULATOR),
    },
    Case {
        // TEST-NET-1: nothing answers there, so a connection attempt would take 10 s.
        args: &[
            "--database-url",
            "postgres://oms:hunter2@192.0.2.1:5432/oms?sslmode=prefer",
        ],
        envs: &[],
        unset: &[],
        names: "--database-url (OMS_DATABASE_URL): a plain-text connection to 192.0.2.1",
        with: None,
    },
    Case {
        args: &[
            "--read-database-url",
            "postgres://oms:hunter2@192.0.2.1:5432/oms",
        ],
        envs: &[],
        unset: &[],
        names: "--read-database-url (OMS_READ_DATABASE_URL): a plain-text connection",
        with: None,
    },
    Case {
        args: &["--payment-gateway-url", "http://192.0.2.1:9000"],
        envs: &[],
        unset: &[],
        names: "--payment-gateway-url (OMS_PAYMENT_GATEWAY_URL): plain HTTP to 192.0.2.1",
        with: None,
    },
    Case {
        args: &["--courier-url", "http://courier.example.com"],
        envs: &[],
        unset: &[],
        names: "--courier-url (OMS_COURIER_URL): plain HTTP to courier.example.com",
        with: None,
    },
    Case {
        args: &["--alimtalk-url", "http://192.0.2.1/send"],
        envs: &[],
        unset: &[],
        names: "--alimtalk-url (OMS_ALIMTALK_URL): plain HTTP",
        with: None,
    },
    Case {
        args: &["--smtp-url", "smtp://192.0.2.1:25"],
        envs: &[],
        unset: &[],
        names: "--smtp-url (OMS_SMTP_URL): plain SMTP to 192.0.2.1",
        with: None,
    },
    Case {
        args: &["--nats-url", "nats://192.0.2.1:4222"],
        envs: &[],
        unset: &[],
        names: "--nats-url (OMS_NATS_URL): plain-text NATS to 192.0.2.1",
        with: None,
    },
    Case {
        args: &["--webhook-allow-networks", "10.0.0.0/8"],
        envs: &[],
        unset: &[],
        names: "--webhook-allow-networks (OMS_WEBHOOK_ALLOW_NETWORKS)",
        with: None,
    },
];

/// Runs `oms serve` (with `extra` flags first) for `case` on a safe base.
fn serve_case(case: &Case, database: &str, extra: &[&str]) -> Outcome {
    let mut envs: Vec<(&str, String)> = safe_env(database)
        .into_iter()
        .filter(|(k, _)| !case.unset.contains(k) && !case.envs.iter().any(|(e, _)| e == k))
        .collect();
    envs.extend(case.envs.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut args = vec!["serve"];
    args.extend_from_slice(extra);
    args.extend_from_slice(case.args);
    run(&args, &envs).unwrap_or_else(|| panic!("{}: still running", case.names))
}

#[test]
fn each_unsafe_setting_stops_the_server_beyond_loopback() {
    let database = sqlite_url();
    for case in CASES {
        let out = serve_case(case, &database, &["--listen", "0.0.0.0:0"]);
        assert_ne!(out.code, Some(0), "{}: {}", case.names, out.stderr);
        let header = match case.with {
            None => "refusing to listen on 0.0.0.0:0 with 1 unsafe setting:",
            Some(_) => "refusing to listen on 0.0.0.0:0 with 2 unsafe settings:",
        };
        assert!(
            out.stderr.contains(header),
            "{}: {}",
            case.names,
            out.stderr
        );
        assert!(out.stderr.contains(case.with.unwrap_or(case.names)));
        assert!(
            out.stderr.contains(case.names),
            "{}: {}",
            case.names,
            out.stderr
        );
        // Exactly the one setting (and what comes with it), with what to do and the way out.
        let count = 1 + usize::from(case.with.is_some());
        assert_eq!(
            out.stderr.matches("\n  - ").count(),
            count,
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("listen on 127.0.0.1"), "{}", out.stderr);
        // Refused before connecting to anything, and no password in the message.
        assert!(
            out.took < Duration::from_secs(8),
            "{}: {:?}",
            case.names,
            out.took
        );
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    }
}

#[test]
fn check_config_tells_safe_from_unsafe_without_connecting() {
    let database = "postgres://oms:hunter2@192.0.2.1:5432/oms?sslmode=verify-full";
    let safe = Case {
        args: &[
            "--payment-gateway-url",
            "https://gateway.example.com",
            "--smtp-url",
            "smtp://mailer:mailpw@192.0.2.1:587?tls=required",
            "--nats-url",
            "tls://192.0.2.1:4222",
        ],
        envs: &[],
        unset: &[],
        names: "safe",
        with: None,
    };
    let out = serve_case(
        &safe,
        database,
        &["--check-config", "--listen", "0.0.0.0:0"],
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Nothing is unsafe for production."),
        "{}",
        out.stdout
    );
    assert!(out.took < Duration::from_secs(8), "{:?}", out.took);
    for shown in [
        "--listen (OMS_LISTEN) = 0.0.0.0:0  [flag]",
        "--database-url (OMS_DATABASE_URL) = postgres://oms:***@192.0.2.1:5432/oms?sslmode=verify-full  [OMS_DATABASE_URL]",
        "--smtp-url (OMS_SMTP_URL) = smtp://mailer:***@192.0.2.1:587?tls=required  [flag]",
        "--max-depth (OMS_MAX_DEPTH) = 12  [default]",
    ] {
        assert!(out.stdout.contains(shown), "{shown}: {}", out.stdout);
    }
    assert!(
        out.stdout.contains(&format!(
            "--jwt-secret (OMS_JWT_SECRET) = *** ({} characters)  [OMS_JWT_SECRET]",
            JWT.len()
        )),
        "{}",
        out.stdout
    );
    for secret in [JWT, COURIER, "hunter2", "mailpw"] {
        assert!(!out.stdout.contains(secret), "{secret}: {}", out.stdout);
    }

    // Each unsafe setting: exit status 2, the setting named under "Unsafe for production".
    for case in CASES {
        let out = serve_case(case, database, &["--check-config", "--listen", "0.0.0.0:0"]);
        assert_eq!(
            out.code,
            Some(2),
            "{}: {}{}",
            case.names,
            out.stdout,
            out.stderr
        );
        let heading = format!(
            "Unsafe for production ({}):",
            1 + usize::from(case.with.is_some())
        );
        let (_, unsafe_part) = out
            .stdout
            .split_once(&heading)
            .unwrap_or_else(|| panic!("{}: {}", case.names, out.stdout));
        assert!(unsafe_part.contains(case.names), "{}", out.stdout);
        assert!(unsafe_part.contains("refuses to start on 0.0.0.0:0"));
    }
    // On loopback the same settings start with a warning, and check-config says so.
    let out = serve_case(
        &CASES[2],
        database,
        &["--check-config", "--listen", "127.0.0.1:0"],
    );
    assert_eq!(out.code, Some(2));
    assert!(
        out.stdout
            .contains("starts on 127.0.0.1:0 (loopback) with a warning"),
        "{}",
        out.stdout
    );
}

/// `oms token` for `role` and `subject` with `envs`; the token.
fn token(role: &str, subject: &str, envs: &[(&str, &str)]) -> String {
    let out = run(&["token", "--role", role, "--subject", subject], envs).expect("oms token exits");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stdout.trim().to_owned()
}

#[test]
fn file_variables_are_refused_when_ambiguous_or_unreadable() {
    let secret = temp_file("jwt", &format!("{JWT}\n"));
    let file = secret.display().to_string();
    let both = run(
        &["token", "--role", "operator", "--subject", "ops"],
        &[("OMS_JWT_SECRET", JWT), ("OMS_JWT_SECRET_FILE", &file)],
    )
    .expect("it exits");
    assert_ne!(both.code, Some(0));
    assert!(
        both.stderr
            .contains("both OMS_JWT_SECRET and OMS_JWT_SECRET_FILE are set"),
        "{}",
        both.stderr
    );
    let missing = format!("{file}.missing");
    let unreadable = run(
        &["serve", "--check-config"],
        &[("OMS_JWT_SECRET_FILE", &missing)],
    )
    .expect("it exits");
    assert_ne!(unreadable.code, Some(0));
    assert!(
        unreadable.stderr.contains(&missing),
        "{}",
        unreadable.stderr
    );
    let typo = run(
        &["serve", "--check-config"],
        &[("OMS_JWT_SECRT_FILE", &file)],
    )
    .expect("it exits");
    assert_ne!(typo.code, Some(0));
    assert!(
        typo.stderr.contains("OMS_JWT_SECRT is not a setting"),
        "{}",
        typo.stderr
    );
    // A `_FILE` pointing at the wrong file: the refusal does not print that file.
    let wrong = run(&["serve", "--check-config"], &[("OMS_LISTEN_FILE", &file)]).expect("it exits");
    assert_ne!(wrong.code, Some(0));
    assert!(!wrong.stderr.contains(JWT), "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("<contents of OMS_LISTEN_FILE>"),
        "{}",
        wrong.stderr
    );
    // check-config says where the secret came from, and not what it is.
    let mut envs = vec![("OMS_JWT_SECRET_FILE", file.as_str())];
    envs.push(("OMS_COURIER_WEBHOOK_SECRET", COURIER));
    envs.push(("OMS_PAYMENT_GATEWAY", "toss"));
    envs.push(("OMS_PAYMENT_GATEWAY_SECRET_KEY", TOSS_KEY));
    let shown = run(&["serve", "--check-config"], &envs).expect("it exits");
    assert_eq!(shown.code, Some(0), "{}", shown.stdout);
    assert!(
        shown.stdout.contains(&format!(
            "--jwt-secret (OMS_JWT_SECRET) = *** ({} characters)  [OMS_JWT_SECRET_FILE={file}]",
            JWT.len()
        )),
        "{}",
        shown.stdout
    );
}

/// An HTTP client (with the server's TLS setup, so that it needs no process-wide provider).
fn http() -> reqwest::Client {
    oms::tls::Tls::default()
        .http_client(None)
        .unwrap()
        .build()
        .unwrap()
}

/// A server started with `--log-json`, its standard output collected line by line.
struct LoggingServer {
    _server: Server,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

async fn start_logging(database: &str, secret_file: &Path) -> LoggingServer {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args([
            "serve",
            "--log-json",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env_clear()
        // tower-http's line for each finished request is DEBUG.
        .env("RUST_LOG", "info,tower_http=debug")
        .env("OMS_JWT_SECRET_FILE", secret_file)
        .env("OMS_COURIER_WEBHOOK_SECRET", COURIER)
        .env("OMS_DATABASE_URL", database)
        .env("OMS_JOB_INTERVAL_SECS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oms");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let client = http();
    for _ in 0..200 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return LoggingServer {
                _server: server,
                base,
                lines,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on {base} did not become ready");
}

impl LoggingServer {
    /// The span fields of the first JSON line logged in the request `request_id` whose
    /// caller is known, waiting up to 10 s for it.
    async fn request_span(&self, request_id: &str) -> Value {
        for _ in 0..100 {
            let found = self.lines.lock().unwrap().iter().find_map(|line| {
                let v: Value = serde_json::from_str(line).ok()?;
                let span = v.get("span")?;
                (span["request_id"] == request_id && span.get("caller").is_some())
                    .then(|| span.clone())
            });
            if let Some(span) = found {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no log line of request {request_id} with its caller:\n{}",
            self.lines.lock().unwrap().join("\n")
        );
    }
}

/// POSTs `{ __typename }` with `token` and `request_id`; the status and the response's id.
async fn call(base: &str, token: Option<&str>, request_id: Option<&str>) -> (u16, Option<String>) {
    let mut req = http()
        .post(format!("{base}/graphql"))
        .json(&json!({"query": "{ __typename }"}));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let resp = req.send().await.expect("answered");
    let id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (resp.status().as_u16(), id)
}

async fn secrets_and_request_ids(backend: Backend) {
    let Some(t) = TestApp::new(backend).await else {
        crate::harness::skip_postgres();
        return;
    };
    let secret = temp_file("jwt", &format!("{JWT}\n"));
    let file = secret.display().to_string();
    // `oms token` reads the secret from the file, as the server does.
    let seller = token("seller", "7", &[("OMS_JWT_SECRET_FILE", &file)]);
    let foreign = token("seller", "7", &[]);
    let server = start_logging(&t.url, &secret).await;

    // The file's secret, its newline trimmed, is the one the server verifies with.
    let (status, _) = call(&server.base, Some(&seller), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&server.base, Some(&foreign), None).await;
    assert_eq!(status, 401, "a token of the default secret");

    // A client's safe id comes back and is in the logs, with the caller.
    let (status, id) = call(&server.base, Some(&seller), Some("order-desk.2026_12-08")).await;
    assert_eq!(status, 200);
    assert_eq!(id.as_deref(), Some("order-desk.2026_12-08"));
    let span = server.request_span("order-desk.2026_12-08").await;
    assert_eq!(span["caller"], "SELLER:7", "{span}");
    assert_eq!(span["path"], "/graphql", "{span}");
    let at_limit = "i".repeat(64);
    let (_, id) = call(&server.base, None, Some(&at_limit)).await;
    assert_eq!(id.as_deref(), Some(at_limit.as_str()));
    let span = server.request_span(&at_limit).await;
    assert_eq!(span["caller"], "anonymous", "{span}");

    // Past the limit, or with a character outside [A-Za-z0-9._-]: a fresh id instead.
    for unsafe_id in ["i".repeat(65), "two words".to_owned(), "a/b".to_owned()] {
        let (_, id) = call(&server.base, None, Some(&unsafe_id)).await;
        let id = id.expect("an id");
        assert_ne!(id, unsafe_id);
        assert_eq!(id.len(), 36, "a UUID: {id}");
        server.request_span(&id).await;
    }
    // Without one: a fresh id as well.
    let (_, id) = call(&server.base, None, None).await;
    assert_eq!(id.map(|i| i.len()), Some(36));

    // No token and no secret in any line.
    let lines = server.lines.lock().unwrap().join("\n");
    for leak in [seller.as_str(), foreign.as_str(), JWT] {
        assert!(!lines.contains(leak), "logged: {leak}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_from_files_and_request_ids_in_json_logs_sqlite() {
    secrets_and_request_ids(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_from_files_and_request_ids_in_json_logs_postgres() {
    secrets_and_request_ids(Backend::Postgres).await;
}
