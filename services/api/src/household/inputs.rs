//! Input shapes shared by household mutations, and their conversion to domain values.

use async_graphql::InputObject;
use chrono::NaiveDate;
use dixian_domain::IdNumber;
use dixian_domain::household::{Insurance, MemberProfile};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::pii::PiiKeys;
use crate::vocab::parse;

/// A household member as captured on a form. The ID number is validated (GB 11643 check
/// digit), then sealed: only its masked form, a keyed hash and ciphertext are stored.
#[derive(InputObject, Serialize, Clone)]
pub struct MemberInput {
    /// Leave out for a new member.
    pub member_id: Option<Uuid>,
    pub name: String,
    /// 18-character resident ID number (身份证号).
    pub id_number: String,
    /// Relation code (RELATIONS in `vocabulary`).
    pub relation: String,
    pub health: String,
    /// 1–4 when health is DISABLED.
    pub disability_level: Option<i32>,
    pub labour: String,
    pub schooling: String,
    pub employment: String,
    pub safety_net: String,
    #[graphql(default)]
    pub medical_insurance: bool,
    #[graphql(default)]
    pub pension_insurance: bool,
    pub phone: Option<String>,
    /// Lives in and shares the household budget (counts for per-capita income).
    #[graphql(default = true)]
    pub resident: bool,
}

impl MemberInput {
    /// `field` prefixes error paths (e.g. `head` or `member`).
    pub fn to_profile(
        &self,
        field: &str,
        pii: &PiiKeys,
        today: NaiveDate,
    ) -> Result<MemberProfile, ApiError> {
        let f = |name: &str| format!("{field}.{name}");
        let id = IdNumber::parse_as_of(self.id_number.trim(), today)
            .map_err(|e| ApiError::bad_input(f("idNumber"), e.to_string()))?;
        let disability_level = match self.disability_level {
            None => None,
            Some(l) => Some(
                u8::try_from(l)
                    .map_err(|_| ApiError::bad_input(f("disabilityLevel"), "a level is 1 to 4"))?,
            ),
        };
        Ok(MemberProfile {
            member_id: self.member_id.unwrap_or_else(Uuid::now_v7),
            name: self.name.trim().to_owned(),
            birth_date: id.birth_date(),
            sex: id.sex(),
            id_number: pii.seal_id(&id),
            relation: parse(&f("relation"), &self.relation)?,
            health: parse(&f("health"), &self.health)?,
            disability_level,
            labour: parse(&f("labour"), &self.labour)?,
            schooling: parse(&f("schooling"), &self.schooling)?,
            employment: parse(&f("employment"), &self.employment)?,
            safety_net: parse(&f("safetyNet"), &self.safety_net)?,
            insurance: Insurance {
                medical: self.medical_insurance,
                pension: self.pension_insurance,
            },
            phone: match &self.phone {
                Some(p) if !p.trim().is_empty() => Some(pii.seal_phone(p).map_err(|_| {
                    ApiError::bad_input(f("phone"), "a phone number has 7 to 15 digits")
                })?),
                _ => None,
            },
            resident: self.resident,
        })
    }
}

/// Parses attachment hashes (hex SHA-256 of files kept elsewhere).
pub fn attachments(
    field: &str,
    values: &[String],
) -> Result<Vec<dixian_domain::AttachmentHash>, ApiError> {
    values
        .iter()
        .map(|v| {
            dixian_domain::AttachmentHash::parse(v)
                .map_err(|e| ApiError::bad_input(field, e.to_string()))
        })
        .collect()
}
