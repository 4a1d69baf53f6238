//! JSON fields read in one pass and leniently: a field of the expected
//! shape is read, and one of any other shape (or `null`) is skipped and
//! reads as absent, never failing the whole message. Feeds written by
//! others put odd values in fields this client barely needs; a certstream
//! message must not be lost for its `seen` being a string.
//!
//! Each wrapper visits whatever the JSON holds (`deserialize_any`), so no
//! value is buffered or scanned twice.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Skips the rest of an array or object.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// The visitor methods every lenient reader shares: anything that is not
/// its shape reads as `None`.
macro_rules! otherwise_absent {
    ($($skip:ident)*) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> { Ok(Default::default()) }
        fn visit_unit<E>(self) -> Result<Self::Value, E> { Ok(Default::default()) }
        $(otherwise_absent!(@$skip);)*
    };
    (@numbers) => {
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> { Ok(Default::default()) }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> { Ok(Default::default()) }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> { Ok(Default::default()) }
    };
    (@strings) => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> { Ok(Default::default()) }
    };
    (@seqs) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(Default::default())
        }
    };
    (@maps) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok(Default::default())
        }
    };
}

/// A string, borrowed from the message unless it holds escapes.
#[derive(Debug, Default)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    pub fn owned(&self) -> Option<String> {
        self.0.as_deref().map(str::to_string)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            otherwise_absent!(numbers seqs maps);
        }
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

/// A number, integer or float.
#[derive(Debug, Default)]
pub struct Number(pub Option<serde_json::Number>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> Visitor<'de> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Number(Some(v.into())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Number(Some(v.into())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Number(serde_json::Number::from_f64(v)))
            }
            otherwise_absent!(strings seqs maps);
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

/// An array of strings; its members that are not strings are skipped.
#[derive(Debug, Default)]
pub struct TextList<'a>(pub Option<Vec<Text<'a>>>);

impl<'de: 'a, 'a> Deserialize<'de> for TextList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ListVisitor<'a> {
            type Value = TextList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(item) = seq.next_element::<Text<'a>>()? {
                    items.push(item);
                }
                Ok(TextList(Some(items)))
            }
            otherwise_absent!(numbers strings maps);
        }
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

/// An object read as `T` (whose own fields are lenient).
#[derive(Debug)]
pub struct Object<T>(pub Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Object(Some(t)))
            }
            otherwise_absent!(numbers strings seqs);
        }
        deserializer.deserialize_any(ObjectVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, default)]
        text: Text<'a>,
        #[serde(default)]
        number: Number,
        #[serde(borrow, default)]
        list: TextList<'a>,
        #[serde(default)]
        object: Object<Inner>,
    }

    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        n: Number,
    }

    #[test]
    fn fields_of_the_wrong_shape_read_as_absent() {
        let p: Probe = serde_json::from_str(
            r#"{"text": {"a": [1, 2]}, "number": "7", "list": {"x": 1}, "object": [1, {"n": 2}]}"#,
        )
        .unwrap();
        assert!(p.text.0.is_none() && p.number.0.is_none());
        assert!(p.list.0.is_none() && p.object.0.is_none());
        let p: Probe = serde_json::from_str(
            r#"{"text": "a\"b", "number": 1.5, "list": ["x", 3, null, "y"], "object": {"n": 2, "m": {}}}"#,
        )
        .unwrap();
        assert_eq!(p.text.0.as_deref(), Some("a\"b"));
        assert_eq!(p.number.0.and_then(|n| n.as_f64()), Some(1.5));
        let list: Vec<_> = p.list.0.unwrap().into_iter().map(|t| t.0).collect();
        assert_eq!(list, vec![Some("x".into()), None, None, Some("y".into())]);
        assert_eq!(p.object.0.unwrap().n.0.and_then(|n| n.as_u64()), Some(2));
        let empty: Probe = serde_json::from_str("{}").unwrap();
        assert!(empty.text.0.is_none() && empty.list.0.is_none());
    }

    #[test]
    fn plain_strings_are_borrowed() {
        let p: Probe = serde_json::from_str(r#"{"text": "plain"}"#).unwrap();
        assert!(matches!(p.text.0, Some(Cow::Borrowed("plain"))));
    }
}
