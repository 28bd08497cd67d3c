//! The personal-data access log (`audit.pii_access`): every unmasked read of an ID or phone
//! number, written before the value leaves the server. Append-only, like the event log.

use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

/// One unmasked read: who (user, role, jurisdiction), whose (household, member), what (field)
/// and through which channel (purpose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiAccess<'a> {
    pub user_id: Uuid,
    pub role: &'a str,
    pub jurisdiction: &'a str,
    pub household_id: Uuid,
    pub member_id: Option<Uuid>,
    pub field: &'a str,
    pub purpose: &'a str,
}

/// Records one read; the caller returns the value only once this succeeded.
pub async fn record_pii_access(pool: &PgPool, access: &PiiAccess<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "insert into audit.pii_access
           (user_id, role, jurisdiction, household_id, member_id, field, purpose)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(access.user_id)
    .bind(access.role)
    .bind(access.jurisdiction)
    .bind(access.household_id)
    .bind(access.member_id)
    .bind(access.field)
    .bind(access.purpose)
    .execute(pool)
    .await?;
    Ok(())
}
