//! Which keys a job came with, so that a job read and written back (PUT) sends every key
//! it read: a key that came as `null`, or that the caller cleared, goes back as `null`.
//!
//! The keys are recorded while the job decodes, by a [`Deserializer`] that wraps the real
//! one and forwards every call: the typed decoding still runs on the original input, so
//! an error keeps its JSON path.

use std::fmt;
use std::sync::Arc;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

/// The shape of a JSON value as it came: which keys its objects had, at every level.
#[derive(Debug, Clone, Default, PartialEq)]
enum Shape {
    /// A number, string, bool or null: nothing below it to remember.
    #[default]
    Leaf,
    /// A list (sent back as `[]` when the model leaves it out because it is empty).
    List(Vec<Shape>),
    /// An object and the shape under each of its keys.
    Object(Vec<(String, Shape)>),
}

/// The keys a [`Job`](super::Job) was decoded with; empty for a job built in code.
///
/// Bookkeeping, not data: two jobs with the same fields are equal whatever keys they came
/// with.
#[derive(Clone, Default)]
pub(crate) struct Received(Option<Arc<Shape>>);

impl PartialEq for Received {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Received" } else { "None" })
    }
}

impl Received {
    /// Decodes `T` from `d`, recording the keys on the way.
    pub(crate) fn decode<'de, D, T, F>(d: D, decode: F) -> Result<(T, Received), D::Error>
    where
        D: Deserializer<'de>,
        F: FnOnce(Recorder<'_, D>) -> Result<T, D::Error>,
    {
        let mut shape = Shape::Leaf;
        let value = decode(Recorder {
            inner: d,
            shape: &mut shape,
        })?;
        Ok((value, Received(Some(Arc::new(shape)))))
    }

    /// Puts back, as `null` (or `[]` for a list), every key that came but that `value`
    /// no longer has.
    pub(crate) fn restore(&self, value: &mut Value) {
        if let Some(shape) = &self.0 {
            restore(shape, value);
        }
    }
}

fn restore(shape: &Shape, value: &mut Value) {
    match (shape, value) {
        (Shape::Object(keys), Value::Object(map)) => {
            for (key, below) in keys {
                match map.get_mut(key) {
                    Some(v) => restore(below, v),
                    None => {
                        let empty = match below {
                            Shape::List(_) => Value::Array(Vec::new()),
                            _ => Value::Null,
                        };
                        map.insert(key.clone(), empty);
                    }
                }
            }
        }
        (Shape::List(items), Value::Array(values)) => {
            for (below, v) in items.iter().zip(values) {
                restore(below, v);
            }
        }
        _ => {}
    }
}

/// A [`Deserializer`] that forwards to `inner` and records the shape of what passes.
pub(crate) struct Recorder<'s, D> {
    inner: D,
    shape: &'s mut Shape,
}

/// A [`Visitor`] that forwards to `inner`, recording objects and lists into `shape`.
struct RecordingVisitor<'s, V> {
    inner: V,
    shape: &'s mut Shape,
}

macro_rules! forward_deserialize {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?,)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, D::Error> {
                self.inner.$method($($($arg,)*)? RecordingVisitor { inner: visitor, shape: self.shape })
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Recorder<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any, deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32,
        deserialize_i64, deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32,
        deserialize_u64, deserialize_u128, deserialize_f32, deserialize_f64, deserialize_char,
        deserialize_str, deserialize_string, deserialize_bytes, deserialize_byte_buf,
        deserialize_option, deserialize_unit, deserialize_seq, deserialize_map,
        deserialize_identifier, deserialize_ignored_any,
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty),)*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for RecordingVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char), visit_str(&str),
        visit_borrowed_str(&'de str), visit_string(String), visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(Recorder {
            inner: d,
            shape: self.shape,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(Recorder {
            inner: d,
            shape: self.shape,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        *self.shape = Shape::List(Vec::new());
        let Shape::List(items) = self.shape else {
            unreachable!("just set")
        };
        self.inner.visit_seq(RecordingSeq { inner: seq, items })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        *self.shape = Shape::Object(Vec::new());
        let Shape::Object(keys) = self.shape else {
            unreachable!("just set")
        };
        self.inner.visit_map(RecordingMap { inner: map, keys })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        // Job models have no enums decoded from JSON objects; nothing below to record.
        self.inner.visit_enum(data)
    }
}

struct RecordingSeq<'s, A> {
    inner: A,
    items: &'s mut Vec<Shape>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for RecordingSeq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.items.push(Shape::Leaf);
        let shape = self.items.last_mut().expect("just pushed");
        let got = self
            .inner
            .next_element_seed(RecordingSeed { inner: seed, shape })?;
        if got.is_none() {
            self.items.pop();
        }
        Ok(got)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct RecordingMap<'s, A> {
    inner: A,
    keys: &'s mut Vec<(String, Shape)>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for RecordingMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.inner.next_key::<String>()? {
            None => Ok(None),
            Some(key) => {
                let decoded = seed.deserialize(key.as_str().into_deserializer())?;
                self.keys.push((key, Shape::Leaf));
                Ok(Some(decoded))
            }
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        match self.keys.last_mut() {
            Some((_, shape)) => self
                .inner
                .next_value_seed(RecordingSeed { inner: seed, shape }),
            None => self.inner.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct RecordingSeed<'s, T> {
    inner: T,
    shape: &'s mut Shape,
}

impl<'de, T: DeserializeSeed<'de>> DeserializeSeed<'de> for RecordingSeed<'_, T> {
    type Value = T::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T::Value, D::Error> {
        self.inner.deserialize(Recorder {
            inner: d,
            shape: self.shape,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn recorded_keys_come_back_as_null_or_empty_lists() {
        let input = json!({"a": null, "b": [1, {"c": null, "d": 2}], "e": {"f": []}});
        let (_, received) = Received::decode(&input, |r| Value::deserialize(r)).unwrap();
        let mut value = json!({"b": [1, {"d": 2}], "e": {}});
        received.restore(&mut value);
        assert_eq!(
            value,
            json!({"a": null, "b": [1, {"c": null, "d": 2}], "e": {"f": []}})
        );
    }
}
