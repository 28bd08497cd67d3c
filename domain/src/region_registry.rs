//! The region tree of a county (stream `regions-<county>`): the names of its townships
//! (街道/镇), villages and communities, and the grids (网格) inside villages. Codes are the
//! national statistical codes; grids are `<village>-<n>`. Defined by the county bureau.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::{AccessError, Actor, Role, authorise};
use crate::decider::Decider;
use crate::error::{DomainError, ErrorKind, FieldError};
use crate::region::{GridId, RegionCode};

#[derive(Debug, Clone, PartialEq)]
pub enum RegionCommand {
    /// Name a region (township, village) or rename it.
    DefineRegion {
        actor: Actor,
        at: DateTime<Utc>,
        code: RegionCode,
        name: String,
    },
    DefineGrid {
        actor: Actor,
        at: DateTime<Utc>,
        grid: GridId,
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RegionEvent {
    RegionDefined {
        code: RegionCode,
        name: String,
        at: DateTime<Utc>,
    },
    GridDefined {
        grid: GridId,
        name: String,
        at: DateTime<Utc>,
    },
}

impl RegionEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::RegionDefined { .. } => "RegionDefined",
            Self::GridDefined { .. } => "GridDefined",
        }
    }
}

/// Code → name, for regions and grids (grids keyed by their `<village>-<n>` text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionTree {
    pub regions: std::collections::BTreeMap<String, String>,
    pub grids: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionRegistryError {
    #[error("{0}")]
    Access(#[from] AccessError),
    #[error("{0}")]
    Input(#[from] FieldError),
    #[error("the grid's village {0} is not defined")]
    UnknownVillage(String),
}

impl DomainError for RegionRegistryError {
    fn code(&self) -> &'static str {
        match self {
            Self::Access(e) => e.code(),
            Self::Input(e) => e.code(),
            Self::UnknownVillage(_) => "UNKNOWN_VILLAGE",
        }
    }
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(_) => ErrorKind::Forbidden,
            Self::Input(_) => ErrorKind::Input,
            Self::UnknownVillage(_) => ErrorKind::Rule,
        }
    }
    fn field(&self) -> Option<&'static str> {
        match self {
            Self::Input(e) => e.field(),
            _ => None,
        }
    }
}

pub struct RegionRegistry;

impl Decider for RegionRegistry {
    type Command = RegionCommand;
    type Event = RegionEvent;
    type State = RegionTree;
    type Error = RegionRegistryError;

    fn decide(
        cmd: &RegionCommand,
        state: &RegionTree,
    ) -> Result<Vec<RegionEvent>, RegionRegistryError> {
        match cmd {
            RegionCommand::DefineRegion {
                actor,
                at,
                code,
                name,
            } => {
                authorise(actor, "define regions", &[Role::CountyOfficer], code)?;
                if name.trim().is_empty() {
                    return Err(FieldError::required("name").into());
                }
                Ok(vec![RegionEvent::RegionDefined {
                    code: code.clone(),
                    name: name.trim().to_owned(),
                    at: *at,
                }])
            }
            RegionCommand::DefineGrid {
                actor,
                at,
                grid,
                name,
            } => {
                authorise(
                    actor,
                    "define grids",
                    &[Role::CountyOfficer, Role::TownshipOfficer],
                    grid.village(),
                )?;
                if !state.regions.contains_key(grid.village().as_str()) {
                    return Err(RegionRegistryError::UnknownVillage(
                        grid.village().as_str().to_owned(),
                    ));
                }
                Ok(vec![RegionEvent::GridDefined {
                    grid: grid.clone(),
                    name: name.trim().to_owned(),
                    at: *at,
                }])
            }
        }
    }

    fn evolve(mut state: RegionTree, event: &RegionEvent) -> RegionTree {
        match event {
            RegionEvent::RegionDefined { code, name, .. } => {
                state.regions.insert(code.as_str().to_owned(), name.clone());
            }
            RegionEvent::GridDefined { grid, name, .. } => {
                state.grids.insert(grid.to_string(), name.clone());
            }
        }
        state
    }
}
