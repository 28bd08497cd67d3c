//! Who acts: a user in a role, over a jurisdiction (a region-code prefix).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, ErrorKind};
use crate::macros::vocab;
use crate::region::RegionCode;

vocab! {
    /// The roles of the monitoring work, from the grid to the district bureau, plus the two
    /// read-only roles of inspection.
    pub enum Role {
        /// 网格员 — front line: registration, visits, screening, first-round alert feedback.
        GridWorker = "GRID_WORKER" => "网格员",
        /// 村书记 — first responsible person of a village: democratic review, public notice.
        VillageSecretary = "VILLAGE_SECRETARY" => "村书记",
        /// 包建干部 — cadres assigned to households, villages or areas: even-month visits.
        Cadre = "CADRE" => "包建干部",
        /// 镇街道 — township review, second-round alert study.
        TownshipOfficer = "TOWNSHIP_OFFICER" => "镇街道",
        /// 区乡村振兴局 — county approval, data comparison, policy configuration.
        CountyOfficer = "COUNTY_OFFICER" => "区乡村振兴局",
        /// 督导检查 — superior inspection; reads, never writes to a case.
        Auditor = "AUDITOR" => "督导检查",
        /// 第三方 — third-party spot checker; reads a sample, never writes to a case.
        SpotChecker = "SPOT_CHECKER" => "第三方评估",
    }
}

impl Role {
    /// Inspection roles record findings elsewhere but never issue case commands.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Self::Auditor | Self::SpotChecker)
    }
}

/// The user behind a command, as the authenticated token says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
    pub jurisdiction: RegionCode,
}

impl Actor {
    pub fn new(user_id: Uuid, role: Role, jurisdiction: RegionCode) -> Self {
        Self {
            user_id,
            role,
            jurisdiction,
        }
    }

    /// True when `region` lies inside the actor's jurisdiction (the jurisdiction is a prefix).
    pub fn covers(&self, region: &RegionCode) -> bool {
        region.is_within(&self.jurisdiction)
    }
}

/// The actor may not do this: wrong role, or outside their jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("a {} ({role}) may not {action}", role.label_zh())]
    RoleNotAllowed { role: Role, action: &'static str },
    #[error("{region} is outside the jurisdiction {jurisdiction} (超出辖区)")]
    OutsideJurisdiction {
        region: RegionCode,
        jurisdiction: RegionCode,
    },
}

impl DomainError for AccessError {
    fn code(&self) -> &'static str {
        match self {
            Self::RoleNotAllowed { .. } => "ROLE_NOT_ALLOWED",
            Self::OutsideJurisdiction { .. } => "FORBIDDEN_JURISDICTION",
        }
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Forbidden
    }
}

/// Checks the role first (the more useful message), then the jurisdiction.
pub fn authorise(
    actor: &Actor,
    action: &'static str,
    allowed: &[Role],
    region: &RegionCode,
) -> Result<(), AccessError> {
    if !allowed.contains(&actor.role) {
        return Err(AccessError::RoleNotAllowed {
            role: actor.role,
            action,
        });
    }
    if !actor.covers(region) {
        return Err(AccessError::OutsideJurisdiction {
            region: region.clone(),
            jurisdiction: actor.jurisdiction.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, jurisdiction: &str) -> Actor {
        Actor::new(Uuid::nil(), role, RegionCode::parse(jurisdiction).unwrap())
    }

    #[test]
    fn a_township_officer_covers_villages_of_the_township_only() {
        let officer = actor(Role::TownshipOfficer, "370305101");
        assert!(officer.covers(&RegionCode::parse("370305101201").unwrap()));
        assert!(!officer.covers(&RegionCode::parse("370305102201").unwrap()));
        assert!(!officer.covers(&RegionCode::parse("370305").unwrap()));
    }

    #[test]
    fn the_role_is_checked_before_the_jurisdiction() {
        let auditor = actor(Role::Auditor, "370305102");
        let village = RegionCode::parse("370305101201").unwrap();
        let err = authorise(&auditor, "record a visit", &[Role::GridWorker], &village).unwrap_err();
        assert_eq!(err.code(), "ROLE_NOT_ALLOWED");
        assert_eq!(err.kind(), ErrorKind::Forbidden);
    }
}
