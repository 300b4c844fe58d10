//! Bearer tokens: signed JWTs (HS256) naming a role and, for customers and sellers, the id
//! they act as. `oms token` issues them; every request's token becomes an [`Actor`].
//!
//! A token is accepted only between its `nbf` (when present) and its `exp`, and only when its
//! `exp` lies at most [`MAX_TOKEN_LIFETIME`] ahead: a token minted to last forever (`exp` =
//! i64::MAX) is refused, so a leaked one stops working.

use chrono::{Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::actor::{Actor, Role};

/// The longest a token may stay valid: `exp` at most this far after now (and after `iat`).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::days(90);

/// Seconds of clock difference tolerated on `exp`, `nbf` and `iat` between the issuer and us.
const LEEWAY_SECS: i64 = 60;

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
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
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
        }
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

    /// Checks a token and returns who it speaks for: its signature, `exp`, `nbf`, and a
    /// lifetime within [`MAX_TOKEN_LIFETIME`].
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
        check_lifetime(&data.claims, Utc::now().timestamp())?;
        actor_for(data.claims.role, &data.claims.sub)
    }
}

/// Refuses a token valid further ahead than [`MAX_TOKEN_LIFETIME`], or issued in the future.
fn check_lifetime(claims: &TokenClaims, now: i64) -> Result<(), AuthError> {
    let longest = MAX_TOKEN_LIFETIME.num_seconds() + LEEWAY_SECS;
    let too_long =
        claims.exp.saturating_sub(now) > longest || claims.exp.saturating_sub(claims.iat) > longest;
    if too_long {
        return Err(AuthError::InvalidToken(
            "is valid for more than 90 days (exp); issue tokens that expire sooner",
        ));
    }
    if claims.iat > now.saturating_add(LEEWAY_SECS) {
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
