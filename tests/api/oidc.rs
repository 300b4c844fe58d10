//! Signing in with the marketplace's identity provider (`--oidc-issuer`): a real provider on
//! loopback (discovery and JWKS, counting its hits, its key set changeable by the test) and
//! tokens signed with RS256, ES256 and EdDSA keys, through the real router.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use chrono::Utc;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use oms::auth::oidc::{OidcArgs, OidcVerifier};
use oms::auth::TokenKeys;
use oms::domain::actor::Role;
use oms::tls::Tls;
use serde_json::{json, Value};

use crate::harness::{Backend, TestApp};
use crate::on_both;

/// What the loopback provider serves, and how often it was asked.
#[derive(Default)]
struct Published {
    keys: Mutex<Vec<Value>>,
    jwks_hits: AtomicU64,
    discovery_hits: AtomicU64,
    issuer: Mutex<String>,
}

/// A loopback OpenID provider: `/.well-known/openid-configuration` and `/jwks`.
struct Provider {
    issuer: String,
    published: Arc<Published>,
}

impl Provider {
    async fn start() -> Provider {
        async fn discovery(State(p): State<Arc<Published>>) -> Json<Value> {
            p.discovery_hits.fetch_add(1, Ordering::SeqCst);
            let issuer = p.issuer.lock().unwrap().clone();
            Json(json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}))
        }
        async fn jwks(State(p): State<Arc<Published>>) -> Json<Value> {
            p.jwks_hits.fetch_add(1, Ordering::SeqCst);
            Json(json!({"keys": p.keys.lock().unwrap().clone()}))
        }
        let published = Arc::new(Published::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}");
        *published.issuer.lock().unwrap() = issuer.clone();
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(published.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Provider { issuer, published }
    }

    /// Publishes exactly these keys from now on.
    fn publish(&self, keys: &[&SigningKey]) {
        *self.published.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    fn jwks_hits(&self) -> u64 {
        self.published.jwks_hits.load(Ordering::SeqCst)
    }

    fn discovery_hits(&self) -> u64 {
        self.published.discovery_hits.load(Ordering::SeqCst)
    }

    /// The flags of a server trusting this provider, audience `oms`.
    fn args(&self) -> OidcArgs {
        OidcArgs {
            oidc_issuer: Some(self.issuer.clone()),
            oidc_audience: Some("oms".into()),
            oidc_role_claim: "role".into(),
            oidc_subject_claim: "sub".into(),
            ..Default::default()
        }
    }
}

/// A private key of the provider and its public JWK.
struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn rs256(kid: &str) -> SigningKey {
        // PKCS#1 PEM (`openssl genrsa -traditional`); the library reads it as DER (its PEM
        // reader is a feature this project does not build).
        let pem = std::fs::read_to_string("tests/fixtures/oidc/rsa-test-key.pem").unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let encoding = EncodingKey::from_rsa_der(&der);
        Self::with_jwk(kid, Algorithm::RS256, encoding)
    }

    fn es256(kid: &str) -> SigningKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let encoding = EncodingKey::from_ec_der(&pair.serialize_der());
        Self::with_jwk(kid, Algorithm::ES256, encoding)
    }

    fn eddsa(kid: &str) -> SigningKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let encoding = EncodingKey::from_ed_der(&pair.serialize_der());
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key_raw());
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding,
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig"}),
        }
    }

    fn with_jwk(kid: &str, alg: Algorithm, encoding: EncodingKey) -> SigningKey {
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&encoding, alg).unwrap()).unwrap();
        jwk["kid"] = json!(kid);
        SigningKey {
            kid: kid.into(),
            alg,
            encoding,
            jwk,
        }
    }

    /// A token of `claims` (over the defaults below) signed with this key.
    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.alg, &self.kid, claims)
    }

    /// A token whose header says `alg` and `kid`, signed with this key.
    fn sign_as(&self, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        encode(&header, claims, &self.encoding).unwrap()
    }
}

/// Good claims from `issuer` for `sub` with `role`, valid for an hour.
fn claims(issuer: &str, sub: &str, role: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": issuer, "aud": "oms", "sub": sub, "role": role,
        "iat": now, "exp": now + 3600,
    })
}

/// `t` with the keys of `args` (the HS256 secret stays `test-secret`): its own router on the
/// same database.
fn trusting(t: &TestApp, args: OidcArgs) -> TestApp {
    let config = args.config().unwrap().unwrap();
    let verifier = OidcVerifier::new(config, &Tls::default()).unwrap();
    let mut app = t.app.clone();
    app.keys = TokenKeys::new("test-secret").with_oidc(verifier);
    TestApp {
        url: t.url.clone(),
        gateway: t.gateway.clone(),
        router: oms::http::router(app.clone(), Path::new("web/node_modules")),
        app,
        clock: t.clock.clone(),
        dns: t.dns.clone(),
    }
}

const VIEWER: &str = "{ viewer { role subject } }";

/// The viewer `token` is, or the refusal's status and message.
async fn viewer(t: &TestApp, token: &str) -> Result<(String, Value), (StatusCode, String)> {
    let (status, body) = t.post(Some(token), VIEWER, json!({})).await;
    if status != StatusCode::OK {
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        return Err((status, message.to_owned()));
    }
    assert!(body.get("errors").is_none(), "{body}");
    let v = &body["data"]["viewer"];
    Ok((v["role"].as_str().unwrap().to_owned(), v["subject"].clone()))
}

/// The message of a refused token (asserting 401).
async fn refused(t: &TestApp, token: &str) -> String {
    match viewer(t, token).await {
        Err((status, message)) => {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{message}");
            message
        }
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

async fn link(t: &TestApp, token: &str, input: Value) -> Value {
    t.gql(
        token,
        "mutation($input: LinkExternalIdentityInput!) { linkExternalIdentity(input: $input) \
         { customerId sellerId externalId userErrors { code field message } } }",
        json!({ "input": input }),
    )
    .await["linkExternalIdentity"]
        .clone()
}

on_both!(
    tokens_of_the_three_algorithms_and_each_refusal,
    |t: TestApp| async move {
        let provider = Provider::start().await;
        let (rsa, ec, ed) = (
            SigningKey::rs256("rsa-1"),
            SigningKey::es256("ec-1"),
            SigningKey::eddsa("ed-1"),
        );
        provider.publish(&[&rsa, &ec, &ed]);
        let t = trusting(&t, provider.args());
        let iss = provider.issuer.clone();
        let seller = t.seller("연동 판매자", 3000, 50_000, 3000).await;
        let ops = t.operator();
        // HS256 beside an issuer is refused (the harness's operator token is one).
        let hs = refused(&t, &ops).await;
        assert!(
            hs.contains("HS256") && hs.contains("--oidc-allow-hs256"),
            "{hs}"
        );

        // Staff need no row; each algorithm verifies with its own key.
        assert_eq!(
            viewer(&t, &rsa.sign(&claims(&iss, "staff-1", "operator")))
                .await
                .unwrap(),
            ("OPERATOR".into(), Value::Null)
        );
        assert_eq!(
            viewer(&t, &ec.sign(&claims(&iss, "staff-2", "Analyst")))
                .await
                .unwrap()
                .0,
            "ANALYST"
        );
        // Discovery once, the key set once, for all of them.
        assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (1, 1));

        // A seller not linked yet is refused, saying what to do; linked, it is that seller.
        let seller_token = ed.sign(&claims(&iss, "kc-seller-9", "seller"));
        let unlinked = refused(&t, &seller_token).await;
        assert!(
            unlinked.contains("no seller is linked to the identity `kc-seller-9`")
                && unlinked.contains("linkExternalIdentity"),
            "{unlinked}"
        );
        // Linking takes an OPERATOR token: the provider's operator works.
        let operator = ed.sign(&claims(&iss, "staff-1", "OPERATOR"));
        let linked = link(
            &t,
            &operator,
            json!({"sellerId": format!("gid://oms/Seller/{seller}"), "externalId": "kc-seller-9"}),
        )
        .await;
        assert_eq!(linked["userErrors"], json!([]), "{linked}");
        assert_eq!(
            viewer(&t, &seller_token).await.unwrap(),
            ("SELLER".into(), json!(format!("gid://oms/Seller/{seller}")))
        );
        assert_eq!(
            viewer(&t, &rsa.sign(&claims(&iss, "kc-seller-9", "seller")))
                .await
                .unwrap()
                .0,
            "SELLER"
        );

        let now = Utc::now().timestamp();
        let with = |patch: Value| {
            let mut c = claims(&iss, "staff-1", "operator");
            for (k, v) in patch.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        for (what, token, says) in [
            (
                "wrong issuer",
                ec.sign(&with(json!({"iss": "https://evil.example.com"}))),
                "issuer",
            ),
            (
                "wrong audience",
                ec.sign(&with(json!({"aud": "another-app"}))),
                "audience",
            ),
            (
                "audience list without ours",
                ec.sign(&with(json!({"aud": ["a", "b"]}))),
                "audience",
            ),
            (
                "expired",
                ec.sign(&with(json!({"iat": now - 7200, "exp": now - 3600}))),
                "expired",
            ),
            (
                "not yet valid",
                ec.sign(&with(json!({"nbf": now + 600}))),
                "not valid yet",
            ),
            (
                "issued in the future",
                ec.sign(&with(json!({"iat": now + 600}))),
                "future",
            ),
            (
                "over 90 days",
                ec.sign(&with(json!({"exp": now + 91 * 86_400}))),
                "90 days",
            ),
            (
                "no exp",
                ec.sign(&{
                    let mut c = with(json!({}));
                    c.as_object_mut().unwrap().remove("exp");
                    c
                }),
                "exp",
            ),
            (
                "unmapped role",
                ec.sign(&with(json!({"role": "admin"}))),
                "holds no role",
            ),
            (
                "SYSTEM never maps",
                ec.sign(&with(json!({"role": "system"}))),
                "holds no role",
            ),
            (
                "no subject",
                ec.sign(&{
                    let mut c = with(json!({}));
                    c.as_object_mut().unwrap().remove("sub");
                    c
                }),
                "subject",
            ),
            // An ES256 token naming the RSA key: the key is for RS256 only.
            (
                "alg of another key",
                ec.sign_as(Algorithm::ES256, "rsa-1", &with(json!({}))),
                "algorithm",
            ),
            // Not three base64url parts.
            (
                "garbage",
                rsa.sign_as(Algorithm::RS256, "rsa-1", &with(json!({})))
                    .replace('.', "!"),
                "not a JWT",
            ),
            (
                "HS512 from the issuer's side",
                encode(
                    &Header::new(Algorithm::HS512),
                    &with(json!({})),
                    &EncodingKey::from_secret(b"k"),
                )
                .unwrap(),
                "HS256",
            ),
        ] {
            let message = refused(&t, &token).await;
            assert!(message.contains(says), "{what}: {message}");
        }
        // A signature by one key presented under another key's id (same algorithm).
        let ec2 = SigningKey::es256("ec-2");
        let forged = ec2.sign_as(Algorithm::ES256, "ec-1", &with(json!({})));
        assert!(refused(&t, &forged)
            .await
            .contains("not signed by the identity provider's key"));
        // `alg: none`, unsigned.
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!(
            "{}.{}.",
            b64(json!({"alg": "none", "kid": "ec-1"})),
            b64(with(json!({})))
        );
        assert!(refused(&t, &none).await.contains("not a JWT"));
        // A good token still works after all that, without fetching again.
        assert!(viewer(&t, &ec.sign(&with(json!({})))).await.is_ok());
        assert_eq!(provider.jwks_hits(), 1);
    }
);

on_both!(
    rotation_refetches_once_and_unknown_kids_are_rate_limited,
    |t: TestApp| async move {
        // Rotation: the provider moves to a new key; the first token with its kid fetches the
        // set again (once) and is accepted.
        let provider = Provider::start().await;
        let old = SigningKey::es256("2026-11");
        provider.publish(&[&old]);
        let a = trusting(&t, provider.args());
        let iss = provider.issuer.clone();
        assert!(viewer(&a, &old.sign(&claims(&iss, "s", "operator")))
            .await
            .is_ok());
        assert_eq!(provider.jwks_hits(), 1);
        let new = SigningKey::eddsa("2026-12");
        provider.publish(&[&new]);
        assert!(viewer(&a, &new.sign(&claims(&iss, "s", "operator")))
            .await
            .is_ok());
        assert_eq!(provider.jwks_hits(), 2);
        assert!(viewer(&a, &new.sign(&claims(&iss, "s", "operator")))
            .await
            .is_ok());
        assert_eq!(provider.jwks_hits(), 2);

        // A flood of made-up kids on a fresh server: one refetch in the window, shared by
        // concurrent requests; every one refused, saying the key is not published.
        let provider = Provider::start().await;
        let key = SigningKey::es256("k1");
        provider.publish(&[&key]);
        let b = trusting(&t, provider.args());
        let iss = provider.issuer.clone();
        assert!(viewer(&b, &key.sign(&claims(&iss, "s", "operator")))
            .await
            .is_ok());
        assert_eq!(provider.jwks_hits(), 1);
        let b = Arc::new(b);
        let mut flood = Vec::new();
        for n in 0..24 {
            let (b, token) = (
                b.clone(),
                key.sign_as(
                    Algorithm::ES256,
                    &format!("made-up-{n}"),
                    &claims(&iss, "s", "operator"),
                ),
            );
            flood.push(tokio::spawn(async move { refused(&b, &token).await }));
        }
        for answer in flood {
            let message = answer.await.unwrap();
            assert!(message.contains("does not publish"), "{message}");
        }
        assert_eq!(provider.jwks_hits(), 2, "one refetch for the whole flood");
        // Even a key the provider starts publishing now waits for the window to pass...
        let late = SigningKey::es256("k2");
        provider.publish(&[&key, &late]);
        refused(&b, &late.sign(&claims(&iss, "s", "operator"))).await;
        assert_eq!(provider.jwks_hits(), 2);
        // ...while the known key keeps working.
        assert!(viewer(&b, &key.sign(&claims(&iss, "s", "operator")))
            .await
            .is_ok());

        // The window at its limit and past it, with a short interval.
        let provider = Provider::start().await;
        provider.publish(&[&key]);
        let mut args = provider.args();
        args.oidc_jwks_url = Some(format!("{}/jwks", provider.issuer));
        let mut config = args.config().unwrap().unwrap();
        config.refetch_interval = Duration::from_millis(1500);
        let verifier = OidcVerifier::new(config, &Tls::default()).unwrap();
        let mut app = t.app.clone();
        app.keys = TokenKeys::new("test-secret").with_oidc(verifier.clone());
        let c = TestApp {
            url: t.url.clone(),
            gateway: t.gateway.clone(),
            router: oms::http::router(app.clone(), Path::new("web/node_modules")),
            app,
            clock: t.clock.clone(),
            dns: t.dns.clone(),
        };
        let iss = provider.issuer.clone();
        let unknown = key.sign_as(Algorithm::ES256, "nope", &claims(&iss, "s", "operator"));
        refused(&c, &unknown).await; // the first fetch
        refused(&c, &unknown).await; // the one refetch of the window
        let started = Instant::now();
        refused(&c, &unknown).await; // limited
        assert_eq!(provider.jwks_hits(), 2);
        // An explicit --oidc-jwks-url skips discovery.
        assert_eq!(provider.discovery_hits(), 0);
        tokio::time::sleep(Duration::from_millis(1600).saturating_sub(started.elapsed())).await;
        refused(&c, &unknown).await; // past the window: one more
        assert_eq!(provider.jwks_hits(), 3);
        assert_eq!(verifier.key_fetches(), 3);
    }
);

on_both!(
    an_unreachable_provider_is_a_prompt_refusal,
    |t: TestApp| async move {
        // A port nothing listens on: bind one, then close it.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let issuer = format!("http://127.0.0.1:{port}");
        let args = OidcArgs {
            oidc_issuer: Some(issuer.clone()),
            oidc_audience: Some("oms".into()),
            oidc_role_claim: "role".into(),
            oidc_subject_claim: "sub".into(),
            ..Default::default()
        };
        let t = trusting(&t, args);
        let key = SigningKey::es256("k");
        let started = Instant::now();
        let message = refused(&t, &key.sign(&claims(&issuer, "s", "operator"))).await;
        assert!(
            message.contains("could not be fetched") && message.contains("openid-configuration"),
            "{message}"
        );
        // Again (its one refetch of the window fails too): the same clear refusal.
        let again = refused(&t, &key.sign(&claims(&issuer, "s", "operator"))).await;
        assert!(again.contains("could not be fetched"), "{again}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
);

on_both!(
    shared_secret_tokens_beside_the_provider_only_when_allowed,
    |t: TestApp| async move {
        let provider = Provider::start().await;
        let key = SigningKey::rs256("r");
        provider.publish(&[&key]);
        let mut args = provider.args();
        args.oidc_allow_hs256 = true;
        let allowing = trusting(&t, args);
        let seller = t.seller("판매자", 3000, 50_000, 3000).await;
        assert_eq!(
            viewer(&allowing, &t.token(Role::Seller, &seller.to_string()))
                .await
                .unwrap(),
            ("SELLER".into(), json!(format!("gid://oms/Seller/{seller}")))
        );
        assert_eq!(
            viewer(&allowing, &t.operator()).await.unwrap().0,
            "OPERATOR"
        );
        // The provider's tokens still work beside them.
        let iss = provider.issuer.clone();
        assert_eq!(
            viewer(&allowing, &key.sign(&claims(&iss, "a", "analyst")))
                .await
                .unwrap()
                .0,
            "ANALYST"
        );
        // An HS256 token signed with another secret is still refused.
        let forged = TokenKeys::new("other")
            .issue(Role::Operator, "x", chrono::Duration::hours(1))
            .unwrap();
        refused(&allowing, &forged).await;
        // Without the flag: refused, though the secret is right.
        let strict = trusting(&t, provider.args());
        refused(&strict, &t.operator()).await;

        // The server refuses to start with the flag and the published secret.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oms"))
            .args([
                "serve",
                "--oidc-issuer",
                &iss,
                "--oidc-audience",
                "oms",
                "--oidc-allow-hs256",
                "--database-url",
                "sqlite::memory:",
            ])
            .env_remove("OMS_JWT_SECRET")
            .env_remove("OMS_LISTEN")
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("--oidc-allow-hs256"), "{stderr}");
        // A role map naming SYSTEM stops it too.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oms"))
            .args([
                "serve",
                "--oidc-issuer",
                &iss,
                "--oidc-audience",
                "oms",
                "--oidc-role-map",
                "root=SYSTEM",
                "--database-url",
                "sqlite::memory:",
            ])
            .env_remove("OMS_LISTEN")
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("SYSTEM"),
            "{stderr}"
        );
    }
);

on_both!(
    roles_from_a_nested_array_claim_through_the_map,
    |t: TestApp| async move {
        let provider = Provider::start().await;
        let key = SigningKey::eddsa("e");
        provider.publish(&[&key]);
        let mut args = provider.args();
        args.oidc_role_claim = "realm_access.roles".into();
        args.oidc_role_map = Some("oms-operator=OPERATOR,cs=OPERATOR,bi=ANALYST".into());
        let t = trusting(&t, args);
        let iss = provider.issuer.clone();
        let with_roles = |roles: Value| {
            let mut c = claims(&iss, "kc-1", "ignored");
            c["realm_access"] = json!({ "roles": roles });
            key.sign(&c)
        };
        // The first value that maps wins.
        assert_eq!(
            viewer(&t, &with_roles(json!(["offline_access", "bi", "cs"])))
                .await
                .unwrap()
                .0,
            "ANALYST"
        );
        assert_eq!(
            viewer(&t, &with_roles(json!(["CS"]))).await.unwrap().0,
            "OPERATOR"
        );
        // Nothing maps (the role's own name does not, once a map is given); not a list of
        // strings; no claim at all.
        for roles in [
            json!(["operator", "offline_access"]),
            json!([]),
            json!({"cs": true}),
        ] {
            let message = refused(&t, &with_roles(roles)).await;
            assert!(
                message.contains("`realm_access.roles` claim holds no role"),
                "{message}"
            );
        }
        let message = refused(&t, &key.sign(&claims(&iss, "kc-1", "cs"))).await;
        assert!(message.contains("holds no role"), "{message}");
    }
);

on_both!(
    customers_are_created_on_first_sight_only_when_enabled,
    |t: TestApp| async move {
        let provider = Provider::start().await;
        let key = SigningKey::es256("c");
        provider.publish(&[&key]);
        let iss = provider.issuer.clone();
        let mut first = claims(&iss, "auth0|u-1", "customer");
        first["name"] = json!("김고객");
        first["email"] = json!("kim@example.com");
        let token = key.sign(&first);

        // Off: refused, nothing created.
        let off = trusting(&t, provider.args());
        let message = refused(&off, &token).await;
        assert!(
            message.contains("no customer is linked to the identity `auth0|u-1`"),
            "{message}"
        );
        let count = |db: oms::db::Db| async move {
            use sea_orm::{EntityTrait, PaginatorTrait};
            entity::customer::Entity::find()
                .count(db.conn())
                .await
                .unwrap()
        };
        assert_eq!(count(t.app.db.clone()).await, 0);

        // On: eight first requests at once make one customer, with the claims' name and email.
        let mut args = provider.args();
        args.oidc_create_customers = true;
        let on = Arc::new(trusting(&t, args));
        let mut firsts = Vec::new();
        for _ in 0..8 {
            let (on, token) = (on.clone(), token.clone());
            firsts.push(tokio::spawn(
                async move { viewer(&on, &token).await.unwrap() },
            ));
        }
        let mut subjects = Vec::new();
        for f in firsts {
            let (role, subject) = f.await.unwrap();
            assert_eq!(role, "CUSTOMER");
            subjects.push(subject);
        }
        subjects.dedup();
        assert_eq!(subjects.len(), 1, "{subjects:?}");
        assert_eq!(count(t.app.db.clone()).await, 1);
        let row = {
            use sea_orm::EntityTrait;
            entity::customer::Entity::find()
                .one(t.app.db.conn())
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            (
                row.name.as_str(),
                row.email.as_str(),
                row.external_id.as_deref()
            ),
            ("김고객", "kim@example.com", Some("auth0|u-1"))
        );
        assert_eq!(subjects[0], json!(format!("gid://oms/Customer/{}", row.id)));
        // Without name and email claims: empty ones. A seller is never created.
        assert!(
            viewer(&on, &key.sign(&claims(&iss, "auth0|u-2", "customer")))
                .await
                .is_ok()
        );
        assert_eq!(count(t.app.db.clone()).await, 2);
        refused(&on, &key.sign(&claims(&iss, "auth0|s-1", "seller"))).await;
    }
);

on_both!(
    linking_an_identity_is_for_operators_and_refuses_conflicts,
    |t: TestApp| async move {
        let provider = Provider::start().await;
        let key = SigningKey::es256("l");
        provider.publish(&[&key]);
        let mut args = provider.args();
        args.oidc_allow_hs256 = true;
        let o = trusting(&t, args);
        let iss = provider.issuer.clone();
        let ops = t.operator();
        let (c1, c2) = (t.customer(0).await, t.customer(0).await);
        let (s1, s2) = (
            t.seller("가", 3000, 50_000, 3000).await,
            t.seller("나", 3000, 50_000, 3000).await,
        );
        let cid = |id: i64| format!("gid://oms/Customer/{id}");
        let sid = |id: i64| format!("gid://oms/Seller/{id}");

        let done = link(
            &o,
            &ops,
            json!({"customerId": cid(c1), "externalId": "u-1"}),
        )
        .await;
        assert_eq!(
            done,
            json!({"customerId": cid(c1), "sellerId": null, "externalId": "u-1", "userErrors": []})
        );
        assert_eq!(
            viewer(&o, &key.sign(&claims(&iss, "u-1", "customer")))
                .await
                .unwrap()
                .1,
            json!(cid(c1))
        );
        // The same again is fine; a seller may carry the same subject as a customer.
        assert_eq!(
            link(
                &o,
                &ops,
                json!({"customerId": cid(c1), "externalId": "u-1"})
            )
            .await["userErrors"],
            json!([])
        );
        assert_eq!(
            link(&o, &ops, json!({"sellerId": sid(s1), "externalId": "u-1"})).await["userErrors"],
            json!([])
        );

        let code = |v: &Value| {
            v["userErrors"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        // Already linked to another customer.
        let taken = link(
            &o,
            &ops,
            json!({"customerId": cid(c2), "externalId": "u-1"}),
        )
        .await;
        assert_eq!(code(&taken), "IDENTITY_ALREADY_LINKED", "{taken}");
        assert_eq!(
            taken["userErrors"][0]["field"],
            json!(["input", "externalId"])
        );
        let taken = link(&o, &ops, json!({"sellerId": sid(s2), "externalId": "u-1"})).await;
        assert_eq!(code(&taken), "IDENTITY_ALREADY_LINKED", "{taken}");
        // Not found; both; neither; a customer id given as the seller's.
        let missing = link(
            &o,
            &ops,
            json!({"customerId": cid(999_999), "externalId": "u-9"}),
        )
        .await;
        assert_eq!(code(&missing), "NOT_FOUND", "{missing}");
        let both = link(
            &o,
            &ops,
            json!({"customerId": cid(c2), "sellerId": sid(s2), "externalId": "u-9"}),
        )
        .await;
        assert_eq!(code(&both), "INVALID_INPUT", "{both}");
        assert!(both["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("exactly one"));
        let neither = link(&o, &ops, json!({"externalId": "u-9"})).await;
        assert_eq!(code(&neither), "INVALID_INPUT", "{neither}");
        let crossed = link(&o, &ops, json!({"sellerId": cid(c2), "externalId": "u-9"})).await;
        assert_eq!(code(&crossed), "INVALID_INPUT", "{crossed}");
        // The external id's limits: 255 characters, at and past; empty; a control character.
        let at = "x".repeat(255);
        assert_eq!(
            link(&o, &ops, json!({"customerId": cid(c2), "externalId": at})).await["userErrors"],
            json!([])
        );
        let past = link(
            &o,
            &ops,
            json!({"customerId": cid(c2), "externalId": "x".repeat(256)}),
        )
        .await;
        assert_eq!(code(&past), "TEXT_TOO_LONG", "{past}");
        let empty = link(&o, &ops, json!({"customerId": cid(c2), "externalId": ""})).await;
        assert_eq!(code(&empty), "INVALID_INPUT", "{empty}");
        let control = link(
            &o,
            &ops,
            json!({"customerId": cid(c2), "externalId": "a\nb"}),
        )
        .await;
        assert_eq!(code(&control), "INVALID_TEXT", "{control}");
        // Relinking replaces: c2 now answers to u-2, and the 255-character subject is free.
        assert_eq!(
            link(
                &o,
                &ops,
                json!({"customerId": cid(c2), "externalId": "u-2"})
            )
            .await["userErrors"],
            json!([])
        );
        assert_eq!(
            link(
                &o,
                &ops,
                json!({"customerId": cid(c1), "externalId": "x".repeat(255)})
            )
            .await["userErrors"],
            json!([])
        );
        refused(&o, &key.sign(&claims(&iss, "u-1", "customer"))).await;

        // Operators only: a seller, a customer, an analyst (of either kind of token).
        let query = "mutation($input: LinkExternalIdentityInput!) { linkExternalIdentity(input: $input) { userErrors { code } } }";
        let input = json!({"input": {"sellerId": sid(s2), "externalId": "u-7"}});
        for token in [
            t.token(Role::Seller, &s2.to_string()),
            t.token(Role::Customer, &c1.to_string()),
            t.token(Role::Analyst, "bi"),
            key.sign(&claims(&iss, "u-1", "seller")),
        ] {
            let (status, body) = o.post(Some(&token), query, input.clone()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                "{body}"
            );
            assert!(
                body["data"].is_null() || body["data"]["linkExternalIdentity"].is_null(),
                "{body}"
            );
        }
        let (_, body) = o.post(None, query, input).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
        // Nothing was linked by the refused calls.
        refused(&o, &key.sign(&claims(&iss, "u-7", "seller"))).await;
    }
);

on_both!(
    the_websocket_checks_the_providers_tokens_the_same_way,
    |t: TestApp| async move {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let provider = Provider::start().await;
        let key = SigningKey::eddsa("w");
        provider.publish(&[&key]);
        let t = trusting(&t, provider.args());
        let iss = provider.issuer.clone();
        let addr = t.serve_on_loopback().await;
        let init = |token: String| {
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
                .to_string()
        };
        // The provider's analyst: acknowledged, and the socket's queries run as that analyst.
        let mut ws = crate::harness::graphql_socket(addr).await;
        ws.send(Message::Text(
            init(key.sign(&claims(&iss, "bi", "analyst"))).into(),
        ))
        .await
        .unwrap();
        assert_eq!(
            crate::events::next_json(&mut ws).await["type"],
            "connection_ack"
        );
        let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}});
        ws.send(Message::Text(subscribe.to_string().into()))
            .await
            .unwrap();
        let answer = crate::events::next_json(&mut ws).await;
        assert_eq!(
            answer["payload"]["data"]["viewer"]["role"], "ANALYST",
            "{answer}"
        );

        // An unlinked seller and an HS256 token: closed with the reason (async-graphql closes a
        // refused graphql-transport-ws `connection_init` with 1002; the reason fits the frame).
        for (token, says) in [
            (
                key.sign(&claims(&iss, "nobody", "seller")),
                "no seller is linked",
            ),
            (t.operator(), "HS256"),
        ] {
            let mut ws = crate::harness::graphql_socket(addr).await;
            ws.send(Message::Text(init(token).into())).await.unwrap();
            let closed = loop {
                match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                    Ok(Some(Ok(Message::Close(frame)))) => break frame,
                    Ok(Some(Ok(_))) => continue,
                    other => panic!("no close frame: {other:?}"),
                }
            };
            let frame = closed.expect("a close frame with a code");
            assert_eq!(u16::from(frame.code), 1002, "{frame:?}");
            assert!(frame.reason.len() <= 123);
            assert!(
                frame.reason.contains("UNAUTHENTICATED") && frame.reason.contains(says),
                "{}",
                frame.reason
            );
        }
    }
);
