//! `string_enum!`: an enum over the text values the service sends, with a catch-all.

/// Declares a `#[non_exhaustive]` enum whose values travel as strings.
///
/// Each variant names its canonical (display) spelling. Decoding compares spellings with
/// case, spaces and underscores ignored, so `Waiting for Queue` and `WAITING_FOR_QUEUE`
/// are the same value; a spelling no variant has decodes into `Other(text)`, keeping the
/// text, so a value the service adds tomorrow never breaks decoding.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The display spelling, as the service shows it (e.g. `Waiting for Queue`).
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(text) => text,
                }
            }

            /// The upper-case spelling list filters take (e.g. `WAITING_FOR_QUEUE`).
            pub fn api_name(&self) -> String {
                match self {
                    $name::Other(text) => text.clone(),
                    known => known.as_str().to_uppercase().replace(' ', "_"),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let key = $crate::macros::spelling_key(text);
                $(
                    if key == $crate::macros::spelling_key($text) {
                        return Ok($name::$variant);
                    }
                )+
                Ok($name::Other(text.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                let Ok(value) = text.parse();
                Ok(value)
            }
        }
    };
}

/// The spelling with case, spaces, hyphens and underscores ignored.
pub(crate) fn spelling_key(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}
