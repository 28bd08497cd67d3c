//! Spot checks (third-party evaluation): which households a spot-checker may see.

use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::schema::ApiContext;

/// Whether the household is in a sample granted to this spot-checker.
pub async fn in_granted_sample(_api: &ApiContext, _caller: &Caller, _household: Uuid) -> Result<bool, ApiError> {
    // Samples are granted in the spot-check module; until one is granted, nothing is visible.
    Ok(false)
}
