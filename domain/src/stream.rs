//! Stream ids: where each aggregate's events live, built and parsed in one place.

use std::fmt;

use uuid::Uuid;

/// One stream per aggregate instance. The text form (`household-<uuid>`, `policy-37`, …) is what
/// the log stores; its prefix is the stream's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    /// 一户一档 — a household's case file.
    Household(Uuid),
    /// 研判预警 — one early warning.
    Alert(Uuid),
    /// A user's roles, jurisdiction, assignments and samples.
    User(Uuid),
    /// A province's effective-dated policy (2-digit code).
    Policy(String),
    /// A county's region tree (6-digit code).
    Regions(String),
}

impl StreamId {
    /// The stream's type, as the log's `stream_type` column holds it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Household(_) => "household",
            Self::Alert(_) => "alert",
            Self::User(_) => "user",
            Self::Policy(_) => "policy",
            Self::Regions(_) => "regions",
        }
    }

    /// The stream behind a stored id, if it is one of the domain's.
    pub fn parse(id: &str) -> Option<Self> {
        let (kind, rest) = id.split_once('-')?;
        let uuid = || Uuid::parse_str(rest).ok();
        let digits = |n: usize| rest.len() == n && rest.bytes().all(|b| b.is_ascii_digit());
        match kind {
            "household" => uuid().map(Self::Household),
            "alert" => uuid().map(Self::Alert),
            "user" => uuid().map(Self::User),
            "policy" if digits(2) => Some(Self::Policy(rest.to_owned())),
            "regions" if digits(6) => Some(Self::Regions(rest.to_owned())),
            _ => None,
        }
    }

    /// The aggregate's uuid, for the streams that have one.
    pub fn uuid(&self) -> Option<Uuid> {
        match self {
            Self::Household(id) | Self::Alert(id) | Self::User(id) => Some(*id),
            Self::Policy(_) | Self::Regions(_) => None,
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Household(id) | Self::Alert(id) | Self::User(id) => {
                write!(f, "{}-{id}", self.kind())
            }
            Self::Policy(code) | Self::Regions(code) => write!(f, "{}-{code}", self.kind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_id_round_trips_through_its_text() {
        let id = Uuid::from_u128(7);
        for s in [
            StreamId::Household(id),
            StreamId::Alert(id),
            StreamId::User(id),
            StreamId::Policy("37".into()),
            StreamId::Regions("370305".into()),
        ] {
            assert_eq!(StreamId::parse(&s.to_string()), Some(s.clone()));
            assert!(s.to_string().starts_with(s.kind()));
        }
        assert_eq!(StreamId::parse("household-370305-1"), None);
        assert_eq!(StreamId::parse("policy-370"), None);
        assert_eq!(StreamId::parse("bench-1"), None);
    }
}
