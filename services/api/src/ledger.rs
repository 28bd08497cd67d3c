//! Ledgers and their integrity: heads, verification, anchors. For auditors and the county.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use dixian_domain::Role;
use dixian_store::{VerifyReport, read, verify};

use crate::error::ApiError;
use crate::schema::{api, caller};

/// Who may look at ledgers as a whole.
const LEDGER_READERS: &[Role] = &[Role::Auditor, Role::CountyOfficer];

/// 账本 — one county's totally ordered, hash-chained event log.
#[derive(SimpleObject)]
pub struct Ledger {
    /// The county's 6-digit code, which is the ledger's id.
    pub ledger: String,
    pub county_code: String,
    /// Position of the last event.
    pub last_seq: i64,
    /// Hex SHA-256 of the last event's chain link.
    pub head_hash: String,
    pub last_recorded_at: Option<DateTime<Utc>>,
}

/// What verification found.
#[derive(SimpleObject)]
pub struct Verification {
    pub ledger: String,
    pub ok: bool,
    pub checked: i64,
    pub head_seq: i64,
    pub head_hash: String,
    pub problem: Option<IntegrityProblem>,
}

#[derive(SimpleObject)]
pub struct IntegrityProblem {
    /// The first bad position.
    pub seq: i64,
    /// MISSING_EVENT, CONTENT_MISMATCH, BROKEN_LINK, HEAD_MISMATCH, STREAM_VERSION_GAP or
    /// ANCHOR_MISMATCH.
    pub damage: String,
    pub detail: String,
}

impl From<VerifyReport> for Verification {
    fn from(r: VerifyReport) -> Self {
        Self {
            ok: r.ok(),
            ledger: r.ledger,
            checked: r.checked,
            head_seq: r.head_seq,
            head_hash: r.head_hash,
            problem: r.problem.map(|p| IntegrityProblem {
                seq: p.seq,
                damage: serde_json::to_value(p.damage)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                detail: p.detail,
            }),
        }
    }
}

/// 锚点 — a ledger head record kept outside the database.
#[derive(SimpleObject)]
pub struct Anchor {
    pub ledger: String,
    pub seq: i64,
    pub head_hash: String,
    pub anchored_at: DateTime<Utc>,
    /// Hex HMAC-SHA256 when the server has an anchor key.
    pub signature: Option<String>,
    pub key_id: Option<String>,
}

impl From<verify::Anchor> for Anchor {
    fn from(a: verify::Anchor) -> Self {
        Self {
            ledger: a.ledger,
            seq: a.seq,
            head_hash: a.head_hash,
            anchored_at: a.anchored_at,
            signature: a.signature,
            key_id: a.key_id,
        }
    }
}

#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// The ledgers in the caller's jurisdiction.
    async fn ledgers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Ledger>> {
        let caller = caller(ctx)?;
        caller.require_role(LEDGER_READERS, "read ledgers")?;
        let mut conn = api(ctx).pool.acquire().await.map_err(ApiError::from)?;
        let heads = read::ledger_heads(&mut conn)
            .await
            .map_err(ApiError::from)?;
        Ok(heads
            .into_iter()
            .filter(|h| caller.covers(&h.county_code))
            .map(|h| Ledger {
                ledger: h.ledger,
                county_code: h.county_code,
                last_seq: h.last_seq,
                head_hash: hex::encode(h.head_hash),
                last_recorded_at: h.last_recorded_at,
            })
            .collect())
    }

    /// Recomputes a ledger's hash chain and reports the first bad position, if any. With an
    /// anchor (`anchorSeq`, `anchorHash`) kept by an auditor, also checks the history up to
    /// that anchor was not rewritten.
    async fn verify_ledger(
        &self,
        ctx: &Context<'_>,
        ledger: String,
        anchor_seq: Option<i64>,
        anchor_hash: Option<String>,
    ) -> async_graphql::Result<Verification> {
        let caller = caller(ctx)?;
        caller.require_role(LEDGER_READERS, "verify ledgers")?;
        caller.require_covers(&ledger)?;
        let mut conn = api(ctx).pool.acquire().await.map_err(ApiError::from)?;
        let report = match (anchor_seq, anchor_hash) {
            (Some(seq), Some(hash)) => verify::check_anchor(&mut conn, &ledger, seq, &hash).await,
            (None, None) => verify::verify_ledger(&mut conn, &ledger).await,
            _ => {
                return Err(ApiError::bad_input(
                    "anchorHash",
                    "give both anchorSeq and anchorHash, or neither",
                )
                .into());
            }
        }
        .map_err(ApiError::from)?;
        Ok(report.into())
    }

    /// The anchors recorded for a ledger.
    async fn anchors(
        &self,
        ctx: &Context<'_>,
        ledger: String,
    ) -> async_graphql::Result<Vec<Anchor>> {
        let caller = caller(ctx)?;
        caller.require_role(LEDGER_READERS, "read anchors")?;
        caller.require_covers(&ledger)?;
        let mut conn = api(ctx).pool.acquire().await.map_err(ApiError::from)?;
        let anchors = verify::list_anchors(&mut conn, &ledger)
            .await
            .map_err(ApiError::from)?;
        Ok(anchors.into_iter().map(Anchor::from).collect())
    }
}

#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Records the ledger's current head as an anchor (signed when the server has a key), to
    /// be printed in a report or handed to an auditor.
    async fn take_anchor(
        &self,
        ctx: &Context<'_>,
        ledger: String,
    ) -> async_graphql::Result<Anchor> {
        let caller = caller(ctx)?;
        caller.require_role(LEDGER_READERS, "take anchors")?;
        caller.require_covers(&ledger)?;
        let ctxd = api(ctx);
        let mut conn = ctxd.pool.acquire().await.map_err(ApiError::from)?;
        let anchor = verify::take_anchor(&mut conn, &ledger, ctxd.anchor_key.as_ref())
            .await
            .map_err(ApiError::from)?;
        Ok(anchor.into())
    }
}
