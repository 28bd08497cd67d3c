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

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

pub(crate) use vocab;
