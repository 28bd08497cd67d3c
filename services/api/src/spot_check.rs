//! Spot checks (第三方评估): a reproducible stratified sample of households, granted to a
//! spot-checker, who then sees only those households, masked.
//!
//! The sample algorithm (documented so a third party can recompute it):
//! 1. Population: households of the region in the `casework.household_case` read model, taken
//!    as (village, category or `NONE`, household id); strata = (village, category).
//! 2. Each household gets the key `SHA-256("dixian-sample-v1|" + seed + "|" + household id)`
//!    (id lowercase hyphenated), read as 32 bytes, compared bytewise.
//! 3. Allocation: `size × stratum size / population`, rounded down, at least 1 for every
//!    stratum that has monitored households (category not `NONE`) while size allows; the
//!    remainder goes to the strata with the largest fractional parts (ties: stratum name).
//! 4. Within a stratum, the households with the smallest keys are taken.
//!
//! Same region, size, seed and population → same sample, in any language.

use std::collections::BTreeMap;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::Utc;
use dixian_commands::CommandMeta;
use dixian_domain::user::{GrantSample, User};
use dixian_domain::{Command, Role};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::household::domain_actor;
use crate::schema::{ApiContext, api, caller};

/// Whether the household is in a sample granted to this spot-checker.
pub async fn in_granted_sample(
    api: &ApiContext,
    caller: &Caller,
    household: Uuid,
) -> Result<bool, ApiError> {
    Ok(granted_households(api, caller).await?.contains(&household))
}

/// Every household granted to a spot-checker (from their user stream).
pub async fn granted_households(api: &ApiContext, caller: &Caller) -> Result<Vec<Uuid>, ApiError> {
    let state = crate::user::load_user(api, caller.user_id).await?;
    Ok(state
        .samples
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect())
}

/// One sampled household.
#[derive(SimpleObject, Clone, Serialize)]
pub struct SampledHousehold {
    pub household_id: Uuid,
    pub village: String,
    pub category: String,
    /// The household's sort key (hex), so a third party can check the draw.
    pub key: String,
}

/// A reproducible sample.
#[derive(SimpleObject)]
pub struct Sample {
    pub region: String,
    pub seed: String,
    pub size: i32,
    pub population: i32,
    pub households: Vec<SampledHousehold>,
}

fn sample_key(seed: &str, id: Uuid) -> [u8; 32] {
    Sha256::digest(format!("dixian-sample-v1|{seed}|{}", id.hyphenated()).as_bytes()).into()
}

/// (village, category).
type Stratum = (String, String);

/// The sample of `size` households of the population (village, category, id); see the module
/// documentation for the algorithm.
pub fn draw(
    population: &[(String, String, Uuid)],
    size: usize,
    seed: &str,
) -> Vec<SampledHousehold> {
    let mut strata: BTreeMap<Stratum, Vec<([u8; 32], Uuid)>> = BTreeMap::new();
    for (village, category, id) in population {
        strata
            .entry((village.clone(), category.clone()))
            .or_default()
            .push((sample_key(seed, *id), *id));
    }
    for members in strata.values_mut() {
        members.sort();
    }
    let total = population.len().max(1);
    let size = size.min(population.len());
    let mut alloc: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut remainders: Vec<(usize, (String, String))> = Vec::new();
    let mut used = 0;
    for (k, members) in &strata {
        let exact = size * members.len();
        let mut n = exact / total;
        if n == 0 && k.1 != "NONE" && used < size {
            n = 1;
        }
        let n = n.min(members.len());
        used += n;
        alloc.insert(k.clone(), n);
        remainders.push((exact % total, k.clone()));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut i = 0;
    while used < size && !remainders.is_empty() {
        let k = &remainders[i % remainders.len()].1;
        let cap = strata[k].len();
        let n = alloc.get_mut(k).expect("allocated");
        if *n < cap {
            *n += 1;
            used += 1;
        }
        i += 1;
        if i > remainders.len() * (size + 1) {
            break;
        }
    }
    let mut out = Vec::new();
    for (k, members) in &strata {
        for (key, id) in members.iter().take(alloc[k]) {
            out.push(SampledHousehold {
                household_id: *id,
                village: k.0.clone(),
                category: k.1.clone(),
                key: hex_key(key),
            });
        }
    }
    out
}

fn hex_key(k: &[u8; 32]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

async fn population(
    api: &ApiContext,
    region: &str,
) -> Result<Vec<(String, String, Uuid)>, ApiError> {
    Ok(dixian_projections::casework::queries::sample_population(&api.pool, region).await?)
}

#[derive(InputObject, Serialize)]
pub struct GrantSampleInput {
    pub command_id: Uuid,
    /// The spot-checker.
    pub user_id: Uuid,
    pub region: String,
    pub size: i32,
    pub seed: String,
}

#[derive(Default)]
pub struct SpotCheckQuery;

#[Object]
impl SpotCheckQuery {
    /// A reproducible stratified sample (by village and category) of a region's households.
    async fn spot_check_sample(
        &self,
        ctx: &Context<'_>,
        region: String,
        size: i32,
        seed: String,
    ) -> async_graphql::Result<Sample> {
        let caller = caller(ctx)?;
        caller.require_role(
            &[Role::CountyOfficer, Role::Auditor, Role::SpotChecker],
            "draw spot-check samples",
        )?;
        if caller.role != Role::SpotChecker {
            caller.require_covers(&region)?;
        }
        crate::region::parse_region("region", &region)?;
        if !(1..=10_000).contains(&size) {
            return Err(ApiError::bad_input("size", "a sample has 1 to 10000 households").into());
        }
        let pop = population(api(ctx), &region).await?;
        let households = draw(&pop, size as usize, &seed);
        if caller.role == Role::SpotChecker {
            // A spot-checker recomputes to check the draw but learns only ids already granted.
            let granted = granted_households(api(ctx), caller).await?;
            return Ok(Sample {
                region,
                seed,
                size,
                population: pop.len() as i32,
                households: households
                    .into_iter()
                    .filter(|h| granted.contains(&h.household_id))
                    .collect(),
            });
        }
        Ok(Sample {
            region,
            seed,
            size,
            population: pop.len() as i32,
            households,
        })
    }
}

#[derive(Default)]
pub struct SpotCheckMutation;

#[Object]
impl SpotCheckMutation {
    /// Draw a sample and grant it to a spot-checker (county bureau): they then see exactly
    /// those households, masked.
    async fn grant_sample(
        &self,
        ctx: &Context<'_>,
        input: GrantSampleInput,
    ) -> async_graphql::Result<Sample> {
        let caller = caller(ctx)?;
        caller.require_role(&[Role::CountyOfficer], "grant spot-check samples")?;
        let region = crate::region::parse_region("region", &input.region)?;
        caller.require_covers(region.as_str())?;
        if !(1..=10_000).contains(&input.size) {
            return Err(ApiError::bad_input("size", "a sample has 1 to 10000 households").into());
        }
        let api = api(ctx);
        let pop = population(api, region.as_str()).await?;
        let households = draw(&pop, input.size as usize, &input.seed);
        let ids: Vec<Uuid> = households.iter().map(|h| h.household_id).collect();
        let stream = crate::user::user_stream(api, input.user_id, None).await?;
        let meta = CommandMeta::new(input.command_id, &input, "grantSample");
        let command = Command::new(
            domain_actor(caller),
            Utc::now(),
            GrantSample {
                sample_id: input.command_id,
                region: region.clone(),
                household_ids: ids,
            },
        );
        api.exec
            .execute::<User, _>(&stream, &meta, |_| Ok(command.clone()))
            .await
            .map_err(ApiError::from)?;
        Ok(Sample {
            region: input.region,
            seed: input.seed,
            size: input.size,
            population: pop.len() as i32,
            households,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pop() -> Vec<(String, String, Uuid)> {
        (0..200u128)
            .map(|i| {
                let village = format!("370305004{:03}", 201 + (i % 4));
                let category = if (i / 4) % 10 == 0 {
                    "MARGINAL"
                } else {
                    "NONE"
                };
                (village, category.to_owned(), Uuid::from_u128(i + 1))
            })
            .collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_and_another_seed_another() {
        let a = draw(&pop(), 20, "2026-11");
        assert_eq!(a.len(), 20);
        assert_eq!(
            a.iter().map(|h| h.household_id).collect::<Vec<_>>(),
            draw(&pop(), 20, "2026-11")
                .iter()
                .map(|h| h.household_id)
                .collect::<Vec<_>>()
        );
        assert_ne!(
            a.iter().map(|h| h.household_id).collect::<Vec<_>>(),
            draw(&pop(), 20, "2026-12")
                .iter()
                .map(|h| h.household_id)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_stratum_with_monitored_households_is_represented() {
        let s = draw(&pop(), 12, "x");
        for v in 201..205 {
            let village = format!("370305004{v:03}");
            assert!(
                s.iter()
                    .any(|h| h.village == village && h.category == "MARGINAL"),
                "{village}"
            );
        }
        assert_eq!(s.len(), 12);
    }

    #[test]
    fn the_key_is_the_documented_sha256() {
        let k = sample_key("s", Uuid::from_u128(1));
        let expect: [u8; 32] =
            Sha256::digest(b"dixian-sample-v1|s|00000000-0000-0000-0000-000000000001").into();
        assert_eq!(k, expect);
    }
}
