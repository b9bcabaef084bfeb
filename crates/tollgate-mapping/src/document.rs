//! JSON text parsed straight into a [`Frozen`] tree, which `$input.path`
//! hands out lazily and `$input.json` writes back
//! ([`frozen_json_text`](crate::convert::frozen_json_text)), without building
//! a `serde_json::Value` (and its hash-indexed objects) first.
//!
//! The tree is what [`to_frozen`](crate::convert::to_frozen) makes of the
//! `serde_json::Value` the same text parses to: same failures (the parser is
//! `serde_json`'s), same number kinds, and a repeated key keeps its first
//! position and its last value.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use tollgate_vtl::Frozen;

/// Parses `text` as `serde_json::from_str::<serde_json::Value>` would.
pub(crate) fn parse(text: &str) -> Result<Frozen, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let tree = Builder.deserialize(&mut de)?;
    de.end()?;
    Ok(tree)
}

/// Builds a [`Frozen`] node from whatever the parser reads next.
#[derive(Clone, Copy)]
struct Builder;

impl<'de> DeserializeSeed<'de> for Builder {
    type Value = Frozen;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Frozen, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Builder {
    type Value = Frozen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Frozen, E> {
        Ok(Frozen::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Frozen, E> {
        Ok(Frozen::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Frozen, E> {
        Ok(Frozen::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Frozen, E> {
        Ok(i64::try_from(u).map_or(Frozen::Unsigned(u), Frozen::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Frozen, E> {
        Ok(Frozen::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Frozen, E> {
        Ok(Frozen::String(s.into()))
    }
    fn visit_string<E>(self, s: String) -> Result<Frozen, E> {
        Ok(Frozen::String(s.into_boxed_str()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Frozen, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element_seed(self)? {
            items.push(x);
        }
        Ok(Frozen::List(items.into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Frozen, A::Error> {
        let mut entries: Vec<(Box<str>, Frozen)> = Vec::new();
        while let Some(k) = map.next_key::<Box<str>>()? {
            let v = map.next_value_seed(self)?;
            entries.push((k, v));
        }
        Ok(Frozen::Map(without_repeats(entries).into()))
    }
}

/// `entries` with each key once, at its first position with its last value
/// (as successive inserts into an ordered map leave them).
fn without_repeats(mut entries: Vec<(Box<str>, Frozen)>) -> Vec<(Box<str>, Frozen)> {
    // Small objects, the usual kind, are checked pair by pair.
    const SMALL: usize = 16;
    if entries.len() <= SMALL
        && entries
            .iter()
            .enumerate()
            .all(|(i, (k, _))| entries[..i].iter().all(|(x, _)| x != k))
    {
        return entries;
    }
    // Sorting positions by key finds repeats in O(n log n), even for huge
    // objects; almost always there are none.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].0.cmp(&entries[b].0).then(a.cmp(&b)));
    let mut drop = vec![false; entries.len()];
    // (first position, last position) of each repeated key.
    let mut moves = Vec::new();
    for run in order.chunk_by(|&a, &b| entries[a].0 == entries[b].0) {
        if let [first, .., last] = run {
            moves.push((*first, *last));
            for &i in &run[1..] {
                drop[i] = true;
            }
        }
    }
    for &(first, last) in &moves {
        entries.swap(first, last);
    }
    if !moves.is_empty() {
        let mut keep = drop.iter().map(|d| !d);
        entries.retain(|_| keep.next().unwrap_or(true));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{frozen_json_text, to_frozen};

    fn same_as_serde(text: &str) {
        let tree = parse(text).expect("parses");
        let json: serde_json::Value = serde_json::from_str(text).expect("serde parses");
        assert_eq!(format!("{tree:?}"), format!("{:?}", to_frozen(&json)));
    }

    #[test]
    fn parses_like_serde_json() {
        same_as_serde(r#"{"a":[1,-2,3.5,1e300,"x\u2019/",null,true],"b":{"c":{}},"d":[]}"#);
        same_as_serde("18446744073709551615");
        same_as_serde(r#"{"k":1,"j":2,"k":3,"j":4,"i":5}"#);
        // A large object, with and without repeats.
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 25)).collect();
        same_as_serde(&format!("{{{}}}", keys.join(",")));
        same_as_serde(&format!("{{{}}}", keys[..25].join(",")));
        same_as_serde(r#""top""#);
        let big = parse("[18446744073709551615]").expect("parses");
        assert_eq!(frozen_json_text(&big), "[18446744073709551615]");
    }

    #[test]
    fn repeated_keys_keep_first_position_and_last_value() {
        let tree = parse(r#"{"b":1,"a":2,"b":3,"c":4,"a":5,"b":6}"#).expect("parses");
        assert_eq!(frozen_json_text(&tree), r#"{"b":6,"a":5,"c":4}"#);
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for bad in ["", "{", "[1,]", "{} x", "nul", "1e400", &"[".repeat(200)] {
            assert!(parse(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<serde_json::Value>(bad).is_err());
        }
    }
}
