//! The syntax tree produced by the parser and walked by the evaluator.
//!
//! Whitespace decisions (which newline a directive swallows, whether the
//! indentation before `#set` survives) are all made by the parser, so the tree
//! only contains the text that must really be written.

use std::collections::HashMap;
use std::sync::Arc;

/// A template body element.
#[derive(Debug, Clone)]
pub enum Node {
    /// Literal text, written as is.
    Text(String),
    /// `$a.b(..)[i]`; renders literally (its source) when null.
    Ref(Reference),
    /// `\$a` with `backslashes` leading backslashes (1.7 semantics depend on
    /// whether the reference is defined).
    EscapedRef {
        backslashes: usize,
        reference: Reference,
    },
    /// `#set($target = value)`.
    Set { target: Reference, value: Expr },
    /// `#if` / `#elseif` chain with an optional `#else`.
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    /// `#foreach($var in iterable)`.
    Foreach {
        var: String,
        iterable: Expr,
        body: Vec<Node>,
    },
    /// `#break`: leaves the innermost `#foreach` or macro (or the template).
    Break,
    /// `#stop`: ends rendering; output so far is kept.
    Stop,
    /// `#define($name)body#end`. The body is shared with the value the
    /// directive binds, which renders it at each use.
    Define { name: String, body: Arc<[Node]> },
    /// `#evaluate(expr)`: renders a string as a template at render time.
    Evaluate(Expr),
    /// `#name(args)` or `#@name(args)body#end`. When no such macro exists at
    /// render time the call renders as `literal` (its source text).
    MacroCall(Box<MacroCall>),
}

/// A macro invocation.
#[derive(Debug, Clone)]
pub struct MacroCall {
    pub name: String,
    pub args: Vec<Expr>,
    /// Body of a block macro call (`#@name() ... #end`), exposed as `$bodyContent`.
    pub body: Option<Vec<Node>>,
    /// Source text written when the macro is undefined.
    pub literal: String,
    pub line: usize,
}

/// A `#macro` definition. Definitions are hoisted at parse time, so a macro
/// may be called before the line that defines it (as in Velocity).
#[derive(Debug)]
pub struct MacroDef {
    pub name: String,
    pub params: Vec<String>,
    pub body: Vec<Node>,
}

/// All macros of a template, by name.
pub type Macros = HashMap<String, Arc<MacroDef>>;

/// A reference such as `$!{user.address.city}`.
#[derive(Debug, Clone)]
pub struct Reference {
    /// `$!`: render nothing instead of the source when null.
    pub quiet: bool,
    pub root: String,
    pub parts: Vec<Accessor>,
    /// The exact source text, written when the reference is null.
    pub source: String,
    pub line: usize,
}

/// One step after the root of a reference.
#[derive(Debug, Clone)]
pub enum Accessor {
    /// `.name`: map lookup, bean property or host property.
    Property(String),
    /// `.name(args)`.
    Method(String, Vec<Expr>),
    /// `[expr]`.
    Index(Expr),
}

/// Binary operators, already normalised (`eq` is `Eq`, `and` is `And`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// An expression inside `( ... )`, `[ ... ]` or `{ ... }`.
#[derive(Debug, Clone)]
pub enum Expr {
    Ref(Reference),
    /// A single-quoted string, or a double-quoted one without `$`/`#`.
    Str(String),
    /// A double-quoted string containing `$` or `#`: a tiny template.
    Interpolated(Vec<Node>),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Range(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}
