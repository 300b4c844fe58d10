//! Bearer tokens: signed JWTs (HS256) naming a role and, for customers and sellers, the id
//! they act as. `oms token` issues them; every request's token becomes an [`Actor`].

use chrono::{Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::actor::{Actor, Role};

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
}

/// Why a token was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Signature, expiry or format wrong.
    #[error("the bearer token is invalid or expired")]
    InvalidToken,
    /// A customer or seller token whose subject is not a numeric id.
    #[error("a {role:?} token needs a numeric subject (the {role:?} id), got `{subject}`")]
    BadSubject {
        /// The role.
        role: Role,
        /// The subject given.
        subject: String,
    },
    /// SYSTEM tokens are never issued: the SYSTEM acts only inside the server.
    #[error("SYSTEM tokens cannot be issued")]
    SystemRole,
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
        let now = Utc::now();
        let claims = TokenClaims {
            sub: subject.to_owned(),
            role,
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Checks a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let data = decode::<TokenClaims>(token, &self.decoding, &Validation::new(Algorithm::HS256))
            .map_err(|_| AuthError::InvalidToken)?;
        actor_for(data.claims.role, &data.claims.sub)
    }
}

fn actor_for(role: Role, subject: &str) -> Result<Actor, AuthError> {
    let id = || {
        subject.parse::<i64>().map_err(|_| AuthError::BadSubject {
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
    }
}
