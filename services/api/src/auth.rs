//! Who is calling: bearer tokens (JWT, HS256) carrying the user, role and jurisdiction.
//!
//! The server checks every query and mutation against the [`Caller`]'s role and jurisdiction
//! (a region-code prefix). Tokens are short-lived; `dixian token` issues them.

use chrono::{DateTime, Utc};
use dixian_domain::{RegionCode, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    pub role: Role,
    pub jurisdiction: RegionCode,
}

impl Caller {
    /// Whether the caller's jurisdiction covers a region (a prefix test on codes).
    pub fn covers(&self, region: &str) -> bool {
        region.starts_with(self.jurisdiction.as_str())
    }

    /// Refuses unless the caller has one of the roles.
    pub fn require_role(&self, allowed: &[Role], action: &str) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} ({}) may not {action}",
                self.role.label_zh(),
                self.role.code()
            )))
        }
    }

    /// Refuses unless the region is inside the caller's jurisdiction.
    pub fn require_covers(&self, region: &str) -> Result<(), ApiError> {
        if self.covers(region) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "{region} is outside your jurisdiction {}",
                self.jurisdiction.as_str()
            )))
        }
    }

    pub fn store_actor(&self) -> dixian_store::Actor {
        dixian_store::Actor {
            user: self.user_id.to_string(),
            role: self.role.code().to_owned(),
            jurisdiction: self.jurisdiction.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: String,
    jurisdiction: String,
    exp: i64,
    iat: i64,
}

/// Issues and checks tokens with a shared secret.
#[derive(Clone)]
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth { secret: <redacted> }")
    }
}

impl Auth {
    pub fn new(secret: &[u8]) -> Result<Self, ApiError> {
        if secret.len() < 16 {
            return Err(ApiError::bad_input(
                "DIXIAN_JWT_SECRET",
                "the token secret needs at least 16 bytes",
            ));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(ApiError::internal)?,
            decoding: DecodingKey::from_secret(secret).map_err(ApiError::internal)?,
        })
    }

    /// A token for a user, valid until `expires`.
    pub fn issue(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: caller.user_id,
            role: caller.role.code().to_owned(),
            jurisdiction: caller.jurisdiction.as_str().to_owned(),
            exp: expires.timestamp(),
            iat: now.timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// The caller a bearer token stands for.
    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::Unauthenticated)?;
        let role = Role::from_code(&data.claims.role).ok_or(ApiError::Unauthenticated)?;
        let jurisdiction =
            RegionCode::parse(&data.claims.jurisdiction).map_err(|_| ApiError::Unauthenticated)?;
        Ok(Caller {
            user_id: data.claims.sub,
            role,
            jurisdiction,
        })
    }

    /// The caller of an HTTP request, from its `Authorization: Bearer …` header value.
    pub fn from_header(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or(ApiError::Unauthenticated)?;
        self.verify(token.trim())
    }
}
