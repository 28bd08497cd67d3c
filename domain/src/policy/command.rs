use chrono::NaiveDate;

use crate::actor::Role;
use crate::command::{Ctx, Step, commands};
use crate::error::{FieldError, InputRule};
use crate::region::RegionCode;

use super::decide::check;
use super::{PolicyBook, PolicyError, PolicyEvent, PolicyRules};

commands! {
    /// What the county bureau asks of a province's policy stream.
    pub enum PolicyCommand for PolicyBook {
        SetMonitoringLine(SetMonitoringLine),
        SetPolicyRules(SetPolicyRules),
    }
}

type Decision = Result<PolicyEvent, PolicyError>;

const BUREAU: &[Role] = &[Role::CountyOfficer];

/// 设定监测线 — set the province's monitoring line from a date.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMonitoringLine {
    pub province: RegionCode,
    pub year: i32,
    pub amount_fen: i64,
    pub effective_from: NaiveDate,
    /// Where the number comes from (the provincial document).
    pub basis: String,
}

impl Step<PolicyBook> for SetMonitoringLine {
    const ACTION: &'static str = "set the monitoring line";
    const ROLES: &'static [Role] = BUREAU;
    fn decide(&self, ctx: &Ctx<PolicyBook>) -> Decision {
        check(ctx, &self.province, Self::ACTION)?;
        if !(2000..=2100).contains(&self.year) {
            return Err(FieldError::new(
                "year",
                InputRule::OutOfRange {
                    min: 2000,
                    max: 2100,
                },
            )
            .into());
        }
        if self.amount_fen <= 0 {
            return Err(FieldError::new("amount_fen", InputRule::NotPositive).into());
        }
        Ok(PolicyEvent::MonitoringLineSet {
            province: self.province.clone(),
            year: self.year,
            amount_fen: self.amount_fen,
            effective_from: self.effective_from,
            basis: self.basis.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 设定程序规则 — set the procedural numbers from a date.
#[derive(Debug, Clone, PartialEq)]
pub struct SetPolicyRules {
    pub province: RegionCode,
    pub rules: PolicyRules,
    pub effective_from: NaiveDate,
    pub basis: String,
}

impl Step<PolicyBook> for SetPolicyRules {
    const ACTION: &'static str = "set policy rules";
    const ROLES: &'static [Role] = BUREAU;
    fn decide(&self, ctx: &Ctx<PolicyBook>) -> Decision {
        check(ctx, &self.province, Self::ACTION)?;
        self.rules.validate()?;
        Ok(PolicyEvent::PolicyRulesSet {
            province: self.province.clone(),
            rules: self.rules,
            effective_from: self.effective_from,
            basis: self.basis.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}
