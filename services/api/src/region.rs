//! The region tree over GraphQL: townships (街道/镇), villages and grids (网格) of a county,
//! with their names, folded from the county's `regions-<county>` stream. Names are public
//! information, so any signed-in user may read the tree; only the county bureau defines it.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::Utc;
use dixian_commands::stream::county_of;
use dixian_commands::{CommandMeta, StreamRef};
use dixian_domain::region_registry::{
    DefineGrid, DefineRegion, RegionCommand, RegionRegistry, RegionTree,
};
use dixian_domain::{Command, GridId, RegionCode, StreamId};
use dixian_store::StreamRead;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::household::{Position, domain_actor, region};
use crate::schema::{ApiContext, api, caller};

/// A region (or grid) and its name.
#[derive(SimpleObject, Clone)]
pub struct Region {
    pub code: String,
    pub name: String,
    /// PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE or GRID.
    pub level: String,
}

/// The county's region tree.
pub async fn tree(api: &ApiContext, county: &str) -> Result<RegionTree, ApiError> {
    Ok(api
        .exec
        .load::<RegionRegistry>(&StreamId::Regions(county.to_owned()), StreamRead::default())
        .await?
        .state)
}

/// The name of a region code, if defined.
pub async fn name_of(api: &ApiContext, code: &str) -> Result<Option<String>, ApiError> {
    let Some(county) = code.get(..6) else {
        return Ok(None);
    };
    Ok(tree(api, county).await?.regions.get(code).cloned())
}

fn level(code: &str) -> &'static str {
    match code.len() {
        2 => "PROVINCE",
        4 => "CITY",
        6 => "COUNTY",
        9 => "TOWNSHIP",
        12 => "VILLAGE",
        _ => "GRID",
    }
}

/// Defines (or renames) regions and grids as a given caller (the API and the demo loader).
pub async fn define(
    api: &ApiContext,
    caller: &Caller,
    command_id: Uuid,
    code: &str,
    name: &str,
) -> Result<Position, ApiError> {
    let meta = CommandMeta::new(command_id, &(code, name), "defineRegion");
    let name = name.to_owned();
    let (county, body): (String, RegionCommand) = if code.contains('-') {
        let grid = GridId::parse(code).map_err(|e| ApiError::bad_input("code", e.to_string()))?;
        (county_of(grid.village())?, DefineGrid { grid, name }.into())
    } else {
        let code = region("code", code)?;
        (county_of(&code)?, DefineRegion { code, name }.into())
    };
    let stream = StreamRef::in_county(StreamId::Regions(county.clone()), &county)?;
    let command = Command::new(domain_actor(caller), Utc::now(), body);
    let appended = api
        .exec
        .execute::<RegionRegistry, _>(&stream, &meta, |_| Ok(command.clone()))
        .await?;
    Ok(Position::from(&appended))
}

#[derive(InputObject, Serialize)]
pub struct DefineRegionInput {
    pub command_id: Uuid,
    /// A 9- or 12-digit region code, or a grid `<village>-<n>`.
    pub code: String,
    pub name: String,
}

#[derive(Default)]
pub struct RegionQuery;

#[Object]
impl RegionQuery {
    /// The children of a region (a county's townships, a township's villages, a village's
    /// grids), with names. Without `parent`: the caller's jurisdiction itself and its children.
    async fn regions(
        &self,
        ctx: &Context<'_>,
        parent: Option<String>,
    ) -> async_graphql::Result<Vec<Region>> {
        let caller = caller(ctx)?;
        let parent = parent.unwrap_or_else(|| caller.jurisdiction.as_str().to_owned());
        let parent_code = region("parent", &parent)?;
        let county = parent_code
            .county()
            .ok_or_else(|| ApiError::bad_input("parent", "give a county-level or lower code"))?;
        let tree = tree(api(ctx), &county).await?;
        let child_len = match parent.len() {
            6 => 9,
            9 => 12,
            _ => 0,
        };
        let mut out: Vec<Region> = tree
            .regions
            .iter()
            .filter(|(code, _)| code.len() == child_len && code.starts_with(&parent))
            .map(|(code, name)| Region {
                code: code.clone(),
                name: name.clone(),
                level: level(code).into(),
            })
            .collect();
        if parent.len() == 12 {
            out.extend(
                tree.grids
                    .iter()
                    .filter(|(g, _)| g.starts_with(&parent))
                    .map(|(g, name)| Region {
                        code: g.clone(),
                        name: name.clone(),
                        level: "GRID".into(),
                    }),
            );
        }
        Ok(out)
    }

    /// One region by code, with its name.
    async fn region(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<Region> {
        caller(ctx)?;
        let name = name_of(api(ctx), &code)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no region {code}")))?;
        Ok(Region {
            level: level(&code).into(),
            code,
            name,
        })
    }
}

#[derive(Default)]
pub struct RegionMutation;

#[Object]
impl RegionMutation {
    /// Name a township, village or grid (county bureau; township officers for grids).
    async fn define_region(
        &self,
        ctx: &Context<'_>,
        input: DefineRegionInput,
    ) -> async_graphql::Result<Position> {
        let caller = caller(ctx)?;
        Ok(define(api(ctx), caller, input.command_id, &input.code, &input.name).await?)
    }
}

/// Parses a region code or fails with the field named (re-exported for other modules).
pub fn parse_region(field: &str, value: &str) -> Result<RegionCode, ApiError> {
    region(field, value)
}
