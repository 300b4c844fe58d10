//! The HTTP client partner webhooks are posted with. It connects only where
//! [`target`](super::target) allows:
//!
//! - the stored URL is checked again at every attempt (the allow-list may have changed, and
//!   rows registered before the check exist);
//! - a host name is resolved, for every new connection, by a resolver that keeps only allowed
//!   addresses, and the connection goes to one of those: a name that resolved to a public
//!   address at one check and resolves to a private one when the connection is made (DNS
//!   rebinding) gets nowhere. A kept-alive connection, made to a checked address, may carry
//!   later deliveries to the same host and port;
//! - no redirects (a `3xx` is a failed attempt), no proxy (a proxy would resolve names itself).
//!
//! A seller sees a failure as a coarse reason ([`Failure`]: "could not connect", "answered
//! 500", "address not allowed: private network"); the low-level detail goes to the server log
//! only, so the delivery log is no scanner of anyone's network.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::target::{self, AllowList, Blocked, Host, Refusal, Target};

/// How long one delivery may take, name lookup and connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How long registration waits for a name's addresses before accepting it unchecked (every
/// delivery checks again).
const REGISTRATION_LOOKUP: Duration = Duration::from_secs(2);

/// A host name's addresses, to come.
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Looks host names up: the system's resolver in production, a table in tests.
pub trait Lookup: Send + Sync {
    /// The addresses `host` resolves to; an error when it does not resolve.
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The operating system's resolver (`getaddrinfo`, on a blocking thread).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Why a name gave no address to connect to.
#[derive(Debug)]
enum Unusable {
    /// It does not resolve, or the lookup failed.
    Unresolvable(std::io::Error),
    /// Every address it resolves to is refused (the first one's kind).
    NotAllowed(Blocked),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::Unresolvable(e) => write!(f, "the name does not resolve: {e}"),
            Unusable::NotAllowed(kind) => write!(f, "every address is refused ({kind})"),
        }
    }
}

impl StdError for Unusable {}

/// Where webhooks may go: the allow-list, and the resolver names are looked up with.
#[derive(Clone)]
pub struct Targets {
    allow: AllowList,
    lookup: Arc<dyn Lookup>,
}

impl Default for Targets {
    /// No allow-list, the system's resolver: the production default.
    fn default() -> Self {
        Targets::new(AllowList::default(), Arc::new(SystemLookup))
    }
}

impl Targets {
    /// `allow` let through, names looked up with `lookup`.
    pub fn new(allow: AllowList, lookup: Arc<dyn Lookup>) -> Targets {
        Targets { allow, lookup }
    }

    /// The allow-list.
    pub fn allow(&self) -> &AllowList {
        &self.allow
    }

    /// The rules that need no name lookup ([`target::check`]).
    pub fn check(&self, raw: &str) -> Result<Target, Refusal> {
        target::check(raw, &self.allow)
    }

    /// Registration's check: the URL's rules, then — when the name resolves within two
    /// seconds — its addresses. A name that does not resolve (yet) is accepted: every delivery
    /// attempt checks again. Returns the URL to store (the parser's form of it).
    pub async fn vet(&self, raw: &str) -> Result<Url, Refusal> {
        let Target { url, host } = self.check(raw)?;
        if let Host::Name(name) = &host {
            match tokio::time::timeout(REGISTRATION_LOOKUP, self.admitted(name)).await {
                Ok(Err(Unusable::NotAllowed(kind))) => return Err(Refusal::Address(kind)),
                Ok(Ok(addresses)) if url.scheme() == "http" => {
                    self.plain_http_allowed(&addresses)?;
                }
                _ => {}
            }
        }
        Ok(url)
    }

    /// Plain `http://` goes only to addresses of the allow-list (development receivers).
    fn plain_http_allowed(&self, addresses: &[IpAddr]) -> Result<(), Refusal> {
        if addresses.iter().all(|ip| self.allow.contains(*ip)) {
            Ok(())
        } else {
            Err(Refusal::PlainHttp)
        }
    }

    /// The addresses of `host` that may be reached: at least one, or why there is none.
    async fn admitted(&self, host: &str) -> Result<Vec<IpAddr>, Unusable> {
        let found = self
            .lookup
            .lookup(host)
            .await
            .map_err(Unusable::Unresolvable)?;
        let mut refused = None;
        let admitted: Vec<IpAddr> = found
            .into_iter()
            .filter(|ip| match self.allow.refusal(*ip) {
                None => true,
                Some(kind) => {
                    refused.get_or_insert(kind);
                    false
                }
            })
            .collect();
        match refused {
            Some(kind) if admitted.is_empty() => Err(Unusable::NotAllowed(kind)),
            None if admitted.is_empty() => Err(Unusable::Unresolvable(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no addresses",
            ))),
            _ => Ok(admitted),
        }
    }
}

/// reqwest's resolver: the admitted addresses only.
struct Guarded(Targets);

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let targets = self.0.clone();
        Box::pin(async move {
            let admitted = targets.admitted(name.as_str()).await?;
            let addrs: reqwest::dns::Addrs =
                Box::new(admitted.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Why a delivery attempt failed, as the seller sees it (`lastError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The URL, or every address its name resolves to, is refused.
    Refused(Refusal),
    /// The name does not resolve.
    Unresolvable,
    /// No connection could be made.
    Unreachable,
    /// The receiver's TLS certificate was refused.
    Certificate,
    /// No answer in time.
    TimedOut,
    /// A `3xx`: redirects are not followed.
    Redirected(u16),
    /// Any other status outside `2xx`.
    Answered(u16),
    /// Anything else (the connection broke mid-request, ...).
    Failed,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(r) => write!(f, "{r}"),
            Failure::Unresolvable => f.write_str("could not resolve the host name"),
            Failure::Unreachable => f.write_str("could not connect"),
            Failure::Certificate => f.write_str(
                "the receiver's TLS certificate was refused (not signed by a trusted authority, \
                 self-signed, expired, or issued for another name)",
            ),
            Failure::TimedOut => f.write_str("timed out"),
            Failure::Redirected(s) => write!(f, "answered {s} (redirects are not followed)"),
            Failure::Answered(s) => write!(f, "answered {s}"),
            Failure::Failed => f.write_str("the request failed"),
        }
    }
}

impl Failure {
    /// The receiver's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Redirected(s) | Failure::Answered(s) => Some(*s),
            _ => None,
        }
    }

    /// The coarse reason of a transport error.
    fn of(e: &reqwest::Error) -> Failure {
        let mut source: Option<&(dyn StdError + 'static)> = Some(e);
        while let Some(err) = source {
            match err.downcast_ref::<Unusable>() {
                Some(Unusable::NotAllowed(kind)) => {
                    return Failure::Refused(Refusal::Address(*kind))
                }
                Some(Unusable::Unresolvable(_)) => return Failure::Unresolvable,
                None => source = err.source(),
            }
        }
        if crate::tls::certificate_refused(e) {
            Failure::Certificate
        } else if e.is_timeout() {
            Failure::TimedOut
        } else if e.is_connect() {
            Failure::Unreachable
        } else {
            Failure::Failed
        }
    }
}

/// The webhook client: HTTPS (plain HTTP to development receivers only), 10 s per delivery,
/// guarded as the module says.
pub struct WebhookClient {
    http: reqwest::Client,
    targets: Targets,
}

impl WebhookClient {
    /// A client for `targets`, checking receivers' certificates against `tls` (and never
    /// presenting a client certificate: receivers are the sellers'). Fails only when reqwest
    /// cannot build a client.
    pub fn new(targets: Targets, tls: &crate::tls::Tls) -> Result<WebhookClient, String> {
        let http = tls
            .http_client(None)
            .map_err(|e| format!("the webhook client's TLS: {e}"))?
            .timeout(TIMEOUT)
            .user_agent("oms-webhooks/1")
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Guarded(targets.clone()))
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        Ok(WebhookClient { http, targets })
    }

    /// Where it may post.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// POSTs `body` with `headers` to the stored URL `url`; the receiver's `2xx` status, or
    /// the coarse reason it failed (the detail is logged).
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<u16, Failure> {
        let target = self.targets.check(url).map_err(|r| {
            tracing::warn!(url, "webhook target refused: {r}");
            Failure::Refused(r)
        })?;
        if let (Host::Name(name), "http") = (&target.host, target.url.scheme()) {
            // Named `http://` targets: every address must be a development receiver's. (The
            // connection resolves again; a name that moves meanwhile was the seller's own.)
            let addresses = self.targets.admitted(name).await.map_err(|e| match e {
                Unusable::NotAllowed(kind) => Failure::Refused(Refusal::Address(kind)),
                Unusable::Unresolvable(_) => Failure::Unresolvable,
            })?;
            self.targets
                .plain_http_allowed(&addresses)
                .map_err(Failure::Refused)?;
        }
        let mut request = self.http.post(target.url).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.map_err(|e| {
            tracing::warn!(url, "webhook attempt failed: {}", crate::tls::explain(&e));
            Failure::of(&e)
        })?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else if status.is_redirection() {
            Err(Failure::Redirected(status.as_u16()))
        } else {
            Err(Failure::Answered(status.as_u16()))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A fixed table of names.
    struct Table(HashMap<&'static str, Vec<IpAddr>>);

    impl Lookup for Table {
        fn lookup(&self, host: &str) -> LookupFuture {
            let found = self.0.get(host).cloned();
            Box::pin(async move {
                found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown"))
            })
        }
    }

    fn targets(allow: &str) -> Targets {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let table = HashMap::from([
            ("public.example.com", vec![ip("93.184.216.34")]),
            ("private.example.com", vec![ip("10.0.0.5")]),
            ("metadata.example.com", vec![ip("169.254.169.254")]),
            (
                "mixed.example.com",
                vec![ip("10.0.0.5"), ip("127.0.0.1"), ip("93.184.216.34")],
            ),
            ("loopback.example.com", vec![ip("127.0.0.1"), ip("::1")]),
            ("empty.example.com", vec![]),
        ]);
        Targets::new(allow.parse().unwrap(), Arc::new(Table(table)))
    }

    #[tokio::test]
    async fn only_allowed_addresses_are_admitted() {
        let t = targets("");
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            t.admitted("public.example.com").await.unwrap(),
            vec![ip("93.184.216.34")]
        );
        assert_eq!(
            t.admitted("mixed.example.com").await.unwrap(),
            vec![ip("93.184.216.34")],
            "the refused addresses are dropped"
        );
        assert!(matches!(
            t.admitted("private.example.com").await,
            Err(Unusable::NotAllowed(Blocked::Private))
        ));
        assert!(matches!(
            t.admitted("loopback.example.com").await,
            Err(Unusable::NotAllowed(Blocked::Loopback))
        ));
        assert!(matches!(
            t.admitted("nowhere.example.com").await,
            Err(Unusable::Unresolvable(_))
        ));
        assert!(matches!(
            t.admitted("empty.example.com").await,
            Err(Unusable::Unresolvable(_))
        ));
        let open = targets("127.0.0.0/8");
        assert_eq!(
            open.admitted("mixed.example.com").await.unwrap(),
            vec![ip("127.0.0.1"), ip("93.184.216.34")]
        );
        assert_eq!(
            open.admitted("loopback.example.com").await.unwrap(),
            vec![ip("127.0.0.1")]
        );
    }

    #[tokio::test]
    async fn registration_refuses_names_that_resolve_only_to_refused_addresses() {
        let t = targets("");
        assert_eq!(
            t.vet("https://private.example.com/x")
                .await
                .map(|u| u.to_string()),
            Err(Refusal::Address(Blocked::Private))
        );
        assert_eq!(
            t.vet("https://metadata.example.com/x")
                .await
                .map(|u| u.to_string()),
            Err(Refusal::Address(Blocked::LinkLocal))
        );
        // Plain http:// only to the allow-list's networks, whatever the name resolves to.
        for plain in ["http://public.example.com/x", "http://mixed.example.com/x"] {
            assert_eq!(
                t.vet(plain).await.map(|u| u.to_string()),
                Err(Refusal::PlainHttp)
            );
        }
        assert_eq!(
            t.vet("http://93.184.216.34/x").await.map(|u| u.to_string()),
            Err(Refusal::PlainHttp)
        );
        let development = targets("127.0.0.0/8");
        assert_eq!(
            development
                .vet("http://loopback.example.com/x")
                .await
                .map(|u| u.to_string()),
            Ok("http://loopback.example.com/x".to_owned())
        );
        for accepted in [
            "https://public.example.com/x",
            "https://mixed.example.com/x",
            "https://not-yet.example.com/x",
        ] {
            assert_eq!(
                t.vet(accepted).await.map(|u| u.to_string()),
                Ok(accepted.to_owned())
            );
        }
        assert_eq!(
            t.vet("http://127.0.0.1/x").await.map(|u| u.to_string()),
            Err(Refusal::Address(Blocked::Loopback))
        );
    }

    #[test]
    fn failures_read_coarsely() {
        assert_eq!(
            Failure::Refused(Refusal::Address(Blocked::Private)).to_string(),
            "address not allowed: private network"
        );
        assert_eq!(
            Failure::Redirected(302).to_string(),
            "answered 302 (redirects are not followed)"
        );
        assert_eq!(Failure::Answered(500).to_string(), "answered 500");
        assert_eq!(Failure::Answered(500).status(), Some(500));
        assert_eq!(Failure::Unreachable.status(), None);
    }
}
