use crate::actor::{AccessError, Role};
use crate::command::{Aggregate, Command, Ctx};
use crate::decider::Decider;
use crate::error::{FieldError, InputRule};
use crate::region::{RegionCode, RegionLevel};

use super::{DatedRules, MonitoringLine, PolicyBook, PolicyCommand, PolicyError, PolicyEvent};

impl Aggregate for PolicyBook {
    type Event = PolicyEvent;
    type Error = PolicyError;
}

/// The policy decider. Only the county bureau role (区乡村振兴局) may set policy, for the
/// province its jurisdiction lies in: a deployment serves one district, and its bureau enters
/// the provincial figures.
pub struct Policy;

impl Decider for Policy {
    type Command = Command<PolicyCommand>;
    type Event = PolicyEvent;
    type State = PolicyBook;
    type Error = PolicyError;

    fn decide(
        cmd: &Command<PolicyCommand>,
        book: &PolicyBook,
    ) -> Result<Vec<PolicyEvent>, PolicyError> {
        cmd.body.decide(&cmd.ctx(book)).map(|event| vec![event])
    }

    fn evolve(mut book: PolicyBook, event: &PolicyEvent) -> PolicyBook {
        match event {
            PolicyEvent::MonitoringLineSet {
                province,
                year,
                amount_fen,
                effective_from,
                ..
            } => {
                book.province.get_or_insert_with(|| province.clone());
                book.lines.push(MonitoringLine {
                    year: *year,
                    amount_fen: *amount_fen,
                    effective_from: *effective_from,
                });
            }
            PolicyEvent::PolicyRulesSet {
                province,
                rules,
                effective_from,
                ..
            } => {
                book.province.get_or_insert_with(|| province.clone());
                book.rules.push(DatedRules {
                    rules: *rules,
                    effective_from: *effective_from,
                });
            }
        }
        book
    }
}

/// The province is a province, the actor its county bureau, and the stream that province's.
pub(super) fn check(
    ctx: &Ctx<PolicyBook>,
    province: &RegionCode,
    action: &'static str,
) -> Result<(), PolicyError> {
    let (actor, book) = (ctx.by, ctx.state);
    if province.level() != RegionLevel::Province {
        return Err(FieldError::new("province", InputRule::NotAProvince).into());
    }
    // A county officer's jurisdiction lies inside the province rather than covering it, so
    // the test is "same province", not `covers`.
    if actor.role != Role::CountyOfficer {
        return Err(AccessError::RoleNotAllowed {
            role: actor.role,
            action,
        }
        .into());
    }
    if actor.jurisdiction.province() != province.as_str() {
        return Err(AccessError::OutsideJurisdiction {
            region: province.clone(),
            jurisdiction: actor.jurisdiction.clone(),
        }
        .into());
    }
    if let Some(stream) = &book.province
        && stream != province
    {
        return Err(PolicyError::ProvinceMismatch {
            stream: stream.clone(),
            command: province.clone(),
        });
    }
    Ok(())
}
