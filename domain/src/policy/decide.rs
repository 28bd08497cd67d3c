use crate::actor::{AccessError, Actor, Role};
use crate::decider::Decider;
use crate::error::{FieldError, InputRule};
use crate::region::{RegionCode, RegionLevel};

use super::{DatedRules, MonitoringLine, PolicyBook, PolicyCommand, PolicyError, PolicyEvent};

/// The policy decider. Only the county bureau role (区乡村振兴局) may set policy, for the
/// province its jurisdiction lies in: a deployment serves one district, and its bureau enters
/// the provincial figures.
pub struct Policy;

impl Decider for Policy {
    type Command = PolicyCommand;
    type Event = PolicyEvent;
    type State = PolicyBook;
    type Error = PolicyError;

    fn decide(cmd: &PolicyCommand, book: &PolicyBook) -> Result<Vec<PolicyEvent>, PolicyError> {
        match cmd {
            PolicyCommand::SetMonitoringLine {
                actor,
                at,
                province,
                year,
                amount_fen,
                effective_from,
                basis,
            } => {
                check(actor, province, book, "set the monitoring line")?;
                if !(2000..=2100).contains(year) {
                    return Err(FieldError::new(
                        "year",
                        InputRule::OutOfRange {
                            min: 2000,
                            max: 2100,
                        },
                    )
                    .into());
                }
                if *amount_fen <= 0 {
                    return Err(FieldError::new("amount_fen", InputRule::NotPositive).into());
                }
                Ok(vec![PolicyEvent::MonitoringLineSet {
                    province: province.clone(),
                    year: *year,
                    amount_fen: *amount_fen,
                    effective_from: *effective_from,
                    basis: basis.trim().to_owned(),
                    by: actor.clone(),
                    at: *at,
                }])
            }
            PolicyCommand::SetPolicyRules {
                actor,
                at,
                province,
                rules,
                effective_from,
                basis,
            } => {
                check(actor, province, book, "set policy rules")?;
                rules.validate()?;
                Ok(vec![PolicyEvent::PolicyRulesSet {
                    province: province.clone(),
                    rules: *rules,
                    effective_from: *effective_from,
                    basis: basis.trim().to_owned(),
                    by: actor.clone(),
                    at: *at,
                }])
            }
        }
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

fn check(
    actor: &Actor,
    province: &RegionCode,
    book: &PolicyBook,
    action: &'static str,
) -> Result<(), PolicyError> {
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
