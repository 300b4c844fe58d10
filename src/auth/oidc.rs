//! Tokens of the marketplace's own identity provider (Keycloak, Auth0, Cognito, any OpenID
//! Connect issuer): RS256, ES256 or EdDSA JWTs signed with the keys it publishes (JWKS, see
//! [`super::jwks`]), naming a role in a claim of the provider's choosing and a subject that an
//! operator links to a customer or a seller (`linkExternalIdentity`).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use reqwest::Url;
use serde_json::Value;

use super::jwks::{self, Jwks};
use super::{check_lifetime, AuthError, LEEWAY_SECS};
use crate::domain::actor::Role;
use crate::domain::claim::role_code;
use crate::service::identity::ExternalIdentity;
use crate::tls::Tls;

/// The flags of sign-in with the marketplace's identity provider.
#[derive(Debug, Clone, Default, Args)]
pub struct OidcArgs {
    /// The identity provider whose tokens are accepted: its issuer URL, exactly as in the
    /// tokens' `iss` (e.g. `https://id.example.com/realms/shop`). https, or http to a loopback
    /// address for development. Unset (the default): only `--jwt-secret` tokens.
    #[arg(long, env = "OMS_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// The audience the provider's tokens must name in `aud` (a string or one of a list):
    /// this server's client id at the provider. Required with `--oidc-issuer`.
    #[arg(long, env = "OMS_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,

    /// Where the provider publishes its signing keys (JWKS). Default: the `jwks_uri` of
    /// `{issuer}/.well-known/openid-configuration` (OpenID discovery).
    #[arg(long, env = "OMS_OIDC_JWKS_URL")]
    pub oidc_jwks_url: Option<String>,

    /// The claim that holds the caller's role: a name, or a dotted path into nested claims
    /// (`realm_access.roles`); a string or a list, whose first value that maps to a role wins.
    #[arg(long, env = "OMS_OIDC_ROLE_CLAIM", default_value = "role")]
    pub oidc_role_claim: String,

    /// How the provider's role names map to this server's roles, as `name=ROLE,...` (e.g.
    /// `oms-operator=OPERATOR,cs=OPERATOR,seller=SELLER,customer=CUSTOMER`); names compare
    /// case-insensitively and SYSTEM can never be mapped. Default: the role names themselves
    /// (`customer`, `seller`, `operator`, `analyst`, any case).
    #[arg(long, env = "OMS_OIDC_ROLE_MAP")]
    pub oidc_role_map: Option<String>,

    /// The claim that holds the caller's stable id at the provider, which operators link to a
    /// customer or a seller (`linkExternalIdentity`).
    #[arg(long, env = "OMS_OIDC_SUBJECT_CLAIM", default_value = "sub")]
    pub oidc_subject_claim: String,

    /// A CUSTOMER token whose subject is linked to no customer creates one on first sight (its
    /// name and email from the `name` and `email` claims when present). Off by default: an
    /// operator links each customer.
    #[arg(long, env = "OMS_OIDC_CREATE_CUSTOMERS")]
    pub oidc_create_customers: bool,

    /// Keep accepting `--jwt-secret` (HS256) tokens beside the provider's (during a move to
    /// the provider, or for `oms token` scripts). Off by default: with `--oidc-issuer` set,
    /// HS256 tokens are refused. The server refuses to start with it while `--jwt-secret` is
    /// the published development default.
    #[arg(long, env = "OMS_OIDC_ALLOW_HS256")]
    pub oidc_allow_hs256: bool,
}

/// A dotted path to a claim: `role`, `realm_access.roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath(String);

impl ClaimPath {
    /// A path; refused when empty or with an empty segment.
    pub fn parse(text: &str) -> Result<ClaimPath, String> {
        if text.is_empty() || text.split('.').any(str::is_empty) {
            return Err(format!(
                "`{text}` is not a claim path: give a claim name or names joined by dots"
            ));
        }
        Ok(ClaimPath(text.to_owned()))
    }

    /// The path as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The claim's value in `claims`: a claim whose name itself has dots (Auth0's namespaced
    /// `https://example.com/roles`), or the path followed through nested claims. When both
    /// exist and differ, neither: which one the provider meant is unclear, and a provider that
    /// lets users set a top-level claim must not let them shadow the nested one.
    pub fn lookup<'a>(&self, claims: &'a Value) -> Option<&'a Value> {
        let literal = claims.get(&self.0);
        let nested = if self.0.contains('.') {
            self.0
                .split('.')
                .try_fold(claims, |value, segment| value.get(segment))
        } else {
            None
        };
        match (literal, nested) {
            (Some(a), Some(b)) if a != b => None,
            (Some(a), _) => Some(a),
            (None, nested) => nested,
        }
    }
}

/// The provider's role names and the roles they map to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMap(Vec<(String, Role)>);

impl Default for RoleMap {
    /// The role names themselves.
    fn default() -> Self {
        RoleMap(
            [Role::Customer, Role::Seller, Role::Operator, Role::Analyst]
                .into_iter()
                .map(|r| (role_code(r).to_ascii_lowercase(), r))
                .collect(),
        )
    }
}

impl RoleMap {
    /// `name=ROLE,name=ROLE`; refused for an entry without `=`, an empty name, a role this
    /// server does not have, SYSTEM, or a name mapped twice.
    pub fn parse(text: &str) -> Result<RoleMap, String> {
        let mut entries: Vec<(String, Role)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((name, role)) = entry.split_once('=') else {
                return Err(format!(
                    "--oidc-role-map: `{entry}` is not `name=ROLE` (e.g. `cs=OPERATOR`)"
                ));
            };
            let (name, role) = (name.trim().to_ascii_lowercase(), role.trim());
            if name.is_empty() {
                return Err(format!(
                    "--oidc-role-map: `{entry}` has no provider role name"
                ));
            }
            let role = match role.to_ascii_uppercase().as_str() {
                "CUSTOMER" => Role::Customer,
                "SELLER" => Role::Seller,
                "OPERATOR" => Role::Operator,
                "ANALYST" => Role::Analyst,
                "SYSTEM" => {
                    return Err(format!(
                        "--oidc-role-map: `{entry}`: SYSTEM can never be mapped (the server alone acts as SYSTEM)"
                    ))
                }
                _ => {
                    return Err(format!(
                        "--oidc-role-map: `{entry}`: `{role}` is not a role (CUSTOMER, SELLER, OPERATOR or ANALYST)"
                    ))
                }
            };
            if entries.iter().any(|(n, _)| *n == name) {
                return Err(format!("--oidc-role-map: `{name}` is mapped twice"));
            }
            entries.push((name, role));
        }
        if entries.is_empty() {
            return Err("--oidc-role-map is empty: give `name=ROLE` entries".into());
        }
        Ok(RoleMap(entries))
    }

    /// The role of the first value of `claim` (a string or a list of strings) that maps.
    pub fn role_of(&self, claim: &Value) -> Option<Role> {
        let one = |v: &Value| {
            let name = v.as_str()?.to_ascii_lowercase();
            self.0.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
        };
        match claim {
            Value::Array(values) => values.iter().find_map(one),
            other => one(other),
        }
    }
}

/// The validated settings of [`OidcArgs`].
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// `iss`, exactly.
    pub issuer: String,
    /// What `aud` must name.
    pub audience: String,
    /// The key set's URL; `None`: discovered.
    pub jwks_url: Option<Url>,
    /// Where the role is.
    pub role_claim: ClaimPath,
    /// Provider role names to roles.
    pub role_map: RoleMap,
    /// Where the subject is.
    pub subject_claim: ClaimPath,
    /// Create customers on first sight.
    pub create_customers: bool,
    /// Accept HS256 tokens too.
    pub allow_hs256: bool,
    /// At most one refetch for unknown `kid`s per this interval.
    pub refetch_interval: Duration,
}

impl OidcArgs {
    /// The settings, or `None` without `--oidc-issuer`; refused when they do not fit
    /// together (each message names the flag).
    pub fn config(&self) -> Result<Option<OidcConfig>, String> {
        let Some(issuer) = self.oidc_issuer.as_deref().filter(|i| !i.is_empty()) else {
            let stray = [
                ("--oidc-audience", self.oidc_audience.is_some()),
                ("--oidc-jwks-url", self.oidc_jwks_url.is_some()),
                ("--oidc-role-map", self.oidc_role_map.is_some()),
                ("--oidc-create-customers", self.oidc_create_customers),
                ("--oidc-allow-hs256", self.oidc_allow_hs256),
            ]
            .into_iter()
            .filter_map(|(flag, set)| set.then_some(flag))
            .collect::<Vec<_>>();
            if !stray.is_empty() {
                return Err(format!(
                    "{} need --oidc-issuer (OMS_OIDC_ISSUER)",
                    stray.join(", ")
                ));
            }
            return Ok(None);
        };
        jwks::fetch_url(issuer).map_err(|e| format!("--oidc-issuer: {e}"))?;
        let audience = self
            .oidc_audience
            .clone()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                "--oidc-issuer needs --oidc-audience (OMS_OIDC_AUDIENCE): the client id the provider's tokens name in `aud`".to_owned()
            })?;
        let jwks_url = self
            .oidc_jwks_url
            .as_deref()
            .map(jwks::fetch_url)
            .transpose()
            .map_err(|e| format!("--oidc-jwks-url: {e}"))?;
        Ok(Some(OidcConfig {
            issuer: issuer.to_owned(),
            audience,
            jwks_url,
            role_claim: ClaimPath::parse(&self.oidc_role_claim)
                .map_err(|e| format!("--oidc-role-claim: {e}"))?,
            role_map: match &self.oidc_role_map {
                Some(text) => RoleMap::parse(text)?,
                None => RoleMap::default(),
            },
            subject_claim: ClaimPath::parse(&self.oidc_subject_claim)
                .map_err(|e| format!("--oidc-subject-claim: {e}"))?,
            create_customers: self.oidc_create_customers,
            allow_hs256: self.oidc_allow_hs256,
            refetch_interval: jwks::REFETCH_INTERVAL,
        }))
    }
}

/// Checks the provider's tokens.
#[derive(Debug)]
pub struct OidcVerifier {
    config: OidcConfig,
    jwks: Jwks,
}

impl OidcVerifier {
    /// A verifier fetching keys through a client built on `tls` (the system's roots and
    /// `--tls-ca-file`), with [`jwks::FETCH_TIMEOUT`] and no redirects.
    pub fn new(config: OidcConfig, tls: &Tls) -> Result<Arc<OidcVerifier>, String> {
        let client = tls
            .http_client(None)
            .map_err(|e| e.to_string())?
            .timeout(jwks::FETCH_TIMEOUT)
            .connect_timeout(jwks::FETCH_TIMEOUT)
            // A redirect could lead to plain http; a provider publishes its keys where it says.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the identity provider's HTTP client: {e}"))?;
        let jwks = Jwks::new(
            client,
            &config.issuer,
            config.jwks_url.clone(),
            config.refetch_interval,
        );
        Ok(Arc::new(OidcVerifier { config, jwks }))
    }

    /// The settings.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// How many times the provider's keys were fetched (discovery and set count as one).
    pub fn key_fetches(&self) -> u64 {
        self.jwks.fetches()
    }

    /// Checks `token`: a signature by a published key of the algorithm that key has (RS256,
    /// ES256 or EdDSA), `iss`, `aud`, `exp`, `nbf`, `iat` and the lifetime as for HS256
    /// tokens; then reads the subject and the role.
    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity, AuthError> {
        let header = decode_header(token).map_err(|_| {
            AuthError::InvalidToken(
                "is not a JWT of the identity provider (a header with `alg` RS256, ES256 or EdDSA, and `kid`)",
            )
        })?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
        ) {
            return Err(AuthError::InvalidToken(
                "must be signed with RS256, ES256 or EdDSA by the identity provider",
            ));
        }
        let kid = header.kid.as_deref().ok_or(AuthError::InvalidToken(
            "names no signing key (`kid` in its header)",
        ))?;
        let key = self.jwks.key(kid).await?;
        if key.alg != header.alg {
            return Err(AuthError::InvalidToken(
                "names an algorithm (`alg`) that its signing key (`kid`) is not for",
            ));
        }
        let mut validation = Validation::new(key.alg);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = decode::<Value>(token, &key.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::InvalidToken(match e.kind() {
                ErrorKind::ExpiredSignature => "has expired (exp)",
                ErrorKind::ImmatureSignature => "is not valid yet (nbf)",
                ErrorKind::InvalidSignature => "is not signed by the identity provider's key",
                ErrorKind::InvalidIssuer => {
                    "was issued by another issuer (`iss`) than this server's identity provider"
                }
                ErrorKind::InvalidAudience => {
                    "is meant for another audience (`aud`) than this server"
                }
                ErrorKind::InvalidAlgorithm => {
                    "names an algorithm (`alg`) that its signing key (`kid`) is not for"
                }
                ErrorKind::MissingRequiredClaim(_) => "must carry `iss`, `aud` and `exp`",
                _ => "is not a valid JWT of the identity provider",
            })
        })?;
        let claims = data.claims;
        let timestamp = |name: &str| claims.get(name).and_then(Value::as_i64);
        let exp = timestamp("exp").ok_or(AuthError::InvalidToken("must carry a numeric `exp`"))?;
        let now = chrono::Utc::now().timestamp();
        // A token without `iat` is judged by its `exp` alone.
        check_lifetime(exp, timestamp("iat").unwrap_or(now), now)?;
        self.identity(&claims)
    }

    /// The subject, role, name and email of verified claims.
    pub fn identity(&self, claims: &Value) -> Result<ExternalIdentity, AuthError> {
        let subject = match self.config.subject_claim.lookup(claims) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(AuthError::NoSubject(
                    self.config.subject_claim.as_str().to_owned(),
                ))
            }
        };
        // The same limit as `linkExternalIdentity`'s: a subject no account can be linked to
        // is no usable subject.
        if subject.is_empty() || crate::domain::text::EXTERNAL_ID.check(&subject).is_err() {
            return Err(AuthError::NoSubject(
                self.config.subject_claim.as_str().to_owned(),
            ));
        }
        let role = self
            .config
            .role_claim
            .lookup(claims)
            .and_then(|claim| self.config.role_map.role_of(claim))
            .ok_or_else(|| AuthError::NoRole(self.config.role_claim.as_str().to_owned()))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(ExternalIdentity {
            role,
            subject,
            name: text("name"),
            email: text("email"),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claim_paths_follow_nested_objects_and_dotted_names() {
        let claims = json!({
            "role": "seller",
            "realm_access": {"roles": ["offline_access", "cs"]},
            "https://shop.example.com/roles": ["operator"],
        });
        let path = |p: &str| ClaimPath::parse(p).unwrap();
        assert_eq!(path("role").lookup(&claims), Some(&json!("seller")));
        assert_eq!(
            path("realm_access.roles").lookup(&claims),
            Some(&json!(["offline_access", "cs"]))
        );
        assert_eq!(
            path("https://shop.example.com/roles").lookup(&claims),
            Some(&json!(["operator"]))
        );
        // A top-level claim named like the nested path, with another value: neither.
        let shadowed = json!({
            "realm_access": {"roles": ["customer"]},
            "realm_access.roles": ["oms-operator"],
        });
        assert_eq!(path("realm_access.roles").lookup(&shadowed), None);
        assert_eq!(path("realm_access.groups").lookup(&claims), None);
        assert_eq!(path("role.name").lookup(&claims), None);
        assert!(ClaimPath::parse("").is_err());
        assert!(ClaimPath::parse("realm_access..roles").is_err());
    }

    #[test]
    fn roles_map_by_name_first_match_wins_and_system_never() {
        let default = RoleMap::default();
        assert_eq!(default.role_of(&json!("Operator")), Some(Role::Operator));
        assert_eq!(default.role_of(&json!("CUSTOMER")), Some(Role::Customer));
        assert_eq!(default.role_of(&json!("system")), None);
        assert_eq!(default.role_of(&json!(7)), None);
        let map = RoleMap::parse("oms-operator=OPERATOR, cs=operator,seller=SELLER").unwrap();
        assert_eq!(
            map.role_of(&json!(["offline_access", "CS", "seller"])),
            Some(Role::Operator)
        );
        assert_eq!(map.role_of(&json!(["seller", "cs"])), Some(Role::Seller));
        // Only the map applies once given: the role's own name no longer maps.
        assert_eq!(map.role_of(&json!("analyst")), None);
        assert_eq!(map.role_of(&json!([])), None);
        assert!(RoleMap::parse("root=SYSTEM")
            .unwrap_err()
            .contains("SYSTEM"));
        assert!(RoleMap::parse("cs=STAFF").is_err());
        assert!(RoleMap::parse("cs").is_err());
        assert!(RoleMap::parse("=OPERATOR").is_err());
        assert!(RoleMap::parse("cs=OPERATOR,CS=SELLER").is_err());
        assert!(RoleMap::parse(" , ").is_err());
    }

    #[test]
    fn flags_that_do_not_fit_together_are_refused() {
        let args = OidcArgs {
            oidc_role_claim: "role".into(),
            oidc_subject_claim: "sub".into(),
            ..Default::default()
        };
        assert!(args.config().unwrap().is_none());
        let stray = OidcArgs {
            oidc_audience: Some("oms".into()),
            ..args.clone()
        };
        assert!(stray.config().unwrap_err().contains("--oidc-audience"));
        let no_audience = OidcArgs {
            oidc_issuer: Some("https://id.example.com".into()),
            ..args.clone()
        };
        assert!(no_audience
            .config()
            .unwrap_err()
            .contains("--oidc-audience"));
        let plain_http = OidcArgs {
            oidc_issuer: Some("http://id.example.com".into()),
            oidc_audience: Some("oms".into()),
            ..args.clone()
        };
        assert!(plain_http.config().unwrap_err().contains("https"));
        let good = OidcArgs {
            oidc_issuer: Some("https://id.example.com".into()),
            oidc_audience: Some("oms".into()),
            ..args
        };
        let config = good.config().unwrap().unwrap();
        assert_eq!(config.role_map, RoleMap::default());
        assert!(config.jwks_url.is_none());
    }
}
