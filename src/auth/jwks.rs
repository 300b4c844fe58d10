//! The identity provider's signing keys (JWKS), cached by `kid`.
//!
//! Keys are fetched at first use from `--oidc-jwks-url`, or from the `jwks_uri` of the
//! issuer's discovery document (`{issuer}/.well-known/openid-configuration`). The set is
//! refreshed when older than its `Cache-Control: max-age` (bounded to
//! [`MIN_MAX_AGE`]..[`MAX_MAX_AGE`]; [`MAX_MAX_AGE`] without one). A token naming a `kid` the
//! cache lacks (the provider rotated its keys) fetches the set again, but at most once per
//! refetch interval ([`REFETCH_INTERVAL`] by default): requests that miss meanwhile share the
//! one fetch or are refused, so a flood of made-up `kid`s cannot make us hammer the provider.
//! A fetch is bounded in time and size; a provider that does not answer gives a refusal, and
//! keys already known keep working.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;

use super::AuthError;

/// The shortest time a fetched key set is trusted without asking again, whatever the
/// provider's `Cache-Control` says.
pub const MIN_MAX_AGE: Duration = Duration::from_secs(60);
/// The longest time a fetched key set is trusted without asking again (and the time without a
/// `Cache-Control: max-age`): rotated-out keys stop working within it.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(3600);
/// At most one refetch per this interval for `kid`s the cache lacks.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// One fetch (discovery and key set together) may take this long; requests wait no longer.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest discovery document or key set read.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// A key a token may be verified with, and the one algorithm it verifies.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The key.
    pub key: DecodingKey,
    /// RS256 for an RSA key, ES256 for a P-256 key, EdDSA for an Ed25519 key.
    pub alg: Algorithm,
}

/// Allows one refetch per interval: the first ask passes, later ones only once the interval
/// since the last allowed one has passed.
#[derive(Debug, Clone)]
pub struct RefetchLimiter {
    interval: Duration,
    last: Option<Instant>,
}

impl RefetchLimiter {
    /// A limiter allowing one refetch per `interval`.
    pub fn new(interval: Duration) -> Self {
        RefetchLimiter {
            interval,
            last: None,
        }
    }

    /// True (and counted) when a refetch may happen at `now`.
    pub fn permit(&mut self, now: Instant) -> bool {
        let allowed = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if allowed {
            self.last = Some(now);
        }
        allowed
    }
}

/// The keys as last fetched.
struct KeySet {
    keys: HashMap<String, VerifyingKey>,
    fetched_at: Option<Instant>,
    max_age: Duration,
}

impl KeySet {
    fn fresh(&self, now: Instant) -> bool {
        self.fetched_at
            .is_some_and(|at| now.saturating_duration_since(at) < self.max_age)
    }
}

/// What only the fetching request touches (behind the async lock that makes concurrent
/// misses share one fetch).
struct Fetcher {
    limiter: RefetchLimiter,
    /// False until the first fetch was tried; that one is not rate-limited.
    tried: bool,
    /// The key set's URL, once configured or discovered.
    jwks_url: Option<Url>,
    /// Why the last fetch failed, for the refusals until the next one.
    last_error: Option<String>,
}

/// The provider's key set, fetched and cached.
pub struct Jwks {
    client: reqwest::Client,
    issuer: String,
    keys: RwLock<KeySet>,
    fetcher: tokio::sync::Mutex<Fetcher>,
    /// Fetches made (successful or not), for logs and tests.
    fetches: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Jwks({})", self.issuer)
    }
}

impl Jwks {
    /// A cache for `issuer`'s keys at `jwks_url` (or discovered), fetched with `client`.
    pub fn new(
        client: reqwest::Client,
        issuer: &str,
        jwks_url: Option<Url>,
        refetch_interval: Duration,
    ) -> Jwks {
        Jwks {
            client,
            issuer: issuer.to_owned(),
            keys: RwLock::new(KeySet {
                keys: HashMap::new(),
                fetched_at: None,
                max_age: MAX_MAX_AGE,
            }),
            fetcher: tokio::sync::Mutex::new(Fetcher {
                limiter: RefetchLimiter::new(refetch_interval),
                tried: false,
                jwks_url,
                last_error: None,
            }),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many fetches were made so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Looks in the cache: the key, and whether the set is fresh.
    fn cached(&self, kid: &str, now: Instant) -> (Option<VerifyingKey>, bool, bool) {
        match self.keys.read() {
            Ok(set) => (
                set.keys.get(kid).cloned(),
                set.fresh(now),
                set.fetched_at.is_some(),
            ),
            // A panic while writing the map: nothing cached can be trusted.
            Err(_) => (None, false, false),
        }
    }

    /// The key named `kid`, fetching the set when it is stale or lacks the key (rate-limited).
    pub async fn key(&self, kid: &str) -> Result<VerifyingKey, AuthError> {
        let (found, fresh, _) = self.cached(kid, Instant::now());
        if let (Some(key), true) = (&found, fresh) {
            return Ok(key.clone());
        }
        let mut fetcher = self.fetcher.lock().await;
        // Another request may have fetched while this one waited for the lock.
        let now = Instant::now();
        let (found, fresh, loaded) = self.cached(kid, now);
        if let (Some(key), true) = (&found, fresh) {
            return Ok(key.clone());
        }
        let allowed = !fetcher.tried || fetcher.limiter.permit(now);
        if allowed {
            fetcher.tried = true;
            self.refresh(&mut fetcher).await;
        }
        let (after, _, loaded_now) = self.cached(kid, Instant::now());
        // A stale key still verifies when the provider could not be asked again.
        if let Some(key) = after.or(found) {
            return Ok(key);
        }
        match (&fetcher.last_error, loaded || loaded_now) {
            (Some(why), false) => Err(AuthError::KeysUnavailable(why.clone())),
            _ => Err(AuthError::UnknownKey(kid.to_owned())),
        }
    }

    /// Fetches the key set (discovering its URL first if needed) and replaces the cache; on
    /// failure keeps the cache and remembers why.
    async fn refresh(&self, fetcher: &mut Fetcher) {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fetched = tokio::time::timeout(FETCH_TIMEOUT, self.fetch(fetcher)).await;
        let fetched = fetched
            .unwrap_or_else(|_| Err(format!("no answer within {} s", FETCH_TIMEOUT.as_secs())));
        match fetched {
            Ok((keys, max_age)) => {
                tracing::info!(issuer = %self.issuer, keys = keys.len(), "identity provider keys fetched");
                fetcher.last_error = None;
                if let Ok(mut set) = self.keys.write() {
                    *set = KeySet {
                        keys,
                        fetched_at: Some(Instant::now()),
                        max_age,
                    };
                }
            }
            Err(why) => {
                tracing::warn!(issuer = %self.issuer, "cannot fetch the identity provider's keys: {why}");
                fetcher.last_error = Some(why);
            }
        }
    }

    async fn fetch(
        &self,
        fetcher: &mut Fetcher,
    ) -> Result<(HashMap<String, VerifyingKey>, Duration), String> {
        let url = match &fetcher.jwks_url {
            Some(url) => url.clone(),
            None => {
                let url = self.discover().await?;
                fetcher.jwks_url = Some(url.clone());
                url
            }
        };
        let (body, max_age) = get(&self.client, &url).await?;
        let keys = parse_key_set(&body).map_err(|e| format!("{url}: {e}"))?;
        Ok((keys, max_age))
    }

    /// The `jwks_uri` of the issuer's discovery document.
    async fn discover(&self) -> Result<Url, String> {
        let url = discovery_url(&self.issuer)?;
        let (body, _) = get(&self.client, &url).await?;
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let doc: Discovery = serde_json::from_slice(&body)
            .map_err(|e| format!("{url} is not an OpenID discovery document: {e}"))?;
        // OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was asked of.
        if doc.issuer != self.issuer {
            return Err(format!(
                "{url} names the issuer `{}`, not `{}`",
                doc.issuer, self.issuer
            ));
        }
        fetch_url(&doc.jwks_uri).map_err(|e| format!("jwks_uri of {url}: {e}"))
    }
}

/// `{issuer}/.well-known/openid-configuration`.
pub fn discovery_url(issuer: &str) -> Result<Url, String> {
    fetch_url(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
}

/// A URL keys may be fetched from: https, or http to a loopback host (development, tests).
pub fn fetch_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "`{text}` must be https (http only to a loopback address, for development)"
        )),
    }
}

/// GETs `url`: the body (at most [`MAX_BODY_BYTES`]) and how long it may be cached.
async fn get(client: &reqwest::Client, url: &Url) -> Result<(Vec<u8>, Duration), String> {
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let max_age = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map_or(MAX_MAX_AGE, cache_max_age);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("{url} answered more than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, max_age))
}

/// How long a response with this `Cache-Control` may be kept, within the bounds.
pub fn cache_max_age(cache_control: &str) -> Duration {
    let mut max_age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return MIN_MAX_AGE;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            max_age = secs.trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age.map_or(MAX_MAX_AGE, |secs| {
        Duration::from_secs(secs).clamp(MIN_MAX_AGE, MAX_MAX_AGE)
    })
}

/// The usable signing keys of a JWKS document, by `kid`. Keys without a `kid`, for
/// encryption, symmetric, or of another algorithm than RS256, ES256 (P-256) and EdDSA
/// (Ed25519) are left out; one key the library cannot read does not spoil the others.
pub fn parse_key_set(body: &[u8]) -> Result<HashMap<String, VerifyingKey>, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let Some(alg) = key_algorithm(&jwk) else {
            continue;
        };
        if let Ok(key) = DecodingKey::from_jwk(&jwk) {
            keys.insert(kid, VerifyingKey { key, alg });
        }
    }
    Ok(keys)
}

/// The one algorithm a key verifies: by its type and curve, and its `alg` when given.
fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        // Other curves, and symmetric keys: an issuer's tokens are never checked with those.
        AlgorithmParameters::EllipticCurve(_)
        | AlgorithmParameters::OctetKeyPair(_)
        | AlgorithmParameters::OctetKey(_) => return None,
    };
    let declared = match jwk.common.key_algorithm {
        None => return Some(by_type),
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(_) => return None,
    };
    (declared == by_type).then_some(by_type)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_refetch_per_interval() {
        let mut limiter = RefetchLimiter::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert!(limiter.permit(t0));
        assert!(!limiter.permit(t0));
        assert!(!limiter.permit(t0 + Duration::from_secs(29)));
        // At the limit: allowed again, and counted from there.
        assert!(limiter.permit(t0 + Duration::from_secs(30)));
        assert!(!limiter.permit(t0 + Duration::from_secs(31)));
        assert!(limiter.permit(t0 + Duration::from_secs(61)));
    }

    #[test]
    fn cache_control_is_bounded() {
        assert_eq!(
            cache_max_age("public, max-age=600"),
            Duration::from_secs(600)
        );
        assert_eq!(cache_max_age("max-age=5"), MIN_MAX_AGE);
        assert_eq!(cache_max_age("max-age=86400"), MAX_MAX_AGE);
        assert_eq!(cache_max_age("no-store"), MIN_MAX_AGE);
        assert_eq!(cache_max_age("public"), MAX_MAX_AGE);
        assert_eq!(cache_max_age("max-age=soon"), MAX_MAX_AGE);
    }

    #[test]
    fn keys_are_fetched_over_https_or_loopback_only() {
        assert!(fetch_url("https://id.example.com/jwks").is_ok());
        assert!(fetch_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(fetch_url("http://[::1]:8080/jwks").is_ok());
        assert!(fetch_url("http://localhost/jwks").is_ok());
        assert!(fetch_url("http://id.example.com/jwks").is_err());
        assert!(fetch_url("ftp://127.0.0.1/jwks").is_err());
        assert_eq!(
            discovery_url("https://id.example.com/realms/shop/")
                .unwrap()
                .as_str(),
            "https://id.example.com/realms/shop/.well-known/openid-configuration"
        );
    }

    #[test]
    fn only_signing_keys_of_the_three_algorithms_are_kept() {
        let body = serde_json::json!({"keys": [
            // Ed25519: kept as EdDSA.
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            // The same key declared for another algorithm: dropped.
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed-mislabelled", "alg": "RS256", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            // For encryption: dropped.
            {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            // Symmetric: dropped.
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            // No kid: dropped.
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            // A curve the library does not know: skipped, not fatal.
            {"kty": "OKP", "crv": "X448", "kid": "x448", "x": "AAAA"}
        ]});
        let keys = parse_key_set(body.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1, "{:?}", keys.keys().collect::<Vec<_>>());
        assert_eq!(keys["ed"].alg, Algorithm::EdDSA);
        assert!(parse_key_set(b"{\"nokeys\": 1}").is_err());
    }
}
