//! The region tree of a county (stream `regions-<county>`): the names of its townships
//! (街道/镇), villages and communities, and the grids (网格) inside villages. Codes are the
//! national statistical codes; grids are `<village>-<n>`. Defined by the county bureau.

use chrono::{DateTime, Utc};

use crate::actor::{AccessError, Role, authorise};
use crate::command::{Aggregate, Command, Ctx, Step, commands};
use crate::decider::Decider;
use crate::error::{DomainError, ErrorKind, FieldError};
use crate::macros::events;
use crate::region::{GridId, RegionCode};

commands! {
    /// What the county bureau asks of its region tree.
    pub enum RegionCommand for RegionTree {
        DefineRegion(DefineRegion),
        DefineGrid(DefineGrid),
    }
}

/// Name a region (township, village) or rename it.
#[derive(Debug, Clone, PartialEq)]
pub struct DefineRegion {
    pub code: RegionCode,
    pub name: String,
}

impl Step<RegionTree> for DefineRegion {
    const ACTION: &'static str = "define regions";
    const ROLES: &'static [Role] = &[Role::CountyOfficer];
    fn decide(&self, ctx: &Ctx<RegionTree>) -> Result<RegionEvent, RegionRegistryError> {
        authorise(ctx.by, Self::ACTION, Self::ROLES, &self.code)?;
        FieldError::require_text("name", &self.name)?;
        Ok(RegionEvent::RegionDefined {
            code: self.code.clone(),
            name: self.name.trim().to_owned(),
            at: ctx.at,
        })
    }
}

/// Name a grid (网格) of a defined village.
#[derive(Debug, Clone, PartialEq)]
pub struct DefineGrid {
    pub grid: GridId,
    pub name: String,
}

impl Step<RegionTree> for DefineGrid {
    const ACTION: &'static str = "define grids";
    const ROLES: &'static [Role] = &[Role::CountyOfficer, Role::TownshipOfficer];
    fn decide(&self, ctx: &Ctx<RegionTree>) -> Result<RegionEvent, RegionRegistryError> {
        let village = self.grid.village();
        authorise(ctx.by, Self::ACTION, Self::ROLES, village)?;
        if !ctx.state.regions.contains_key(village.as_str()) {
            return Err(RegionRegistryError::UnknownVillage(
                village.as_str().to_owned(),
            ));
        }
        Ok(RegionEvent::GridDefined {
            grid: self.grid.clone(),
            name: self.name.trim().to_owned(),
            at: ctx.at,
        })
    }
}

events! {
    /// A fact of a county's region tree.
    #[derive(Eq)]
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

impl Aggregate for RegionTree {
    type Event = RegionEvent;
    type Error = RegionRegistryError;
}

impl Decider for RegionRegistry {
    type Command = Command<RegionCommand>;
    type Event = RegionEvent;
    type State = RegionTree;
    type Error = RegionRegistryError;

    fn decide(
        cmd: &Command<RegionCommand>,
        state: &RegionTree,
    ) -> Result<Vec<RegionEvent>, RegionRegistryError> {
        cmd.body.decide(&cmd.ctx(state)).map(|event| vec![event])
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
