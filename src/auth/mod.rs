//! Bearer tokens, checked in one place ([`TokenKeys::authenticate`], for HTTP requests and
//! WebSocket `connection_init` alike): JWTs signed with `--jwt-secret` (HS256, issued by
//! `oms token`) naming a role and, for customers and sellers, the id they act as; and, with
//! `--oidc-issuer`, the marketplace's identity provider's tokens ([`oidc`], keys from its
//! JWKS in [`jwks`]) whose subject an operator links to a customer or a seller. Every
//! request's token becomes an [`Actor`].
//!
//! A token is accepted only between its `nbf` (when present) and its `exp`, and only when its
//! `exp` lies at most [`MAX_TOKEN_LIFETIME`] ahead: a token minted to last forever (`exp` =
//! i64::MAX) is refused, so a leaked one stops working.

pub mod jwks;
pub mod oidc;

use std::sync::Arc;

use chrono::{Duration, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

use crate::config::{AuthArgs, DEV_JWT_SECRET};
use crate::db::Db;
use crate::domain::actor::{Actor, Role};
use crate::tls::Tls;
use oidc::OidcVerifier;

/// The longest a token may stay valid: `exp` at most this far after now (and after `iat`).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::days(90);

/// Seconds of clock difference tolerated on `exp`, `nbf` and `iat` between the issuer and us.
pub(crate) const LEEWAY_SECS: i64 = 60;

/// The claims inside a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The subject: a customer id, a seller id, or a free-form staff name.
    pub sub: String,
    /// The role.
    pub role: Role,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Not before, seconds since the epoch (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Why a token was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Signature, expiry or format wrong.
    #[error("the bearer token {0}")]
    InvalidToken(&'static str),
    /// A customer or seller token whose subject is not a numeric id.
    #[error(
        "a {role:?} token needs a positive numeric subject (the {role:?} id), got `{subject}`"
    )]
    BadSubject {
        /// The role.
        role: Role,
        /// The subject given.
        subject: String,
    },
    /// SYSTEM tokens are never issued: the SYSTEM acts only inside the server.
    #[error("SYSTEM tokens cannot be issued")]
    SystemRole,
    /// A lifetime longer than [`MAX_TOKEN_LIFETIME`] asked of `issue`.
    #[error("a token may be valid for at most {} days", MAX_TOKEN_LIFETIME.num_days())]
    LifetimeTooLong,
    /// Signing failed.
    #[error("could not sign the token: {0}")]
    Signing(String),
    /// An HS256 token where only the identity provider's are accepted.
    #[error(
        "the bearer token is signed with the shared secret (HS256), which this server does not \
         accept: sign in with the identity provider (the server accepts both with \
         --oidc-allow-hs256)"
    )]
    SharedSecretRefused,
    /// The provider's token names a key it does not publish (or no longer does).
    #[error(
        "the bearer token is signed with key `{0}`, which the identity provider does not publish: \
         sign in again for a fresh token"
    )]
    UnknownKey(String),
    /// The provider's keys could not be fetched (and none are cached).
    #[error(
        "the bearer token cannot be checked now: the identity provider's keys could not be \
         fetched ({0}); try again shortly"
    )]
    KeysUnavailable(String),
    /// The provider's token has no subject this server can use.
    #[error(
        "the bearer token has no usable subject in its `{0}` claim (a non-empty text of at most \
         255 characters; --oidc-subject-claim)"
    )]
    NoSubject(String),
    /// The provider's token has no role this server maps.
    #[error(
        "the bearer token's `{0}` claim holds no role this server maps (--oidc-role-claim, \
         --oidc-role-map): ask for one of CUSTOMER, SELLER, OPERATOR or ANALYST at the \
         identity provider"
    )]
    NoRole(String),
    /// A customer or seller identity no account is linked to.
    #[error(
        "no {role} is linked to the identity `{subject}`: an operator must link it \
         (linkExternalIdentity)"
    )]
    Unlinked {
        /// The role the token maps to.
        role: RoleName,
        /// The subject.
        subject: String,
    },
    /// The database could not be asked who the identity is (logged; not the caller's fault).
    #[error("the bearer token cannot be checked now; try again shortly")]
    Unavailable,
}

/// A role's name in messages (`customer`, `seller`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleName(pub Role);

impl std::fmt::Display for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::domain::claim::role_code(self.0).to_lowercase())
    }
}

impl AuthError {
    /// True when the refusal is the server's fault rather than the token's (answered 500,
    /// not 401).
    pub fn is_internal(&self) -> bool {
        matches!(self, AuthError::Unavailable)
    }
}

/// What bearer tokens are checked with: the shared secret (HS256) and, with `--oidc-issuer`,
/// the identity provider's published keys. The one place a token becomes an [`Actor`].
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The identity provider, when configured.
    oidc: Option<Arc<OidcVerifier>>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys for an HMAC secret.
    pub fn new(secret: &str) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            oidc: None,
        }
    }

    /// The keys of the flags: the secret, and the identity provider of `--oidc-issuer` (its
    /// keys fetched through `tls`). Refuses `--oidc-allow-hs256` with the published
    /// development secret: anyone could forge an OPERATOR token beside the provider's.
    pub fn from_args(args: &AuthArgs, tls: &Tls) -> Result<TokenKeys, String> {
        let keys = TokenKeys::new(&args.jwt_secret);
        let Some(config) = args.oidc.config()? else {
            return Ok(keys);
        };
        if config.allow_hs256 && args.jwt_secret == DEV_JWT_SECRET {
            return Err(
                "--oidc-allow-hs256 with the published development --jwt-secret: anyone could \
                 forge tokens. Set --jwt-secret (OMS_JWT_SECRET; `oms secret` makes one) or drop \
                 --oidc-allow-hs256"
                    .into(),
            );
        }
        Ok(keys.with_oidc(OidcVerifier::new(config, tls)?))
    }

    /// These keys, also accepting the identity provider's tokens (and HS256 ones only when
    /// its settings allow them).
    pub fn with_oidc(self, verifier: Arc<OidcVerifier>) -> Self {
        TokenKeys {
            oidc: Some(verifier),
            ..self
        }
    }

    /// The identity provider's verifier, when configured.
    pub fn oidc(&self) -> Option<&Arc<OidcVerifier>> {
        self.oidc.as_ref()
    }

    /// Who `token` speaks for: an HS256 token by [`TokenKeys::verify`] (refused beside an
    /// identity provider unless `--oidc-allow-hs256`), the provider's by its signature and
    /// claims and the account linked to its subject (`db`; a customer created on first sight
    /// with `--oidc-create-customers`).
    pub async fn authenticate(&self, db: &Db, token: &str) -> Result<Actor, AuthError> {
        let Some(oidc) = &self.oidc else {
            return self.verify(token);
        };
        let shared_secret = decode_header(token).is_ok_and(|h| {
            matches!(
                h.alg,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            )
        });
        if shared_secret {
            return if oidc.config().allow_hs256 {
                self.verify(token)
            } else {
                Err(AuthError::SharedSecretRefused)
            };
        }
        let identity = oidc.verify(token).await?;
        let actor =
            crate::service::identity::actor_for(db, &identity, oidc.config().create_customers)
                .await
                .map_err(|e| {
                    tracing::error!("cannot look up the identity `{}`: {e}", identity.subject);
                    AuthError::Unavailable
                })?;
        actor.ok_or(AuthError::Unlinked {
            role: RoleName(identity.role),
            subject: identity.subject,
        })
    }

    /// Issues a token for `role` and `subject`, valid for `ttl`.
    pub fn issue(&self, role: Role, subject: &str, ttl: Duration) -> Result<String, AuthError> {
        // Refuse what `verify` would refuse, so a bad token is caught when it is made.
        actor_for(role, subject)?;
        if ttl > MAX_TOKEN_LIFETIME {
            return Err(AuthError::LifetimeTooLong);
        }
        let now = Utc::now();
        let claims = TokenClaims {
            sub: subject.to_owned(),
            role,
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            nbf: None,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Checks an HS256 token and returns who it speaks for: its signature, `exp`, `nbf`, and a
    /// lifetime within [`MAX_TOKEN_LIFETIME`]. Requests go through
    /// [`TokenKeys::authenticate`], which decides whether HS256 tokens are accepted at all.
    pub fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = decode::<TokenClaims>(token, &self.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::InvalidToken(match e.kind() {
                ErrorKind::ExpiredSignature => "has expired (exp)",
                ErrorKind::ImmatureSignature => "is not valid yet (nbf)",
                ErrorKind::InvalidSignature => "is not signed with this server's secret",
                ErrorKind::InvalidAlgorithm => "must be signed with HS256",
                ErrorKind::MissingRequiredClaim(_) => "must carry `sub` and `exp`",
                ErrorKind::InvalidAudience => "carries `aud`, which this server does not accept",
                _ => "is not a valid JWT (HS256 with `sub`, `role`, `iat` and `exp`)",
            })
        })?;
        check_lifetime(data.claims.exp, data.claims.iat, Utc::now().timestamp())?;
        actor_for(data.claims.role, &data.claims.sub)
    }
}

/// Refuses a token valid further ahead than [`MAX_TOKEN_LIFETIME`], or issued in the future.
/// Shared by the HS256 and the identity provider's tokens.
pub(crate) fn check_lifetime(exp: i64, iat: i64, now: i64) -> Result<(), AuthError> {
    let longest = MAX_TOKEN_LIFETIME.num_seconds() + LEEWAY_SECS;
    let too_long = exp.saturating_sub(now) > longest || exp.saturating_sub(iat) > longest;
    if too_long {
        return Err(AuthError::InvalidToken(
            "is valid for more than 90 days (exp); issue tokens that expire sooner",
        ));
    }
    if iat > now.saturating_add(LEEWAY_SECS) {
        return Err(AuthError::InvalidToken("was issued in the future (iat)"));
    }
    Ok(())
}

/// Compares a presented secret with the configured one in constant time (both hashed first,
/// so not even the length leaks through timing). An empty presented secret never matches.
pub fn secrets_match(presented: &str, configured: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(configured.as_bytes());
    !presented.is_empty() && bool::from(a.ct_eq(&b))
}

/// A new secret for `--jwt-secret`, `--courier-webhook-secret` and the like: 256 bits from
/// the operating system's random source, base64url without padding (43 characters).
pub fn generate_secret() -> Result<String, String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl TokenKeys {
    /// Signs arbitrary claims (tests of hostile tokens: forged lifetimes, `nbf`).
    #[doc(hidden)]
    pub fn sign_claims(&self, claims: &TokenClaims) -> Result<String, AuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }
}

fn actor_for(role: Role, subject: &str) -> Result<Actor, AuthError> {
    let id = || {
        subject
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| AuthError::BadSubject {
                role,
                subject: subject.to_owned(),
            })
    };
    Ok(match role {
        Role::Customer => Actor::Customer(id()?),
        Role::Seller => Actor::Seller(id()?),
        Role::Operator => Actor::Operator,
        Role::Analyst => Actor::Analyst,
        Role::System => return Err(AuthError::SystemRole),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_other_secrets_fail() {
        let keys = TokenKeys::new("s1");
        let t = keys.issue(Role::Seller, "7", Duration::hours(1)).unwrap();
        assert_eq!(keys.verify(&t).unwrap(), Actor::Seller(7));
        assert!(TokenKeys::new("s2").verify(&t).is_err());
        assert!(keys
            .issue(Role::Customer, "bob", Duration::hours(1))
            .is_err());
        let expired = keys
            .issue(Role::Operator, "ops", Duration::hours(-2))
            .unwrap();
        assert!(keys.verify(&expired).is_err());
        assert!(matches!(
            keys.issue(Role::Operator, "ops", Duration::days(91)),
            Err(AuthError::LifetimeTooLong)
        ));
    }

    #[test]
    fn lifetimes_and_not_before_are_checked() {
        let keys = TokenKeys::new("s1");
        let now = Utc::now().timestamp();
        let token = |iat: i64, exp: i64, nbf: Option<i64>| {
            keys.sign_claims(&TokenClaims {
                sub: "ops".into(),
                role: Role::Operator,
                iat,
                exp,
                nbf,
            })
            .unwrap()
        };
        let day = 86_400;
        // Forever: refused.
        assert!(keys.verify(&token(now, i64::MAX, None)).is_err());
        // 90 days is the limit; 91 past it, however `iat` is set.
        assert!(keys.verify(&token(now, now + 90 * day, None)).is_ok());
        assert!(keys.verify(&token(now, now + 91 * day, None)).is_err());
        assert!(keys
            .verify(&token(now + 30 * day, now + 91 * day, None))
            .is_err());
        // Issued in the future; not yet valid; valid since a minute.
        assert!(keys.verify(&token(now + day, now + 2 * day, None)).is_err());
        assert!(keys
            .verify(&token(now, now + day, Some(now + 3_600)))
            .is_err());
        assert!(keys.verify(&token(now, now + day, Some(now - 60))).is_ok());
    }

    #[test]
    fn secrets_match_only_themselves() {
        assert!(secrets_match("s3cret", "s3cret"));
        assert!(!secrets_match("s3cre", "s3cret"));
        assert!(!secrets_match("", ""));
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
