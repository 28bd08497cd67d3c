//! Value objects carried by household commands and events.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{FieldError, InputRule};
use crate::sealed::Sealed;
use crate::vocab::{
    Employment, Health, LabourCapacity, LivingCondition, Relation, SafetyNet, Schooling, Sex,
};

/// One member of a household (家庭成员) as recorded. The ID number and phone are sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProfile {
    pub member_id: Uuid,
    /// Names appear on public notices, unlike ID numbers, so they are carried plain.
    pub name: String,
    pub id_number: Sealed,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub relation: Relation,
    pub health: Health,
    /// 残疾等级 1–4, present exactly when `health` is `DISABLED`.
    #[serde(default)]
    pub disability_level: Option<u8>,
    pub labour: LabourCapacity,
    pub schooling: Schooling,
    pub employment: Employment,
    pub safety_net: SafetyNet,
    #[serde(default)]
    pub insurance: Insurance,
    #[serde(default)]
    pub phone: Option<Sealed>,
    /// 常住/共享收支: counts for per-capita income (统筹实际居住和共享收支).
    #[serde(default = "resident_by_default")]
    pub resident: bool,
}

fn resident_by_default() -> bool {
    true
}

impl MemberProfile {
    pub(crate) fn validate(&self, today: NaiveDate) -> Result<(), FieldError> {
        FieldError::require_text("name", &self.name)?;
        if !self.id_number.is_complete() {
            return Err(FieldError::required("id_number"));
        }
        if self.phone.as_ref().is_some_and(|p| !p.is_complete()) {
            return Err(FieldError::new(
                "phone",
                InputRule::Invalid {
                    reason: "a sealed phone needs its masked form, hash and ciphertext",
                },
            ));
        }
        if self.birth_date > today {
            return Err(FieldError::in_future("birth_date"));
        }
        match (self.health, self.disability_level) {
            (Health::Disabled, None) => Err(FieldError::required("disability_level")),
            (Health::Disabled, Some(level)) if !(1..=4).contains(&level) => Err(FieldError::new(
                "disability_level",
                InputRule::OutOfRange { min: 1, max: 4 },
            )),
            (Health::Disabled, Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err(FieldError::new(
                "disability_level",
                InputRule::Invalid {
                    reason: "a disability level applies only to health DISABLED",
                },
            )),
        }
    }
}

/// 参保情况
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insurance {
    /// 基本医疗保险
    pub medical: bool,
    /// 基本养老保险
    pub pension: bool,
}

/// Net income over a 12-month window by statistical component, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeComponents {
    /// 工资性收入
    pub wage_fen: i64,
    /// 家庭经营净收入 — may be negative (a failed harvest costs more than it earns).
    pub business_fen: i64,
    /// 财产净收入
    pub property_fen: i64,
    /// 转移净收入 (低保金, 养老金, 生态补偿…)
    pub transfer_fen: i64,
}

impl IncomeComponents {
    pub fn total_fen(&self) -> i64 {
        self.wage_fen
            .saturating_add(self.business_fen)
            .saturating_add(self.property_fen)
            .saturating_add(self.transfer_fen)
    }

    /// Only business income may be negative, and never the total.
    pub(crate) fn validate(&self) -> Result<(), FieldError> {
        for (field, value) in [
            ("wage_fen", self.wage_fen),
            ("property_fen", self.property_fen),
            ("transfer_fen", self.transfer_fen),
        ] {
            if value < 0 {
                return Err(FieldError::negative(field));
            }
        }
        if self.total_fen() < 0 {
            return Err(FieldError::negative("total_fen"));
        }
        Ok(())
    }
}

/// 两不愁三保障及饮水安全 — as found by an assessment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivingConditions {
    pub food_clothing_secure: bool,
    pub compulsory_education_secure: bool,
    pub basic_medical_secure: bool,
    pub housing_secure: bool,
    pub drinking_water_secure: bool,
}

impl LivingConditions {
    pub const ALL_SECURE: Self = Self {
        food_clothing_secure: true,
        compulsory_education_secure: true,
        basic_medical_secure: true,
        housing_secure: true,
        drinking_water_secure: true,
    };

    /// The conditions not secured, in the official order.
    pub fn insecure(&self) -> Vec<LivingCondition> {
        [
            (self.food_clothing_secure, LivingCondition::FoodAndClothing),
            (
                self.compulsory_education_secure,
                LivingCondition::CompulsoryEducation,
            ),
            (self.basic_medical_secure, LivingCondition::BasicMedical),
            (self.housing_secure, LivingCondition::Housing),
            (self.drinking_water_secure, LivingCondition::DrinkingWater),
        ]
        .into_iter()
        .filter(|(secure, _)| !secure)
        .map(|(_, condition)| condition)
        .collect()
    }
}

/// What a visitor checked (the seed's cadre round: 上墙材料, 近况, 居住条件).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitChecklist {
    /// 上墙材料 — the materials posted on the wall.
    pub wall_materials_checked: bool,
    /// 了解近况 — talked about the family's recent situation.
    pub situation_discussed: bool,
    /// 查看居住条件 — looked at the living conditions.
    pub living_conditions_checked: bool,
}
