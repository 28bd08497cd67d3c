//! Places: 12-digit statistical division codes (统计用区划代码) and grids (网格).
//!
//! Province = 2 digits, city 4, county 6, township 9, village 12. A shorter code is the
//! prefix of everything under it, which is how a jurisdiction is written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::macros::vocab;

vocab! {
    /// The level of a region code.
    pub enum RegionLevel {
        Province = "PROVINCE" => "省",
        City = "CITY" => "市",
        County = "COUNTY" => "县（区）",
        Township = "TOWNSHIP" => "乡镇（街道）",
        Village = "VILLAGE" => "村（社区）",
    }
}

impl RegionLevel {
    fn of_len(len: usize) -> Option<Self> {
        match len {
            2 => Some(Self::Province),
            4 => Some(Self::City),
            6 => Some(Self::County),
            9 => Some(Self::Township),
            12 => Some(Self::Village),
            _ => None,
        }
    }
}

/// Why a region code or grid id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error("region code must be 2, 4, 6, 9 or 12 digits, got {got}")]
    WrongLength { got: usize },
    #[error("region code must contain only digits, found {found:?} at position {position}")]
    NonDigit { position: usize, found: char },
    #[error("province code 00 does not exist")]
    NoProvince,
    #[error("grid id must be written <12-digit village code>-<n>, got {got:?}")]
    GridFormat { got: String },
    #[error("grid id must start with a village (12-digit) code, got a {level} code")]
    GridNotInVillage { level: RegionLevel },
    #[error("grid number must be a whole number from 1, got {got:?}")]
    GridNumber { got: String },
}

impl DomainError for RegionError {
    fn code(&self) -> &'static str {
        match self {
            Self::WrongLength { .. } | Self::NonDigit { .. } | Self::NoProvince => {
                "INVALID_REGION_CODE"
            }
            Self::GridFormat { .. } | Self::GridNotInVillage { .. } | Self::GridNumber { .. } => {
                "INVALID_GRID_ID"
            }
        }
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
    fn field(&self) -> Option<&'static str> {
        Some(match self {
            Self::GridFormat { .. } | Self::GridNotInVillage { .. } | Self::GridNumber { .. } => {
                "grid"
            }
            _ => "region_code",
        })
    }
}

/// A region (or jurisdiction) code, always in its shortest form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    /// Parses 2, 4, 6, 9 or 12 digits. Zero-padded forms are shortened to the level they
    /// name (`370305000000` is the county `370305`), because the statistical tables write every
    /// level with 12 digits and prefix tests need the short form.
    pub fn parse(s: &str) -> Result<Self, RegionError> {
        let len = s.chars().count();
        if RegionLevel::of_len(len).is_none() {
            return Err(RegionError::WrongLength { got: len });
        }
        if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(RegionError::NonDigit { position, found });
        }
        if &s[..2] == "00" {
            return Err(RegionError::NoProvince);
        }
        let mut code = s;
        for (short, segment) in [(9, 9..12), (6, 6..9), (4, 4..6), (2, 2..4)] {
            if code.len() > short {
                if !code[segment].chars().all(|c| c == '0') {
                    break;
                }
                code = &code[..short];
            }
        }
        Ok(Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> RegionLevel {
        RegionLevel::of_len(self.0.len()).unwrap_or(RegionLevel::Village)
    }

    pub fn is_village(&self) -> bool {
        self.level() == RegionLevel::Village
    }

    /// The two-digit province code.
    pub fn province(&self) -> &str {
        &self.0[..2]
    }

    /// The six-digit county code (the partition key of the event log), if this code is at
    /// county level or below.
    pub fn county(&self) -> Option<String> {
        self.0.get(..6).map(str::to_owned)
    }

    /// True when `self` lies in `other` (or is `other`): `other` is a prefix of `self`.
    pub fn is_within(&self, other: &RegionCode) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The region one level up; `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        let len = match self.level() {
            RegionLevel::Province => return None,
            RegionLevel::City => 2,
            RegionLevel::County => 4,
            RegionLevel::Township => 6,
            RegionLevel::Village => 9,
        };
        Some(Self(self.0[..len].to_owned()))
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.0)
    }
}

impl FromStr for RegionCode {
    type Err = RegionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RegionCode> for String {
    fn from(code: RegionCode) -> Self {
        code.0
    }
}

/// A grid (网格) inside a village: `<12-digit village code>-<n>`, n ≥ 1.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GridId {
    village: RegionCode,
    number: u32,
}

impl GridId {
    pub fn parse(s: &str) -> Result<Self, RegionError> {
        let (village, number) = s
            .split_once('-')
            .ok_or_else(|| RegionError::GridFormat { got: s.to_owned() })?;
        let village = RegionCode::parse(village)?;
        if !village.is_village() {
            return Err(RegionError::GridNotInVillage {
                level: village.level(),
            });
        }
        let bad_number = || RegionError::GridNumber {
            got: number.to_owned(),
        };
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad_number());
        }
        let number: u32 = number.parse().map_err(|_| bad_number())?;
        if number == 0 {
            return Err(bad_number());
        }
        Ok(Self { village, number })
    }

    pub fn village(&self) -> &RegionCode {
        &self.village
    }

    pub fn number(&self) -> u32 {
        self.number
    }
}

impl fmt::Display for GridId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.village, self.number)
    }
}

impl fmt::Debug for GridId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GridId({self})")
    }
}

impl FromStr for GridId {
    type Err = RegionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for GridId {
    type Error = RegionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<GridId> for String {
    fn from(grid: GridId) -> Self {
        grid.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn every_level_has_its_length() {
        assert_eq!(code("37").level(), RegionLevel::Province);
        assert_eq!(code("3703").level(), RegionLevel::City);
        assert_eq!(code("370305").level(), RegionLevel::County);
        assert_eq!(code("370305101").level(), RegionLevel::Township);
        assert_eq!(code("370305101201").level(), RegionLevel::Village);
    }

    #[test]
    fn a_seven_digit_code_is_rejected_saying_how_long_it_was() {
        let err = RegionCode::parse("3703051").unwrap_err();
        assert_eq!(err, RegionError::WrongLength { got: 7 });
        assert_eq!(
            err.to_string(),
            "region code must be 2, 4, 6, 9 or 12 digits, got 7"
        );
        assert_eq!(err.code(), "INVALID_REGION_CODE");
        assert_eq!(err.kind(), ErrorKind::Input);
    }

    #[test]
    fn a_code_with_letters_is_rejected_naming_the_position() {
        assert_eq!(
            RegionCode::parse("3703O5").unwrap_err(),
            RegionError::NonDigit {
                position: 4,
                found: 'O'
            }
        );
    }

    #[test]
    fn zero_padded_codes_are_shortened_to_their_level() {
        assert_eq!(code("370305000000").as_str(), "370305");
        assert_eq!(code("370305101000").as_str(), "370305101");
        assert_eq!(code("370000").as_str(), "37");
        assert_eq!(
            code("370305000201").as_str(),
            "370305000201",
            "only trailing zeros"
        );
    }

    #[test]
    fn the_county_is_the_first_six_digits() {
        assert_eq!(code("370305101201").county().as_deref(), Some("370305"));
        assert_eq!(code("3703").county(), None);
    }

    #[test]
    fn a_village_is_within_its_township_county_and_province_but_not_a_neighbour() {
        let village = code("370305101201");
        for outer in ["37", "3703", "370305", "370305101", "370305101201"] {
            assert!(village.is_within(&code(outer)), "{outer}");
        }
        assert!(!village.is_within(&code("370305102")));
        assert!(!code("370305").is_within(&village));
        assert_eq!(village.parent(), Some(code("370305101")));
    }

    #[test]
    fn a_grid_lives_in_a_village() {
        let grid = GridId::parse("370305101201-3").unwrap();
        assert_eq!(grid.village(), &code("370305101201"));
        assert_eq!(grid.number(), 3);
        assert_eq!(grid.to_string(), "370305101201-3");
        assert!(matches!(
            GridId::parse("370305101-1"),
            Err(RegionError::GridNotInVillage {
                level: RegionLevel::Township
            })
        ));
        assert!(matches!(
            GridId::parse("370305101201-0"),
            Err(RegionError::GridNumber { .. })
        ));
        assert!(matches!(
            GridId::parse("370305101201"),
            Err(RegionError::GridFormat { .. })
        ));
    }

    #[test]
    fn region_codes_serialise_as_strings_and_refuse_bad_ones() {
        let json = serde_json::to_string(&code("370305")).unwrap();
        assert_eq!(json, "\"370305\"");
        assert!(serde_json::from_str::<RegionCode>("\"37030\"").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn every_prefix_of_a_village_contains_it(
            county in "[1-9][0-9]{5}", rest in "[0-9]{3}[1-9][0-9]{2}"
        ) {
            let village = RegionCode::parse(&format!("{county}{rest}")).unwrap();
            prop_assume!(village.is_village());
            let mut up = Some(village.clone());
            while let Some(region) = up {
                prop_assert!(village.is_within(&region));
                up = region.parent();
            }
        }
    }
}
