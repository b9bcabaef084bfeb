//! The renderer: walks the AST against a [`Context`].
//!
//! Semantics follow Velocity 1.7 as configured by API Gateway:
//!
//! * a null or undefined reference renders as its own source text (`$x`),
//!   or as nothing when quiet (`$!x`);
//! * `#set` with a null right-hand side leaves the target unchanged;
//! * `#if` truthiness is decided per *node*: a reference is true when it is
//!   non-null and not `false`, `true`/`false` are themselves, operators yield
//!   booleans, and every other literal (`"x"`, `1`, `[..]`) is false;
//! * `==` compares numbers numerically, same-typed values with `equals`, and
//!   otherwise compares their `toString()`s;
//! * arithmetic on non-numbers, or division by zero, yields null; `+` with a
//!   string operand concatenates;
//! * `#foreach` saves and restores its variable, exposes `$foreach` and the
//!   1.x `$velocityCount`/`$velocityHasNext`, and stops after
//!   [`Limits::max_loop_iterations`] iterations silently;
//! * a `#define` block renders each time its reference is used, with the
//!   variables as they are then (at most two renderings of one block nest);
//! * macros see their arguments in a local frame; `#set` inside them writes
//!   the global context (Velocity 1.7's default `localscope = false`).
//!
//! Every step is counted and the output size is bounded so that no template
//! can hang or exhaust the host ([`Limits`]).

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::ast::{Accessor, BinOp, Expr, MacroCall, Macros, Node, Reference};
use crate::methods;
use crate::parser::Parser;
use crate::value::{HostObject, Map, Value};

/// Variables visible to a template (`$input`, `$util`, ... are inserted by
/// the embedder). `#set` writes here, so a context can be inspected after
/// rendering.
#[derive(Debug, Default, Clone)]
pub struct Context {
    vars: Vars<Value>,
    /// The variables named in [`LOOP_VARS`], which every `#foreach`
    /// iteration sets: kept out of the hash table.
    loop_vars: [Option<Value>; 3],
}

/// `$foreach`, and Velocity 1.x's `$velocityCount` and `$velocityHasNext`.
const LOOP_VARS: [&str; 3] = ["foreach", "velocityCount", "velocityHasNext"];

fn loop_var(name: &str) -> Option<usize> {
    match name.as_bytes().first() {
        Some(b'f' | b'v') => LOOP_VARS.iter().position(|v| *v == name),
        _ => None,
    }
}

/// Variable tables. Names are short identifiers chosen by the template
/// author and the embedder, so a simple multiplicative hash (FxHash) is
/// enough and much cheaper than SipHash on the render path.
type Vars<V> = HashMap<String, V, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0 ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0 ^ u64::from_le_bytes(w) ^ rest.len() as u64).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0 ^ u64::from(i)).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }
    /// Binds `name` (without `$`). Binding `Value::Null` removes it.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        if let Some(i) = loop_var(&name) {
            self.loop_vars[i] = Some(value).filter(|v| !v.is_null());
        } else if value.is_null() {
            self.vars.remove(&name);
        } else {
            self.vars.insert(name, value);
        }
    }
    pub fn get(&self, name: &str) -> Option<&Value> {
        match loop_var(name) {
            Some(i) => self.loop_vars[i].as_ref(),
            None => self.vars.get(name),
        }
    }
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        match loop_var(name) {
            Some(i) => self.loop_vars[i].take(),
            None => self.vars.remove(name),
        }
    }
    /// [`Self::insert`] without allocating a key when `name` is bound.
    fn set(&mut self, name: &str, value: Value) {
        if let Some(i) = loop_var(name) {
            self.loop_vars[i] = Some(value).filter(|v| !v.is_null());
        } else if value.is_null() {
            self.vars.remove(name);
        } else if let Some(slot) = self.vars.get_mut(name) {
            *slot = value;
        } else {
            self.vars.insert(name.to_string(), value);
        }
    }
}

/// Resource bounds for one render.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Iterations after which `#foreach` silently stops (API Gateway: 1000).
    pub max_loop_iterations: usize,
    /// Evaluation steps (nodes, expressions, accessors) before giving up.
    pub max_steps: u64,
    /// Maximum output size in bytes; also bounds any intermediate string.
    pub max_output_bytes: usize,
    /// Maximum macro call depth (Velocity's `velocimacro.max.depth` is 20).
    pub max_macro_depth: usize,
    /// Maximum nesting of blocks, expressions and macro calls together; keeps
    /// the renderer's stack bounded.
    pub max_depth: usize,
    /// Maximum length of a list built by a range or method.
    pub max_collection_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_loop_iterations: 1000,
            max_steps: 5_000_000,
            max_output_bytes: 10 * 1024 * 1024,
            max_macro_depth: 20,
            max_depth: 160,
            max_collection_len: 100_000,
        }
    }
}

/// Why rendering failed (a Java exception in a method, a limit, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub message: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "render error: {}", self.message)
    }
}

impl std::error::Error for RenderError {}

type RResult<T> = Result<T, RenderError>;

fn err<T>(message: impl Into<String>) -> RResult<T> {
    Err(RenderError {
        message: message.into(),
    })
}

/// How a block finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    /// `#break`: caught by the innermost `#foreach` or macro.
    Break,
    /// `#stop`: unwinds everything.
    Stop,
}

pub(crate) fn render(
    nodes: &[Node],
    macros: &Macros,
    ctx: &mut Context,
    limits: &Limits,
    size_hint: usize,
) -> RResult<String> {
    let mut r = Renderer {
        ctx,
        limits,
        macros: macros.clone(),
        frames: Vec::new(),
        null_args: Vars::default(),
        steps: 0,
        depth: 0,
        macro_depth: 0,
    };
    let mut out = String::with_capacity(size_hint.min(limits.max_output_bytes));
    r.nodes(nodes, &mut out)?;
    Ok(out)
}

struct Renderer<'a> {
    ctx: &'a mut Context,
    limits: &'a Limits,
    macros: Macros,
    /// Macro argument frames, innermost last.
    frames: Vec<Vars<Value>>,
    /// Null macro arguments: parameter -> (frame depth, caller's source).
    null_args: Vars<(usize, String)>,
    steps: u64,
    depth: usize,
    macro_depth: usize,
}

impl Renderer<'_> {
    fn step(&mut self) -> RResult<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return err(format!(
                "evaluation exceeded {} steps",
                self.limits.max_steps
            ));
        }
        Ok(())
    }

    fn enter(&mut self) -> RResult<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return err("template nesting too deep");
        }
        Ok(())
    }

    fn write(&self, out: &mut String, s: &str) -> RResult<()> {
        out.push_str(s);
        if out.len() > self.limits.max_output_bytes {
            return err(format!(
                "output exceeded {} bytes",
                self.limits.max_output_bytes
            ));
        }
        Ok(())
    }

    /// Refuses oversized intermediate values (strings, lists).
    fn check_size(&self, v: &Value) -> RResult<()> {
        match v {
            Value::String(s) if s.len() > self.limits.max_output_bytes => {
                err("string value too large")
            }
            Value::List(l) if l.len() > self.limits.max_collection_len => {
                err("list value too large")
            }
            _ => Ok(()),
        }
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> RResult<Flow> {
        self.enter()?;
        let mut flow = Flow::Normal;
        for n in nodes {
            self.step()?;
            flow = self.node(n, out)?;
            if flow != Flow::Normal {
                break;
            }
        }
        self.depth -= 1;
        Ok(flow)
    }

    fn node(&mut self, node: &Node, out: &mut String) -> RResult<Flow> {
        match node {
            Node::Text(t) => self.write(out, t)?,
            Node::Ref(r) => match self.reference(r)? {
                Some(Value::Object(o)) if DefinedBlock::of(&o).is_some() => {
                    match self.expand_block(&o, out)? {
                        Some(flow) => return Ok(flow),
                        None if r.quiet => {}
                        None => self.write(out, &r.source)?,
                    }
                }
                Some(v) => self.write_value(&v, out)?,
                None if r.quiet => {}
                None => {
                    let alias = match self.null_args.get(&r.root) {
                        Some((depth, lit)) if r.parts.is_empty() && *depth == self.frames.len() => {
                            Some(lit.clone())
                        }
                        _ => None,
                    };
                    self.write(out, alias.as_deref().unwrap_or(&r.source))?;
                }
            },
            Node::EscapedRef {
                backslashes,
                reference,
            } => {
                // 1.7: for a defined reference each `\\` pair prints one `\`
                // and an odd backslash prints the reference literally; an
                // undefined reference prints everything as written.
                let s = match self.reference(reference)? {
                    // Velocity writes a block without the `\` pairs before it.
                    Some(Value::Object(o))
                        if backslashes % 2 == 0 && DefinedBlock::of(&o).is_some() =>
                    {
                        match self.expand_block(&o, out)? {
                            Some(flow) => return Ok(flow),
                            None => reference.source.clone(),
                        }
                    }
                    Some(v) => {
                        let mut s = "\\".repeat(backslashes / 2);
                        if backslashes % 2 == 1 {
                            s.push_str(&reference.source);
                        } else {
                            match self.java_string(&v)? {
                                Some(v) => s.push_str(&v),
                                None => s.push_str(&reference.source),
                            }
                        }
                        s
                    }
                    // Undefined: an even run is kept whole; an odd run
                    // collapses its pairs but keeps the escaping backslash.
                    None => {
                        let n = if backslashes % 2 == 0 {
                            *backslashes
                        } else {
                            backslashes / 2 + 1
                        };
                        format!("{}{}", "\\".repeat(n), reference.source)
                    }
                };
                self.write(out, &s)?;
            }
            Node::Set { target, value } => {
                let v = self.eval(value)?;
                if !v.is_null() {
                    self.assign(target, v)?;
                }
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    if self.cond(cond)? {
                        return self.nodes(body, out);
                    }
                }
                if let Some(body) = otherwise {
                    return self.nodes(body, out);
                }
            }
            Node::Foreach {
                var,
                iterable,
                body,
            } => return self.foreach(var, iterable, body, out),
            Node::Break => return Ok(Flow::Break),
            Node::Stop => return Ok(Flow::Stop),
            Node::Define { name, body } => {
                let block = DefinedBlock {
                    body: Arc::clone(body),
                    depth: AtomicUsize::new(0),
                    last: Mutex::new(String::new()),
                };
                self.set_var(name, Value::Object(Arc::new(block)));
            }
            Node::Evaluate(e) => {
                let v = self.eval(e)?;
                if let Value::String(src) = v {
                    return self.evaluate(&src, out);
                }
            }
            Node::MacroCall(call) => return self.call_macro(call, out),
        }
        Ok(Flow::Normal)
    }

    /// Renders a `#define` block where it is used, with the variables as
    /// they are now (Velocity's `Block.Reference`). `None` when `o` is no
    /// block, or when the block is already rendering [`DEFINE_MAX_DEPTH`]
    /// times (Velocity then treats it as a null `toString()`).
    fn expand_block(&mut self, o: &Arc<dyn HostObject>, out: &mut String) -> RResult<Option<Flow>> {
        let Some(b) = DefinedBlock::of(o) else {
            return Ok(None);
        };
        if b.depth.fetch_add(1, Ordering::Relaxed) >= DEFINE_MAX_DEPTH {
            b.depth.fetch_sub(1, Ordering::Relaxed);
            return Ok(None);
        }
        let start = out.len();
        let flow = self.nodes(&b.body, out);
        b.depth.fetch_sub(1, Ordering::Relaxed);
        // `#break` only leaves the block; `#stop` ends the template.
        let flow = match flow? {
            Flow::Stop => Flow::Stop,
            _ => Flow::Normal,
        };
        *b.last.lock().unwrap_or_else(|e| e.into_inner()) = out[start..].to_string();
        Ok(Some(flow))
    }

    /// Writes `String.valueOf(v)` to the output, like [`Self::stringify`]
    /// without the intermediate string.
    fn write_value(&mut self, v: &Value, out: &mut String) -> RResult<()> {
        if let Value::String(s) = v {
            return self.write(out, s);
        }
        v.write_java(out, 0, &mut |o, out| {
            if DefinedBlock::of(o).is_none() {
                out.push_str(&o.display());
            } else if self.expand_block(o, out)?.is_none() {
                out.push_str("null");
            }
            Ok(())
        })?;
        self.write(out, "")
    }

    /// `String.valueOf(v)` with `#define` blocks rendered now, wherever they
    /// sit. A block nested in a collection that may not render gives `null`.
    fn stringify(&mut self, v: &Value) -> RResult<String> {
        let mut out = String::new();
        self.write_value(v, &mut out)?;
        Ok(out)
    }

    /// Like [`Self::stringify`], but `None` (Java's null `toString()`) for a
    /// block that may not render.
    fn java_string(&mut self, v: &Value) -> RResult<Option<String>> {
        if let Value::Object(o) = v
            && DefinedBlock::of(o).is_some()
        {
            let mut s = String::new();
            return Ok(self.expand_block(o, &mut s)?.map(|_| s));
        }
        self.stringify(v).map(Some)
    }

    /// A `#define` block becomes the string it renders now (null when it
    /// may not render); any other value is kept.
    fn realize(&mut self, v: Value) -> RResult<Value> {
        if !is_block(&v) {
            return Ok(v);
        }
        Ok(self.java_string(&v)?.map_or(Value::Null, Value::String))
    }

    /// `#evaluate`: parse and render a string with the current context.
    fn evaluate(&mut self, src: &str, out: &mut String) -> RResult<Flow> {
        if self.macro_depth >= self.limits.max_macro_depth {
            return err("#evaluate nested too deep");
        }
        let mut p = Parser::new(src);
        let nodes = p.top().map_err(|e| RenderError {
            message: format!("#evaluate: {e}"),
        })?;
        self.macros.extend(p.macros);
        self.macro_depth += 1;
        let flow = self.nodes(&nodes, out);
        self.macro_depth -= 1;
        Ok(match flow? {
            Flow::Stop => Flow::Stop,
            _ => Flow::Normal,
        })
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &Expr,
        body: &[Node],
        out: &mut String,
    ) -> RResult<Flow> {
        let items = match self.eval(iterable)? {
            Value::List(l) => l.items(),
            Value::Map(m) => m.entries().into_iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        };
        let saved_var = self.ctx.get(var).cloned();
        let saved = self.ctx.loop_vars.clone();
        let parent = saved[0].clone();
        let total = items.len();
        let mut flow = Ok(Flow::Normal);
        for (i, item) in items
            .into_iter()
            .take(self.limits.max_loop_iterations)
            .enumerate()
        {
            if let Err(e) = self.step() {
                flow = Err(e);
                break;
            }
            let has_next = i + 1 < total;
            self.ctx.set(var, item);
            let scope = ForeachScope {
                index: i,
                has_next,
                parent: parent.clone(),
            };
            self.ctx.loop_vars = [
                Some(Value::Object(Arc::new(scope))),
                Some(Value::Int(i as i64 + 1)),
                Some(Value::Bool(has_next)),
            ];
            flow = self.nodes(body, out);
            match flow {
                Ok(Flow::Normal) => {}
                Ok(Flow::Break) => {
                    flow = Ok(Flow::Normal);
                    break;
                }
                _ => break,
            }
        }
        self.ctx.set(var, saved_var.unwrap_or_default());
        self.ctx.loop_vars = saved;
        flow
    }

    fn call_macro(&mut self, call: &MacroCall, out: &mut String) -> RResult<Flow> {
        let Some(def) = self.macros.get(&call.name).cloned() else {
            self.write(out, &call.literal)?;
            return Ok(Flow::Normal);
        };
        if self.macro_depth >= self.limits.max_macro_depth {
            return err(format!(
                "line {}: macro #{} exceeded the maximum call depth of {}",
                call.line, call.name, self.limits.max_macro_depth
            ));
        }
        let mut frame = Vars::default();
        for (param, arg) in def.params.iter().zip(&call.args) {
            let v = self.eval(arg)?;
            if !v.is_null() {
                frame.insert(param.clone(), v);
            } else if let Expr::Ref(r) = arg {
                // Arguments are passed by name: a null argument renders as
                // the caller's reference text (`$nope`), not as `$param`.
                self.null_args
                    .insert(param.clone(), (self.frames.len() + 1, r.source.clone()));
            }
        }
        if let Some(body) = &call.body {
            let mut s = String::new();
            self.nodes(body, &mut s)?;
            frame.insert("bodyContent".to_string(), Value::String(s));
        }
        self.frames.push(frame);
        self.macro_depth += 1;
        let flow = self.nodes(&def.body, out);
        self.macro_depth -= 1;
        let depth = self.frames.len();
        self.null_args.retain(|_, (d, _)| *d < depth);
        self.frames.pop();
        Ok(match flow? {
            Flow::Stop => Flow::Stop,
            _ => Flow::Normal,
        })
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        for f in self.frames.iter().rev() {
            if let Some(v) = f.get(name) {
                return Some(v.clone());
            }
        }
        self.ctx.get(name).cloned()
    }

    /// Writes a variable: the global context, plus the innermost macro frame
    /// that binds it as an argument.
    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(f) = self.frames.iter_mut().rev().find(|f| f.contains_key(name)) {
            f.insert(name.to_string(), v.clone());
        }
        self.ctx.set(name, v);
    }

    fn assign(&mut self, target: &Reference, v: Value) -> RResult<()> {
        // 1.7 silently ignores `#set($!a = ..)` and `#set(${a} = ..)`.
        if target.quiet || target.source.starts_with("${") {
            return Ok(());
        }
        let Some((last, init)) = target.parts.split_last() else {
            self.set_var(&target.root, v);
            return Ok(());
        };
        let Some(base) = self.resolve(target, init)? else {
            return Ok(());
        };
        match (base, last) {
            (Value::Map(m), Accessor::Property(k)) => {
                m.insert(k.clone(), v);
            }
            (Value::Map(m), Accessor::Index(e)) => {
                let k = self.eval(e)?;
                m.insert(k.to_java_string(), v);
            }
            (Value::List(l), Accessor::Index(e)) => {
                let i = self.eval(e)?;
                let Value::Int(i) = i else {
                    return Ok(());
                };
                let ok = l.with_mut(|items| match items.get_mut(i as usize) {
                    Some(slot) if i >= 0 => {
                        *slot = v;
                        true
                    }
                    _ => false,
                });
                if !ok {
                    return err(format!(
                        "line {}: index {i} out of bounds in {}",
                        target.line, target.source
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn reference(&mut self, r: &Reference) -> RResult<Option<Value>> {
        self.resolve(r, &r.parts)
    }

    /// Resolves the root of `r` followed by `parts` (a prefix of `r.parts`
    /// when assigning). `None` means null / undefined.
    fn resolve(&mut self, r: &Reference, parts: &[Accessor]) -> RResult<Option<Value>> {
        let Some(mut v) = self.lookup(&r.root) else {
            return Ok(None);
        };
        for part in parts {
            self.step()?;
            let next = match part {
                Accessor::Property(name) => property(&v, name),
                Accessor::Method(name, args) => {
                    // Most calls take one or two arguments: keep those on
                    // the stack.
                    let mut inline: [Value; 2] = Default::default();
                    let mut heap = Vec::new();
                    let vals: &mut [Value] = if args.len() <= inline.len() {
                        for (slot, a) in inline.iter_mut().zip(args) {
                            *slot = self.eval(a)?;
                        }
                        &mut inline[..args.len()]
                    } else {
                        for a in args {
                            heap.push(self.eval(a)?);
                        }
                        &mut heap
                    };
                    if name == "toString" && vals.is_empty() {
                        // Renders `#define` blocks now, even nested ones.
                        self.java_string(&v)?.map(Value::String)
                    } else {
                        if matches!(v, Value::Object(_)) && !is_block(&v) {
                            // Host methods take `Object` and call
                            // `String.valueOf` on it, rendering a block.
                            for a in vals.iter_mut() {
                                *a = self.realize(std::mem::take(a))?;
                            }
                        }
                        match methods::call(&v, name, vals) {
                            Ok(x) => Some(x),
                            Err(e) => {
                                return err(format!(
                                    "line {}: invocation of {} threw: {e}",
                                    r.line, r.source
                                ));
                            }
                        }
                    }
                }
                Accessor::Index(e) => {
                    let i = self.eval(e)?;
                    index(&v, &i).map_err(|e| RenderError {
                        message: format!("line {}: {}: {e}", r.line, r.source),
                    })?
                }
            };
            match next {
                Some(x) if !x.is_null() => {
                    self.check_size(&x)?;
                    v = x;
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(v))
    }

    fn eval(&mut self, e: &Expr) -> RResult<Value> {
        self.step()?;
        self.enter()?;
        let v = self.eval_inner(e);
        self.depth -= 1;
        v
    }

    fn eval_inner(&mut self, e: &Expr) -> RResult<Value> {
        Ok(match e {
            Expr::Ref(r) => self.reference(r)?.unwrap_or_default(),
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Interpolated(nodes) => {
                let mut s = String::new();
                self.nodes(nodes, &mut s)?;
                Value::String(s)
            }
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::List(items) => {
                let mut v = Vec::with_capacity(items.len());
                for i in items {
                    v.push(self.eval(i)?);
                }
                Value::list(v)
            }
            Expr::Map(entries) => {
                let m = Map::default();
                for (k, v) in entries {
                    let k = self.eval(k)?;
                    let v = self.eval(v)?;
                    m.insert(k.to_java_string(), v);
                }
                Value::Map(m)
            }
            Expr::Range(a, b) => {
                let (Value::Int(a), Value::Int(b)) = (self.eval(a)?, self.eval(b)?) else {
                    return Ok(Value::Null);
                };
                let len = a.abs_diff(b).saturating_add(1);
                if len > self.limits.max_collection_len as u64 {
                    return err(format!("range [{a}..{b}] is too large"));
                }
                let items: Vec<Value> = if a <= b {
                    (a..=b).map(Value::Int).collect()
                } else {
                    (b..=a).rev().map(Value::Int).collect()
                };
                Value::list(items)
            }
            Expr::Not(inner) => Value::Bool(!self.cond(inner)?),
            Expr::Binary(op, l, r) => self.binary(*op, l, r)?,
        })
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> RResult<Value> {
        Ok(match op {
            BinOp::And => Value::Bool(self.cond(l)? && self.cond(r)?),
            BinOp::Or => Value::Bool(self.cond(l)? || self.cond(r)?),
            BinOp::Eq | BinOp::Ne => {
                let (mut a, mut b) = (self.eval(l)?, self.eval(r)?);
                if is_block(&a) != is_block(&b) {
                    // Different classes compare by `toString()`.
                    a = self.realize(a)?;
                    b = self.realize(b)?;
                }
                Value::Bool(loose_eq(&a, &b) == (op == BinOp::Eq))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (a, b) = (self.eval(l)?, self.eval(r)?);
                let Some(ord) = num_cmp(&a, &b) else {
                    return Ok(Value::Bool(false));
                };
                Value::Bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let (a, b) = (self.eval(l)?, self.eval(r)?);
                if op == BinOp::Add
                    && (matches!(a, Value::String(_)) || matches!(b, Value::String(_)))
                {
                    let s = self.operand_string(&a, l)? + &self.operand_string(&b, r)?;
                    let v = Value::String(s);
                    self.check_size(&v)?;
                    return Ok(v);
                }
                arith(op, &a, &b)
            }
        })
    }

    /// A string concatenation operand: a null reference contributes its
    /// source text.
    fn operand_string(&mut self, v: &Value, e: &Expr) -> RResult<String> {
        Ok(match (v, e) {
            (Value::Null, Expr::Ref(r)) => r.source.clone(),
            _ => self.java_string(v)?.unwrap_or_else(|| "null".into()),
        })
    }

    /// Truthiness of a condition node (see the module docs).
    fn cond(&mut self, e: &Expr) -> RResult<bool> {
        match e {
            Expr::Ref(r) => Ok(match self.reference(r)? {
                None => false,
                Some(Value::Bool(b)) => b,
                Some(_) => true,
            }),
            Expr::Bool(b) => Ok(*b),
            Expr::Not(_) => Ok(matches!(self.eval(e)?, Value::Bool(true))),
            Expr::Binary(op, _, _)
                if !matches!(
                    op,
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
                ) =>
            {
                Ok(matches!(self.eval(e)?, Value::Bool(true)))
            }
            _ => Ok(false),
        }
    }
}

/// True for the value of a `#define`.
fn is_block(v: &Value) -> bool {
    matches!(v, Value::Object(o) if DefinedBlock::of(o).is_some())
}

/// Velocity's `==`.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ if a.is_number() && b.is_number() => num_cmp(a, b).is_some_and(|o| o.is_eq()),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => a.java_equals(b),
        _ => a.to_java_string() == b.to_java_string(),
    }
}

fn num_cmp(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        _ => None,
    }
}

/// Java arithmetic: `long` when both operands are integral (promoting to
/// `double` on overflow, where Java would use BigInteger), `double` otherwise;
/// division or remainder by zero is null.
fn arith(op: BinOp, a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let (x, y) = (*x, *y);
            if matches!(op, BinOp::Div | BinOp::Mod) && y == 0 {
                return Value::Null;
            }
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => x.checked_div(y),
                _ => x.checked_rem(y),
            };
            match r {
                Some(r) => Value::Int(r),
                None => float_arith(op, x as f64, y as f64),
            }
        }
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            float_arith(op, as_f64(a), as_f64(b))
        }
        _ => Value::Null,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn float_arith(op: BinOp, x: f64, y: f64) -> Value {
    if matches!(op, BinOp::Div | BinOp::Mod) && y == 0.0 {
        return Value::Null;
    }
    Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        _ => x % y,
    })
}

/// `$v.name`: map lookup, host property, or a JavaBean-style getter.
fn property(v: &Value, name: &str) -> Option<Value> {
    match v {
        Value::Map(m) => m.get(name),
        Value::Object(o) => o.property(name),
        Value::String(s) if name == "empty" => Some(Value::Bool(s.is_empty())),
        Value::List(l) if name == "empty" => Some(Value::Bool(l.is_empty())),
        _ => None,
    }
}

/// `$v[i]`: list position (out of range is an error, as in Java) or map key.
fn index(v: &Value, i: &Value) -> Result<Option<Value>, String> {
    match (v, i) {
        (Value::List(l), Value::Int(i)) => {
            let len = l.len();
            if *i < 0 || *i as usize >= len {
                return Err(format!("index {i} out of bounds for length {len}"));
            }
            Ok(l.get(*i as usize))
        }
        (Value::Map(m), k) if !k.is_null() => Ok(m.get(&k.to_java_string())),
        _ => Ok(None),
    }
}

/// Velocity's `directive.define.max.depth`: how many renderings of one
/// block may be in progress at once (a block may refer to itself).
const DEFINE_MAX_DEPTH: usize = 2;

/// The value of a `#define`d reference (Velocity's `Block.Reference`): the
/// renderer renders its body at each use, with the variables as they are
/// then. Like `Block.Reference`, it has no string methods.
struct DefinedBlock {
    body: Arc<[Node]>,
    /// Renderings in progress.
    depth: AtomicUsize,
    /// The latest rendering: what the block shows where the renderer cannot
    /// render it (inside a host object, after rendering).
    last: Mutex<String>,
}

impl DefinedBlock {
    fn of(o: &Arc<dyn HostObject>) -> Option<&DefinedBlock> {
        o.as_any()?.downcast_ref()
    }
}

impl HostObject for DefinedBlock {
    fn call(&self, _method: &str, _args: &[Value]) -> Result<Value, String> {
        Ok(Value::Null)
    }
    fn property(&self, _name: &str) -> Option<Value> {
        None
    }
    fn display(&self) -> String {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// `$foreach`: loop state exposed to the body.
struct ForeachScope {
    index: usize,
    has_next: bool,
    parent: Option<Value>,
}

impl HostObject for ForeachScope {
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        if !args.is_empty() {
            return Ok(Value::Null);
        }
        let prop = match method {
            "getIndex" => "index",
            "getCount" => "count",
            "hasNext" | "getHasNext" => "hasNext",
            "isFirst" | "getFirst" => "first",
            "isLast" | "getLast" => "last",
            "getParent" => "parent",
            _ => return Ok(Value::Null),
        };
        Ok(self.property(prop).unwrap_or_default())
    }

    fn property(&self, name: &str) -> Option<Value> {
        Some(match name {
            "index" => Value::Int(self.index as i64),
            "count" => Value::Int(self.index as i64 + 1),
            "hasNext" => Value::Bool(self.has_next),
            "first" => Value::Bool(self.index == 0),
            "last" => Value::Bool(!self.has_next),
            "parent" => return self.parent.clone(),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        "ForeachScope".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Template;

    fn render_with(src: &str, ctx: &mut Context, limits: &Limits) -> Result<String, String> {
        let t = Template::parse(src).map_err(|e| e.to_string())?;
        t.render(ctx, limits).map_err(|e| e.to_string())
    }

    fn render(src: &str) -> String {
        let mut ctx = Context::new();
        ctx.insert("s", Value::from("abc"));
        ctx.insert("l", Value::list(vec![1.into(), 2.into()]));
        match render_with(src, &mut ctx, &Limits::default()) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn undefined_references_render_literally() {
        assert_eq!(render("$x $!x ${x} $!{x} $s.nope"), "$x  ${x}  $s.nope");
    }

    #[test]
    fn set_null_keeps_old_value() {
        assert_eq!(render("#set($a = 1)#set($a = $nope)$a"), "1");
    }

    #[test]
    fn arithmetic_is_java_like() {
        // The blank before `#set` starts a token after `$a`, so it vanishes.
        assert_eq!(render("#set($a = 7 / 2)$a #set($b = -7 % 3)$b"), "3-1");
        assert_eq!(render("#set($a = 7.0 / 2)$a"), "3.5");
        assert_eq!(render("#set($a = 1 / 0)$a"), "$a");
        assert_eq!(render("#set($a = 'x' + 1)$a"), "x1");
    }

    #[test]
    fn conditions_use_node_truthiness() {
        assert_eq!(render("#if('x')T#{else}F#end"), "F");
        assert_eq!(render("#if($s)T#{else}F#end"), "T");
        assert_eq!(render("#if(1 == 1.0)T#{else}F#end"), "T");
        assert_eq!(render("#if('1' == 1)T#{else}F#end"), "T");
    }

    #[test]
    fn lists_are_shared_references() {
        assert_eq!(render("#set($m = $l)#set($d = $m.add(3))$l"), "[1, 2, 3]");
    }

    #[test]
    fn foreach_restores_variable_and_counts() {
        assert_eq!(
            render("#set($i = 'o')#foreach($i in $l)$foreach.count$velocityCount#end$i"),
            "1122o"
        );
    }

    #[test]
    fn foreach_stops_at_the_loop_limit() {
        let out = render("#foreach($i in [1..1001])x#end");
        assert_eq!(out.len(), 1000);
    }

    #[test]
    fn macro_recursion_is_bounded() {
        let e = render_with(
            "#macro(r)#r()#end#r()",
            &mut Context::new(),
            &Limits::default(),
        );
        assert!(e.is_err_and(|e| e.contains("depth")));
    }

    #[test]
    fn output_blowup_is_an_error() {
        let src = "#set($s = 'xxxxxxxxxx')#foreach($i in [1..30])#set($s = \"$s$s\")#end$s";
        let e = render_with(src, &mut Context::new(), &Limits::default());
        assert!(e.is_err_and(|e| e.contains("too large") || e.contains("exceeded")));
    }

    #[test]
    fn steps_are_bounded() {
        let src = "#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])x#end#end#end";
        let limits = Limits {
            max_output_bytes: usize::MAX,
            max_steps: 200_000,
            ..Limits::default()
        };
        let e = render_with(src, &mut Context::new(), &limits);
        assert!(e.is_err_and(|e| e.contains("steps")));
    }

    #[test]
    fn huge_ranges_are_refused() {
        let e = render_with(
            "#set($r = [1..2000000000])",
            &mut Context::new(),
            &Limits::default(),
        );
        assert!(e.is_err());
    }

    #[test]
    fn break_and_stop() {
        assert_eq!(render("#foreach($i in $l)$i#break#end|"), "1|");
        assert_eq!(render("a#stop b"), "a");
        assert_eq!(render("#macro(m)x#break y#end#m()z"), "xz");
    }
}
