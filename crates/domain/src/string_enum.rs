//! `string_enum!`: the one helper behind every enum that is stored or sent as
//! a fixed string (event types, severities, alert states, channel kinds).
//! It gives `as_str`, `parse`, `ALL` and serde that names the allowed values
//! when it refuses one, so no enum hand-writes its own table twice.

macro_rules! string_enum {
    // `plain`: the table only, for enums whose serde comes from a derive
    // (their API error messages are serde's own).
    (plain $(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $crate::string_enum::string_enum!(plain $(#[$doc])* $name { $($(#[$vdoc])* $variant = $text),* });

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    let all: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    ::serde::de::Error::custom(format!("unknown value {s:?}; expected one of {}", all.join(", ")))
                })
            }
        }
    };
}

pub(crate) use string_enum;
