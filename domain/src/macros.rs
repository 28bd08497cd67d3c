//! `vocab!`: closed lists of codes with Chinese labels.

/// Declares a vocabulary enum: serialised as its SCREAMING_SNAKE_CASE code, with
/// `code()`, `label_zh()`, `from_code()` and `ALL`, so that every list a front end shows
/// is declared once, code and label side by side.
macro_rules! vocab {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $zh:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable machine code carried by the API and the event log.
            pub fn code(&self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// The Chinese label a front end shows.
            pub fn label_zh(&self) -> &'static str {
                match self { $(Self::$variant => $zh),+ }
            }

            /// The value with this code, if any.
            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }

        impl $crate::vocab::Code for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn code(&self) -> &'static str {
                $name::code(self)
            }
            fn label_zh(&self) -> &'static str {
                $name::label_zh(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

pub(crate) use vocab;

/// Declares an aggregate's event enum (struct variants, serialised with a `type` tag, exactly as
/// the log stores them) with `event_type()`, `TYPES` and `at()` (every fact carries its business
/// time in a field `at`), so that no list of variants is written twice.
macro_rules! events {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident { $( $(#[$fmeta:meta])* $field:ident : $fty:ty ),* $(,)? },
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant { $( $(#[$fmeta])* $field : $fty ),* },
            )+
        }

        impl $crate::event::Fact for $name {
            fn event_type(&self) -> &'static str {
                $name::event_type(self)
            }
            fn at(&self) -> chrono::DateTime<chrono::Utc> {
                $name::at(self)
            }
        }

        impl $name {
            /// Every event type name, in declaration order.
            pub const TYPES: &'static [&'static str] = &[$(stringify!($variant)),+];

            /// The type name the log stores beside the body.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => stringify!($variant), )+
                }
            }

            /// Business time of the fact.
            pub fn at(&self) -> chrono::DateTime<chrono::Utc> {
                match self {
                    $( Self::$variant { at, .. } => *at, )+
                }
            }
        }
    };
}

pub(crate) use events;
