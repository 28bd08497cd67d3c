//! Resident identity card numbers (居民身份证号码, GB 11643).
//!
//! The full number is personal data: [`IdNumber`] has no `Display`, its `Debug` prints the
//! masked form, it does not serialise, and its errors never echo the input. Events carry a
//! [`Sealed`](crate::sealed::Sealed) value built by the service instead.

use std::fmt;

use chrono::NaiveDate;

use crate::error::{DomainError, ErrorKind};
use crate::vocab::Sex;

/// ISO 7064 MOD 11-2 weights for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder 0..=10.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Why an ID number was refused. Deliberately never contains the number itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("ID number must be 18 characters, got {got}")]
    Length { got: usize },
    #[error(
        "ID number must be 17 digits followed by a digit or X; character {position} is not allowed"
    )]
    NonDigit { position: usize },
    #[error(
        "ID number characters 7–14 must be a real birth date from 1900 on and not in the future"
    )]
    BadBirthDate,
    #[error("ID number check digit should be {expected}, got {got} (校验码错误)")]
    CheckDigitMismatch { expected: char, got: char },
}

impl DomainError for IdNumberError {
    fn code(&self) -> &'static str {
        "INVALID_ID_NUMBER"
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
    fn field(&self) -> Option<&'static str> {
        Some("id_number")
    }
}

/// A valid 18-character resident ID number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    value: String,
    birth_date: NaiveDate,
}

impl IdNumber {
    /// Parses and validates length, digits, the GB 11643 check digit and the birth date
    /// (a real date from 1900). A lowercase `x` is accepted and stored as `X`.
    pub fn parse(s: &str) -> Result<Self, IdNumberError> {
        Self::parse_inner(s, None)
    }

    /// As [`parse`](Self::parse), also refusing a birth date after `today`.
    pub fn parse_as_of(s: &str, today: NaiveDate) -> Result<Self, IdNumberError> {
        Self::parse_inner(s, Some(today))
    }

    fn parse_inner(s: &str, today: Option<NaiveDate>) -> Result<Self, IdNumberError> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(IdNumberError::Length { got: chars.len() });
        }
        if let Some(position) = chars[..17].iter().position(|c| !c.is_ascii_digit()) {
            return Err(IdNumberError::NonDigit {
                position: position + 1,
            });
        }
        let last = chars[17].to_ascii_uppercase();
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(IdNumberError::NonDigit { position: 18 });
        }
        let first17: String = chars[..17].iter().collect();
        let expected = Self::check_digit(&first17)?;
        if expected != last {
            return Err(IdNumberError::CheckDigitMismatch {
                expected,
                got: last,
            });
        }
        let birth_date = birth_date(&first17).ok_or(IdNumberError::BadBirthDate)?;
        if today.is_some_and(|today| birth_date > today) {
            return Err(IdNumberError::BadBirthDate);
        }
        Ok(Self {
            value: format!("{first17}{last}"),
            birth_date,
        })
    }

    /// The GB 11643 check character for 17 digits, e.g. to make valid fictitious numbers.
    pub fn check_digit(first17: &str) -> Result<char, IdNumberError> {
        let count = first17.chars().count();
        if count != 17 {
            return Err(IdNumberError::Length { got: count + 1 });
        }
        let mut sum = 0;
        for (i, (c, w)) in first17.chars().zip(WEIGHTS).enumerate() {
            let digit = c
                .to_digit(10)
                .ok_or(IdNumberError::NonDigit { position: i + 1 })?;
            sum += digit * w;
        }
        Ok(CHECK_CHARS[(sum % 11) as usize])
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The 17th digit: odd for men, even for women.
    pub fn sex(&self) -> Sex {
        let odd = self.value.as_bytes()[16] % 2 == 1;
        if odd { Sex::Male } else { Sex::Female }
    }

    /// First 6 + eight `*` + last 4, e.g. `370305********1234`: what may be shown and logged.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.value[..6], &self.value[14..])
    }

    /// The full number, for the service to encrypt and hash. Named so that every use of the
    /// plain value stands out in review.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

fn birth_date(first17: &str) -> Option<NaiveDate> {
    let year = first17.get(6..10)?.parse().ok()?;
    let month = first17.get(10..12)?.parse().ok()?;
    let day = first17.get(12..14)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day).filter(|_| year >= 1900)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn valid(first17: &str) -> String {
        format!("{first17}{}", IdNumber::check_digit(first17).unwrap())
    }

    #[test]
    fn the_standard_example_number_is_valid() {
        // The worked example of GB 11643-1999.
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.masked(), "110105********002X");
    }

    #[test]
    fn a_lowercase_x_is_accepted_as_uppercase() {
        assert_eq!(
            IdNumber::parse("11010519491231002x").unwrap().expose(),
            "11010519491231002X"
        );
    }

    #[test]
    fn invalid_id_number_is_rejected_with_the_reason() {
        assert_eq!(
            IdNumber::parse("1101051949123100"),
            Err(IdNumberError::Length { got: 16 })
        );
        assert_eq!(
            IdNumber::parse("11010519491231A02X"),
            Err(IdNumberError::NonDigit { position: 15 })
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::CheckDigitMismatch {
                expected: 'X',
                got: '1'
            })
        );
        assert_eq!(
            IdNumber::parse(&valid("37030518991231001")),
            Err(IdNumberError::BadBirthDate)
        );
        assert_eq!(
            IdNumber::parse(&valid("37030520230230001")),
            Err(IdNumberError::BadBirthDate)
        );
        let err = IdNumber::parse("110105194912310021").unwrap_err();
        assert_eq!(err.code(), "INVALID_ID_NUMBER");
        assert_eq!(err.field(), Some("id_number"));
        assert!(
            !err.to_string().contains("110105"),
            "errors never echo the number"
        );
    }

    #[test]
    fn a_birth_date_after_today_is_rejected_when_today_is_given() {
        let id = valid("37030520300101001");
        let today = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        assert!(IdNumber::parse(&id).is_ok());
        assert_eq!(
            IdNumber::parse_as_of(&id, today),
            Err(IdNumberError::BadBirthDate)
        );
    }

    #[test]
    fn debug_output_shows_only_the_masked_number() {
        let id = IdNumber::parse(&valid("37030519800101123")).unwrap();
        let debug = format!("{id:?}");
        assert!(debug.contains("370305********"));
        assert!(!debug.contains("19800101"));
    }

    fn first17() -> impl Strategy<Value = String> {
        (
            "[1-9][0-9]{5}",
            1900i32..2024,
            1u32..=12,
            1u32..=28,
            "[0-9]{3}",
        )
            .prop_map(|(area, y, m, d, seq)| format!("{area}{y:04}{m:02}{d:02}{seq}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_seventeen_digits_with_their_check_digit_parse(first17 in first17()) {
            let id = IdNumber::parse(&valid(&first17)).unwrap();
            prop_assert_eq!(&id.expose()[..17], first17.as_str());
            prop_assert_eq!(id.masked().len(), 18);
        }

        #[test]
        fn changing_any_one_digit_fails(first17 in first17(), position in 0usize..18, delta in 1u32..10) {
            let mut chars: Vec<char> = valid(&first17).chars().collect();
            let changed = if position == 17 {
                let others = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X'];
                let i = others.iter().position(|c| *c == chars[17]).unwrap_or(0);
                others[(i + delta as usize) % others.len()]
            } else {
                let digit = chars[position].to_digit(10).unwrap();
                char::from_digit((digit + delta) % 10, 10).unwrap()
            };
            chars[position] = changed;
            let s: String = chars.into_iter().collect();
            prop_assert!(IdNumber::parse(&s).is_err());
        }
    }
}
