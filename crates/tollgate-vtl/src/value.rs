//! The value model.
//!
//! Velocity manipulates Java objects; API Gateway templates only ever see a
//! handful of kinds: strings, boxed numbers, booleans, `ArrayList`s (and
//! json-smart `JSONArray`s, which print as JSON), `LinkedHashMap`s and a few
//! host objects (`$input`, `$util`, ...).
//!
//! Lists and maps are *shared mutable references*, exactly like Java
//! collections: `#set($b = $a)` followed by `$b.add(1)` changes `$a` too, and a
//! list stored inside a map can be grown through either path. They are
//! therefore `Arc<Mutex<..>>` so that values stay `Send + Sync`.

use std::any::Any;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// An object supplied by the embedder (API Gateway's `$input`, `$util`, ...).
///
/// Velocity resolves `$obj.name` as a property and `$obj.name(args)` as a
/// method call; both are forwarded here.
pub trait HostObject: Send + Sync {
    /// Calls `method` with evaluated arguments. `Err` aborts rendering, like a
    /// Java exception thrown from a method does in Velocity.
    /// Return `Ok(Value::Null)` for "no such method": Velocity then renders the
    /// reference literally.
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String>;

    /// Resolves `$obj.name`; `None` renders the reference literally.
    fn property(&self, name: &str) -> Option<Value>;

    /// What `$obj` renders as (Java's `toString()`).
    fn display(&self) -> String {
        String::from("[object]")
    }

    /// Lets the engine recognise its own host objects (`#define` blocks).
    /// Embedders keep the default.
    #[doc(hidden)]
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}

/// A value seen by templates.
#[derive(Clone, Default)]
pub enum Value {
    /// Java `null`; a reference holding it renders literally (`$x`).
    #[default]
    Null,
    Bool(bool),
    /// Java `Integer`/`Long`; both render identically.
    Int(i64),
    /// Java `Double`.
    Float(f64),
    String(String),
    List(List),
    Map(Map),
    Object(Arc<dyn HostObject>),
}

/// Locks a mutex, ignoring poisoning: values hold no invariants that a
/// panicking writer could break.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An immutable tree lent by the embedder, typically a parsed JSON document.
///
/// Templates read documents far more than they change them, and often read
/// only a few fields of a large one. [`Frozen::to_value`] therefore does not
/// copy the tree: a map or list made from it copies its entries out one
/// level at a time, when they are first read (a map read by key copies just
/// that entry). The result behaves exactly like a map or list built eagerly:
/// each entry becomes one shared value, whatever the path that reads it.
#[derive(Clone, Debug)]
pub enum Frozen {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond `i64` (json-smart's `BigInteger`): a double to
    /// templates, all its digits in JSON text.
    Unsigned(u64),
    Float(f64),
    String(Box<str>),
    /// A `JSONArray` (see [`List::new_json`]).
    List(Arc<[Frozen]>),
    /// An ordered map; keys must be unique.
    Map(Arc<[(Box<str>, Frozen)]>),
}

impl Frozen {
    /// A template value for this tree; maps and lists copy themselves out
    /// lazily (see the type's docs).
    pub fn to_value(&self) -> Value {
        match self {
            Frozen::Null => Value::Null,
            Frozen::Bool(b) => Value::Bool(*b),
            Frozen::Int(i) => Value::Int(*i),
            Frozen::Unsigned(u) => Value::Float(*u as f64),
            Frozen::Float(f) => Value::Float(*f),
            Frozen::String(s) => Value::String(String::from(&**s)),
            Frozen::List(items) => Value::List(List {
                items: Arc::new(Mutex::new(ListItems {
                    items: Vec::new(),
                    frozen: Some(Arc::clone(items)),
                })),
                json: true,
            }),
            Frozen::Map(entries) => Value::Map(Map(Arc::new(Mutex::new(MapEntries {
                entries: Vec::new(),
                frozen: Some(FrozenEntries {
                    src: Arc::clone(entries),
                    copied: Vec::new(),
                }),
            })))),
        }
    }
}

/// A shared, mutable list: a Java `ArrayList`, or a json-smart `JSONArray`
/// when it came from JSON (see [`List::new_json`]).
#[derive(Clone, Default)]
pub struct List {
    items: Arc<Mutex<ListItems>>,
    /// A `JSONArray`: `toString()` writes JSON (`["a",1]`) instead of
    /// `[a, 1]`. It is a property of the list itself, so it survives `add`,
    /// `#set($b = $a)` and nesting.
    json: bool,
}

/// The elements of a list, still in their [`Frozen`] tree until first used.
#[derive(Default)]
struct ListItems {
    items: Vec<Value>,
    frozen: Option<Arc<[Frozen]>>,
}

impl List {
    /// A list made by a template or the embedder (Java `ArrayList`).
    pub fn new(items: Vec<Value>) -> Self {
        List {
            items: Arc::new(Mutex::new(ListItems {
                items,
                frozen: None,
            })),
            json: false,
        }
    }
    /// A list parsed from JSON (json-smart `JSONArray`, which is what API
    /// Gateway's `$input.path` and `$util.parseJson` return for arrays). It
    /// behaves like any list but renders as compact JSON.
    pub fn new_json(items: Vec<Value>) -> Self {
        List {
            json: true,
            ..List::new(items)
        }
    }
    /// The elements, copied out of their frozen tree if need be.
    fn lock(&self) -> MutexGuard<'_, ListItems> {
        let mut g = lock(&self.items);
        if let Some(frozen) = g.frozen.take() {
            g.items = frozen.iter().map(Frozen::to_value).collect();
        }
        g
    }
    /// True for a list from [`List::new_json`].
    pub fn is_json(&self) -> bool {
        self.json
    }
    /// A snapshot of the elements (cheap: lists and maps inside are shared).
    pub fn items(&self) -> Vec<Value> {
        self.lock().items.clone()
    }
    pub fn len(&self) -> usize {
        let g = lock(&self.items);
        g.frozen.as_ref().map_or(g.items.len(), |f| f.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: usize) -> Option<Value> {
        self.lock().items.get(i).cloned()
    }
    /// Runs `f` with the vector locked. `f` must not touch other values that
    /// could be this same list (evaluate arguments before calling).
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut Vec<Value>) -> R) -> R {
        f(&mut self.lock().items)
    }
    /// True when both handles point at the same list.
    pub fn same(&self, other: &List) -> bool {
        Arc::ptr_eq(&self.items, &other.items)
    }
}

/// A shared, mutable, insertion-ordered map with string keys (Java
/// `LinkedHashMap<String, Object>`, which is what API Gateway builds from JSON).
#[derive(Clone, Default)]
pub struct Map(Arc<Mutex<MapEntries>>);

/// The entries of a map; those of a map made from a [`Frozen`] tree stay
/// there until the map is used as a whole (reads by key copy one entry).
#[derive(Default)]
struct MapEntries {
    entries: Vec<(String, Value)>,
    /// When set, `entries` is empty and the map is `src`, with the values
    /// read so far in `copied` (same positions).
    frozen: Option<FrozenEntries>,
}

struct FrozenEntries {
    src: Arc<[(Box<str>, Frozen)]>,
    copied: Vec<Option<Value>>,
}

impl MapEntries {
    /// Copies every entry out of the frozen tree, keeping those already read.
    fn thaw(&mut self) {
        if let Some(FrozenEntries { src, copied }) = self.frozen.take() {
            let mut copied = copied.into_iter();
            self.entries = src
                .iter()
                .map(|(k, f)| {
                    let v = copied.next().flatten().unwrap_or_else(|| f.to_value());
                    (String::from(&**k), v)
                })
                .collect();
        }
    }
}

impl Map {
    /// A map of `entries` in order; a repeated key keeps its first position
    /// and its last value (as successive `put`s do).
    pub fn new(entries: Vec<(String, Value)>) -> Self {
        let mut items: Vec<(String, Value)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match items.iter_mut().find(|(x, _)| *x == k) {
                Some(slot) => slot.1 = v,
                None => items.push((k, v)),
            }
        }
        Map(Arc::new(Mutex::new(MapEntries {
            entries: items,
            frozen: None,
        })))
    }
    /// The entries, copied out of their frozen tree if need be.
    fn lock(&self) -> MutexGuard<'_, MapEntries> {
        let mut g = lock(&self.0);
        g.thaw();
        g
    }
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.lock().entries.clone()
    }
    /// The keys, in order.
    pub fn keys(&self) -> Vec<String> {
        let g = lock(&self.0);
        match &g.frozen {
            Some(f) => f.src.iter().map(|(k, _)| String::from(&**k)).collect(),
            None => g.entries.iter().map(|(k, _)| k.clone()).collect(),
        }
    }
    pub fn len(&self) -> usize {
        let g = lock(&self.0);
        g.frozen.as_ref().map_or(g.entries.len(), |f| f.src.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, key: &str) -> Option<Value> {
        let mut g = lock(&self.0);
        if let Some(FrozenEntries { src, copied }) = &mut g.frozen {
            let i = src.iter().position(|(k, _)| &**k == key)?;
            let f = &src[i].1;
            if !matches!(f, Frozen::List(_) | Frozen::Map(_)) {
                // A copy of a scalar is as good as the one a thaw makes.
                return Some(f.to_value());
            }
            if copied.is_empty() {
                *copied = std::iter::repeat_with(|| None).take(src.len()).collect();
            }
            return Some(copied[i].get_or_insert_with(|| f.to_value()).clone());
        }
        g.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
    pub fn contains_key(&self, key: &str) -> bool {
        let g = lock(&self.0);
        match &g.frozen {
            Some(f) => f.src.iter().any(|(k, _)| &**k == key),
            None => g.entries.iter().any(|(k, _)| k == key),
        }
    }
    /// Inserts or replaces (keeping the original position, as LinkedHashMap
    /// does) and returns the previous value.
    pub fn insert(&self, key: String, value: Value) -> Option<Value> {
        let mut g = self.lock();
        if let Some(slot) = g.entries.iter_mut().find(|(k, _)| *k == key) {
            return Some(std::mem::replace(&mut slot.1, value));
        }
        g.entries.push((key, value));
        None
    }
    pub fn remove(&self, key: &str) -> Option<Value> {
        let mut g = self.lock();
        let idx = g.entries.iter().position(|(k, _)| k == key)?;
        Some(g.entries.remove(idx).1)
    }
    pub fn clear(&self) {
        let mut g = lock(&self.0);
        g.frozen = None;
        g.entries.clear();
    }
    pub fn same(&self, other: &Map) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    /// True when this handle is the only one to the map: nothing else can
    /// see it or change it. Lets an embedder reuse a map it built earlier
    /// instead of building an identical one.
    pub fn is_unique(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
    /// Runs `f` with the entries locked (read-only).
    pub fn with_entries<R>(&self, f: impl FnOnce(&[(String, Value)]) -> R) -> R {
        f(&self.lock().entries)
    }
}

/// Writes a host object met while rendering a value (see `Value::write_java`).
pub(crate) type WriteObject<'a, E> =
    dyn FnMut(&Arc<dyn HostObject>, &mut String) -> Result<(), E> + 'a;

/// Nesting beyond which rendering a (possibly self-containing) collection
/// gives up instead of recursing forever.
const MAX_RENDER_DEPTH: usize = 64;

impl Value {
    /// Builds a list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List::new(items))
    }
    /// Builds a list parsed from JSON (a `JSONArray`; see [`List::new_json`]).
    pub fn json_list(items: Vec<Value>) -> Value {
        Value::List(List::new_json(items))
    }
    /// Builds a map value from key/value pairs (insertion order kept).
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Map::new(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }
    /// The Java type name, used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "Boolean",
            Value::Int(_) => "Integer",
            Value::Float(_) => "Double",
            Value::String(_) => "String",
            Value::List(_) => "List",
            Value::Map(_) => "Map",
            Value::Object(_) => "Object",
        }
    }

    /// Java `String.valueOf(value)`: what Velocity writes for `$value`.
    pub fn to_java_string(&self) -> String {
        let mut out = String::new();
        let mut display = |o: &Arc<dyn HostObject>, out: &mut String| {
            out.push_str(&o.display());
            Ok::<(), Infallible>(())
        };
        match self.write_java(&mut out, 0, &mut display) {
            Ok(()) => out,
        }
    }

    /// Writes `String.valueOf(self)`; `object` writes the host objects met
    /// on the way (the renderer expands `#define` blocks there).
    pub(crate) fn write_java<E>(
        &self,
        out: &mut String,
        depth: usize,
        object: &mut WriteObject<'_, E>,
    ) -> Result<(), E> {
        if depth > MAX_RENDER_DEPTH {
            out.push_str("(this Collection)");
            return Ok(());
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => write_int(*i, out),
            Value::Float(f) => write_java_double(*f, out),
            Value::String(s) => out.push_str(s),
            Value::List(l) if l.is_json() => self.write_json(out, depth),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.items().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_java(out, depth + 1, object)?;
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.entries().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write_java(out, depth + 1, object)?;
                }
                out.push('}');
            }
            Value::Object(o) => object(o, out)?,
        }
        Ok(())
    }

    /// json-smart's `JSONValue.toJSONString`, which is how a `JSONArray`
    /// prints itself: compact JSON, everything inside it written as JSON too.
    fn write_json(&self, out: &mut String, depth: usize) {
        if depth > MAX_RENDER_DEPTH {
            // Java overflows its stack here.
            out.push_str("null");
            return;
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => write_int(*i, out),
            Value::Float(f) if f.is_infinite() => out.push_str("null"),
            Value::Float(f) => write_java_double(*f, out),
            Value::String(s) => write_json_string(s, out),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.items().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out, depth + 1);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.entries().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(k, out);
                    out.push(':');
                    v.write_json(out, depth + 1);
                }
                out.push('}');
            }
            // json-smart writes other objects as beans; the host objects
            // templates see (`$util`, `#define` blocks) have no properties.
            Value::Object(_) => out.push_str("{}"),
        }
    }

    /// Java `a.equals(b)`: no numeric widening between Integer and Double.
    pub fn java_equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits() || a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                if a.same(b) {
                    return true;
                }
                let (a, b) = (a.items(), b.items());
                a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.java_equals(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                if a.same(b) {
                    return true;
                }
                let (a, b) = (a.entries(), b.entries());
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter()
                            .find(|(k2, _)| k2 == k)
                            .is_some_and(|(_, v2)| v.java_equals(v2))
                    })
            }
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Writes a quoted JSON string with json-smart's escaping: the usual short
/// escapes, `\/`, and `\uXXXX` (upper-case hex) for C0/C1 controls, DEL and
/// U+2000..U+20FF.
pub fn write_json_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2000}'..='\u{20ff}' => {
                write_unicode_escape(c as u16, out);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `\uXXXX` (upper-case hex) for one UTF-16 code unit.
pub fn write_unicode_escape(unit: u16, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
}

/// Writes an integer in decimal (Java's `Long.toString`).
pub fn write_int(i: i64, out: &mut String) {
    use fmt::Write as _;
    let _ = write!(out, "{i}");
}

/// Formats a double like Java's `Double.toString`: shortest round-trip digits,
/// always with a fractional part, and computerized scientific notation
/// (`1.0E7`, `1.0E-4`) outside `[1e-3, 1e7)`.
pub fn java_double(f: f64) -> String {
    let mut out = String::new();
    write_java_double(f, &mut out);
    out
}

/// Writes `f` as [`java_double`] formats it.
pub fn write_java_double(f: f64, out: &mut String) {
    use fmt::Write as _;
    if f.is_nan() {
        return out.push_str("NaN");
    }
    if f.is_infinite() {
        return out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if f == 0.0 {
        return out.push_str(if f.is_sign_negative() { "-0.0" } else { "0.0" });
    }
    let start = out.len();
    if (1e-3..1e7).contains(&f.abs()) {
        let _ = write!(out, "{f}");
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    } else {
        // Rust gives e.g. "1.23456789123e8" or "1e20".
        let _ = write!(out, "{f:e}");
        let e = start + out[start..].find('e').unwrap_or(out.len() - start);
        let exp = out[e..].trim_start_matches('e').to_string();
        out.truncate(e);
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
        out.push('E');
        out.push_str(&exp);
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{s:?}"),
            Value::Object(o) => write!(f, "Object({})", o.display()),
            other => f.write_str(&other.to_java_string()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_java_string())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::list(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_render_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(3.5), "3.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(9999999.0), "9999999.0");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(123456789.123), "1.23456789123E8");
        assert_eq!(java_double(-0.5), "-0.5");
        assert_eq!(java_double(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn collections_render_like_java() {
        let v = Value::map([
            ("a", Value::Int(1)),
            ("b", Value::list(vec![Value::from("x"), Value::Null])),
        ]);
        assert_eq!(v.to_java_string(), "{a=1, b=[x, null]}");
    }

    #[test]
    fn json_lists_render_as_json() {
        let inner = Value::json_list(vec![Value::from("a\"/"), Value::Float(1.0)]);
        let map = Value::map([("k", Value::list(vec![Value::Int(1), Value::Null]))]);
        let outer = Value::json_list(vec![inner.clone(), map.clone()]);
        assert_eq!(inner.to_java_string(), r#"["a\"\/",1.0]"#);
        assert_eq!(outer.to_java_string(), r#"[["a\"\/",1.0],{"k":[1,null]}]"#);
        // A template list prints Java-style, its JSON elements as JSON.
        let mixed = Value::list(vec![inner, map]);
        assert_eq!(mixed.to_java_string(), r#"[["a\"\/",1.0], {k=[1, null]}]"#);
    }

    #[test]
    fn self_containing_list_does_not_recurse_forever() {
        let l = List::new(vec![]);
        l.with_mut(|v| v.push(Value::List(l.clone())));
        assert!(Value::List(l.clone()).to_java_string().len() < 10_000);
        l.with_mut(|v| v.clear()); // break the cycle so the Arc is freed
    }

    #[test]
    fn map_keeps_insertion_order_on_replace() {
        let m = Map::new(vec![
            ("a".into(), Value::Int(1)),
            ("b".into(), Value::Int(2)),
        ]);
        assert!(m.insert("a".into(), Value::Int(3)).is_some());
        assert_eq!(Value::Map(m).to_java_string(), "{a=3, b=2}");
    }
}
