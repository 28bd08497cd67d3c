//! A stream's identity and home ledger.

use dixian_domain::{RegionCode, StreamId};
use dixian_store::LedgerId;

use crate::CommandError;

/// A stream and the ledger it lives in (fixed at its first append, for life).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRef {
    pub id: StreamId,
    pub ledger: LedgerId,
}

impl StreamRef {
    /// A stream in a county's ledger (households, alerts, regions).
    pub fn in_county(id: StreamId, county: &str) -> Result<Self, CommandError> {
        Ok(Self {
            id,
            ledger: ledger(county)?,
        })
    }

    /// A user lives in the ledger of their jurisdiction's county, or of their province when the
    /// jurisdiction is wider than a county.
    pub fn user(id: uuid::Uuid, jurisdiction: &RegionCode) -> Result<Self, CommandError> {
        let home = jurisdiction
            .county()
            .unwrap_or_else(|| format!("{}0000", jurisdiction.province()));
        Self::in_county(StreamId::User(id), &home)
    }

    /// A province's policy lives in the province's own ledger, `<2 digits>0000`.
    pub fn policy(province: &str) -> Result<Self, CommandError> {
        Self::in_county(
            StreamId::Policy(province.to_owned()),
            &format!("{province}0000"),
        )
    }

    /// The province whose policy governs the stream: its ledger is a county (or a province's
    /// own `<2 digits>0000`), so the region code's province.
    pub fn province(&self) -> String {
        province_of_ledger(&self.ledger)
    }

    /// The stream id as the log stores it.
    pub fn text(&self) -> String {
        self.id.to_string()
    }
}

fn ledger(code: &str) -> Result<LedgerId, CommandError> {
    LedgerId::parse(code).map_err(|_| CommandError::BadInput {
        field: "region".into(),
        message: format!("{code} is not a county code"),
    })
}

/// The county (ledger) of a region code, for streams that live in a county's ledger.
pub fn county_of(region: &RegionCode) -> Result<String, CommandError> {
    region.county().ok_or_else(|| CommandError::BadInput {
        field: "village".into(),
        message: "a county-level or lower region code is needed".into(),
    })
}

/// The province of a ledger (a county code, or a province's own `<2 digits>0000`).
pub fn province_of_ledger(ledger: &LedgerId) -> String {
    RegionCode::parse(ledger.as_str())
        .map(|r| r.province().to_owned())
        .unwrap_or_default()
}
