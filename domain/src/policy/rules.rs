use serde::{Deserialize, Serialize};

use crate::error::{FieldError, InputRule};

use super::PolicyError;

/// The procedural numbers in force from some date.
///
/// Deserialisation fills a missing field from [`PolicyRules::national_2023`], so events written
/// before a rule existed still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyRules {
    /// 识别认定时限 — days from the clue to the county's decision.
    pub identification_deadline_days: u32,
    /// 公示期 — minimum days a village public notice stays up.
    pub public_notice_min_days: u32,
    /// 预警首轮 — days the village has for first-round alert feedback, from the alert.
    pub alert_first_round_days: u32,
    /// 预警二轮 — days the township has for its second-round study, from the alert.
    pub alert_second_round_days: u32,
    /// 风险消除 — minimum months between county approval and removal.
    pub removal_min_months_monitored: u32,
    /// 收入持续稳定 — minimum consecutive months of income records above the line.
    pub removal_min_months_income_above_line: u32,
    /// 绿色通道 — days to back-fill the identification steps after assisting first.
    pub green_channel_backfill_days: u32,
    /// 入户核实 — minimum distinct people on a home verification.
    pub home_verification_min_people: u32,
}

impl Default for PolicyRules {
    fn default() -> Self {
        Self::national_2023()
    }
}

impl PolicyRules {
    /// The national 2023 guide (《健全防止返贫动态监测和帮扶机制工作指南》) where it sets a
    /// number; the alert and green-channel numbers are Dixian's assumptions (see
    /// [`shandong_defaults`](super::shandong_defaults) for the sources).
    pub const fn national_2023() -> Self {
        Self {
            identification_deadline_days: 15,
            public_notice_min_days: 5,
            alert_first_round_days: 3,
            alert_second_round_days: 7,
            removal_min_months_monitored: 6,
            removal_min_months_income_above_line: 6,
            green_channel_backfill_days: 30,
            home_verification_min_people: 2,
        }
    }

    /// Every number must be positive, and no province may go below the national floors
    /// (notice ≥ 5 days, removal ≥ 6 + 6 months, home verification ≥ 2 people).
    pub fn validate(&self) -> Result<(), PolicyError> {
        let positive = [
            (
                "rules.identification_deadline_days",
                self.identification_deadline_days,
            ),
            ("rules.alert_first_round_days", self.alert_first_round_days),
            (
                "rules.alert_second_round_days",
                self.alert_second_round_days,
            ),
            (
                "rules.green_channel_backfill_days",
                self.green_channel_backfill_days,
            ),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(FieldError::new(field, InputRule::NotPositive).into());
            }
        }
        if self.alert_second_round_days < self.alert_first_round_days {
            return Err(FieldError::new(
                "rules.alert_second_round_days",
                InputRule::Before {
                    other: "the first-round deadline",
                },
            )
            .into());
        }
        let national = Self::national_2023();
        let floors = [
            (
                "public_notice_min_days",
                self.public_notice_min_days,
                national.public_notice_min_days,
            ),
            (
                "removal_min_months_monitored",
                self.removal_min_months_monitored,
                national.removal_min_months_monitored,
            ),
            (
                "removal_min_months_income_above_line",
                self.removal_min_months_income_above_line,
                national.removal_min_months_income_above_line,
            ),
            (
                "home_verification_min_people",
                self.home_verification_min_people,
                national.home_verification_min_people,
            ),
        ];
        for (rule, value, floor) in floors {
            if value < floor {
                return Err(PolicyError::BelowNationalFloor { rule, value, floor });
            }
        }
        Ok(())
    }
}
