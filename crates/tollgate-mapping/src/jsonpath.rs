//! JSONPath as Jayway JsonPath evaluates it (the dialect API Gateway's
//! `$input.json(x)` / `$input.path(x)` accept).
//!
//! Compile once with [`JsonPath::compile`], evaluate many times with
//! [`JsonPath::eval`]. Supported syntax:
//!
//! * root `$` (a path without it is read as `$.` + path, as Jayway does);
//! * properties `.name`, `['name']`, `["name"]`, several at once
//!   `['a','b']` (on the last step they merge into one object, as in Jayway);
//! * array indexes `[0]`, `[-1]` (from the end), `[0,2]`, slices `[1:3]`,
//!   `[:2]`, `[-2:]`, `[1:]`;
//! * wildcards `.*` / `[*]`, deep scan `..name` / `..[0]` / `..*` /
//!   `..[?(..)]`;
//! * filters `[?(<expr>)]` with `@` (current item) and `$` (root) paths,
//!   literals (numbers, `'str'`, `"str"`, `true`, `false`, `null`),
//!   `== != < <= > >=`, `=~ /regex/i`, `&&`, `||`, `!` and parentheses; a
//!   bare path tests for existence;
//! * trailing functions `length()`, `min()`, `max()`, `avg()`, `sum()`,
//!   `keys()`.
//!
//! A path is *definite* when it can only ever designate one value (no scan,
//! wildcard, filter, slice or index list): it then yields that value or
//! nothing ([`Found::Missing`], Jayway's `PathNotFoundException`).
//! Indefinite paths always yield a list, possibly empty.

use std::borrow::Cow;

use serde_json::{Map as JsonMap, Number, Value};
use tollgate_vtl::Frozen;
use tollgate_vtl::regex::Regex;

/// A compiled JSONPath expression. Immutable and `Send + Sync`.
#[derive(Debug)]
pub struct JsonPath {
    tokens: Vec<Token>,
    definite: bool,
}

/// What a path designates in a document.
#[derive(Debug)]
pub enum Found<'a> {
    /// A definite path that matched nothing.
    Missing,
    /// The value of a definite path.
    One(Cow<'a, Value>),
    /// The matches of an indefinite path, in document order.
    Many(Vec<Cow<'a, Value>>),
}

impl Found<'_> {
    /// The result as one JSON value (matches of an indefinite path become an
    /// array), or `None` when a definite path matched nothing.
    pub fn into_value(self) -> Option<Value> {
        match self {
            Found::Missing => None,
            Found::One(v) => Some(v.into_owned()),
            Found::Many(vs) => Some(Value::Array(vs.into_iter().map(Cow::into_owned).collect())),
        }
    }
}

/// A step of a simple path (see [`JsonPath::eval_frozen`]).
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(i64),
}

#[derive(Debug)]
enum Token {
    /// One or more property names.
    Property(Vec<String>),
    /// One or more array indexes (negative counts from the end).
    Index(Vec<i64>),
    Slice(Option<i64>, Option<i64>),
    Wildcard,
    /// `..`: applies the rest of the path at every level.
    Scan,
    Filter(Box<Expr>),
    Function(Func),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Length,
    Min,
    Max,
    Avg,
    Sum,
    Keys,
}

/// A filter expression.
#[derive(Debug)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// A bare operand: true when the path exists (or the literal is truthy).
    Exists(Operand),
    Cmp(Operand, CmpOp, Operand),
    Matches(Operand, Regex),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug)]
enum Operand {
    /// `@...` (relative) or `$...` (absolute).
    Path {
        root: bool,
        path: JsonPath,
    },
    Literal(Value),
}

/// Longest path accepted, in bytes; longer ones are refused at compile time.
const MAX_PATH_LEN: usize = 4096;
/// Deepest filter nesting accepted.
const MAX_FILTER_DEPTH: usize = 32;

impl JsonPath {
    /// Compiles a path; the error message mirrors Jayway's `InvalidPathException`.
    pub fn compile(src: &str) -> Result<JsonPath, String> {
        let src = src.trim();
        if src.is_empty() {
            return Err("Path must not be null or empty".into());
        }
        if src.len() > MAX_PATH_LEN {
            return Err("Path is too long".into());
        }
        let chars: Vec<char> = src.chars().collect();
        let mut p = PathParser {
            s: &chars,
            i: 0,
            in_filter: false,
            depth: 0,
        };
        let path = p.path_from_root(true)?;
        if p.i < chars.len() {
            return Err(format!("Could not parse path '{src}' at position {}", p.i));
        }
        Ok(path)
    }

    /// True when the path designates at most one value.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// True for `$` alone.
    pub fn is_root(&self) -> bool {
        self.tokens.is_empty()
    }

    /// True for a path made only of single property names and indexes
    /// (`$`, `$.a.b[0]`, `$['a'][-1]`); see [`Self::eval_frozen`].
    pub fn is_simple(&self) -> bool {
        self.tokens.iter().all(|t| match t {
            Token::Property(names) => names.len() == 1,
            Token::Index(ix) => ix.len() == 1,
            _ => false,
        })
    }

    /// Evaluates a path made only of single property names and indexes
    /// (`$`, `$.a.b[0]`, `$['a'][-1]`) on a frozen document, as [`Self::eval`]
    /// would on the same JSON: `Some(None)` when it matches nothing, `None`
    /// when the path has any other kind of step.
    pub fn eval_frozen<'a>(&self, doc: &'a Frozen) -> Option<Option<&'a Frozen>> {
        let mut node = Some(doc);
        for tok in &self.tokens {
            let step = match tok {
                Token::Property(names) if names.len() == 1 => Step::Key(&names[0]),
                Token::Index(ix) if ix.len() == 1 => Step::Index(ix[0]),
                _ => return None,
            };
            node = node.and_then(|n| match (step, n) {
                (Step::Key(k), Frozen::Map(m)) => m.iter().find(|(x, _)| &**x == k).map(|(_, v)| v),
                (Step::Index(i), Frozen::List(a)) => {
                    let i = if i < 0 { a.len() as i64 + i } else { i };
                    a.get(usize::try_from(i).ok()?)
                }
                _ => None,
            });
        }
        Some(node)
    }

    /// Evaluates the path against a document.
    pub fn eval<'a>(&self, doc: &'a Value) -> Found<'a> {
        self.eval_at(doc, doc)
    }

    fn eval_at<'a>(&self, start: &'a Value, root: &'a Value) -> Found<'a> {
        let mut out = Vec::new();
        walk(&self.tokens, Cow::Borrowed(start), root, &mut out);
        if self.definite {
            match out.into_iter().next() {
                Some(v) => Found::One(v),
                None => Found::Missing,
            }
        } else {
            Found::Many(out)
        }
    }
}

fn token_is_definite(t: &Token, is_last: bool) -> bool {
    match t {
        Token::Property(names) => names.len() == 1 || is_last,
        Token::Index(ix) => ix.len() == 1,
        Token::Function(_) => true,
        Token::Slice(..) | Token::Wildcard | Token::Scan | Token::Filter(_) => false,
    }
}

// ---------------------------------------------------------------------------
// Parsing

struct PathParser<'s> {
    s: &'s [char],
    i: usize,
    /// Inside a filter, a path ends at an operator or a closing parenthesis.
    in_filter: bool,
    depth: usize,
}

impl PathParser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.i + n).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at position {}", self.i))
    }

    /// Parses `$...`, `@...` or (top level only) a path without root.
    fn path_from_root(&mut self, top: bool) -> Result<JsonPath, String> {
        let mut tokens = Vec::new();
        if self.eat('$') || (!top && self.eat('@')) {
            // rooted
        } else if top {
            // Jayway reads `a.b` as `$.a.b` and `[0]` as `$[0]`.
            if self.peek() != Some('[') {
                tokens.push(Token::Property(vec![self.name()?]));
            }
        } else {
            return self.err("Expected '@' or '$'");
        }
        loop {
            match self.peek() {
                Some('.') if self.peek_at(1) == Some('.') => {
                    self.i += 2;
                    tokens.push(Token::Scan);
                    match self.peek() {
                        Some('[') => tokens.push(self.bracket()?),
                        Some('*') => {
                            self.i += 1;
                            tokens.push(Token::Wildcard);
                        }
                        _ => tokens.push(self.dot_member()?),
                    }
                }
                Some('.') => {
                    self.i += 1;
                    if self.eat('*') {
                        tokens.push(Token::Wildcard);
                    } else {
                        tokens.push(self.dot_member()?);
                    }
                }
                Some('[') => tokens.push(self.bracket()?),
                _ => break,
            }
            if matches!(tokens.last(), Some(Token::Function(_))) {
                break;
            }
        }
        let n = tokens.len();
        let definite = tokens
            .iter()
            .enumerate()
            .all(|(i, t)| token_is_definite(t, i + 1 == n));
        Ok(JsonPath { tokens, definite })
    }

    fn is_name_end(&self, c: char) -> bool {
        if matches!(c, '.' | '[' | '(' | ')') || c.is_whitespace() {
            return true;
        }
        self.in_filter && matches!(c, '=' | '<' | '>' | '!' | '&' | '|' | ',' | ']')
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.i;
        while self.peek().is_some_and(|c| !self.is_name_end(c)) {
            self.i += 1;
        }
        if self.i == start {
            return self.err("Expected a property name");
        }
        Ok(self.s[start..self.i].iter().collect())
    }

    /// A property name or function call after `.`.
    fn dot_member(&mut self) -> Result<Token, String> {
        let name = self.name()?;
        if self.peek() == Some('(') {
            if self.peek_at(1) != Some(')') {
                return self.err("Function arguments are not supported");
            }
            self.i += 2;
            let f = match name.as_str() {
                "length" => Func::Length,
                "min" => Func::Min,
                "max" => Func::Max,
                "avg" => Func::Avg,
                "sum" => Func::Sum,
                "keys" => Func::Keys,
                _ => return Err(format!("Function with name: {name} does not exist.")),
            };
            if self.peek().is_some_and(|c| c == '.' || c == '[') {
                return self.err("A function must be the last element of a path");
            }
            return Ok(Token::Function(f));
        }
        Ok(Token::Property(vec![name]))
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(q) = self.peek() else {
            return self.err("Expected a quote");
        };
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.err("Unterminated string"),
                Some('\\') => {
                    self.i += 1;
                    match self.peek() {
                        None => return self.err("Unterminated string"),
                        Some(c) => {
                            out.push(c);
                            self.i += 1;
                        }
                    }
                }
                Some(c) if c == q => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn bracket(&mut self) -> Result<Token, String> {
        self.i += 1; // '['
        self.skip_ws();
        let tok = match self.peek() {
            Some('?') => {
                self.i += 1;
                self.skip_ws();
                if !self.eat('(') {
                    return self.err("Expected '(' after '?'");
                }
                let saved = self.in_filter;
                self.in_filter = true;
                let e = self.or_expr()?;
                self.in_filter = saved;
                self.skip_ws();
                if !self.eat(')') {
                    return self.err("Expected ')' closing the filter");
                }
                Token::Filter(Box::new(e))
            }
            Some('\'' | '"') => {
                let mut names = vec![self.quoted()?];
                loop {
                    self.skip_ws();
                    if !self.eat(',') {
                        break;
                    }
                    self.skip_ws();
                    names.push(self.quoted()?);
                }
                Token::Property(names)
            }
            Some('*') => {
                self.i += 1;
                Token::Wildcard
            }
            _ => {
                let start = self.i;
                while self.peek().is_some_and(|c| c != ']') {
                    self.i += 1;
                }
                let body: String = self.s[start..self.i].iter().collect();
                index_token(&body)?
            }
        };
        self.skip_ws();
        if !self.eat(']') {
            return self.err("Expected ']'");
        }
        Ok(tok)
    }

    // Filter expressions -----------------------------------------------------

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return self.err("Filter nested too deeply");
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let mut e = self.and_expr()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('|') && self.peek_at(1) == Some('|') {
                self.i += 2;
                e = Expr::Or(Box::new(e), Box::new(self.and_expr()?));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(e)
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('&') && self.peek_at(1) == Some('&') {
                self.i += 2;
                e = Expr::And(Box::new(e), Box::new(self.unary()?));
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.skip_ws();
        if self.peek() == Some('!') && self.peek_at(1) != Some('=') {
            self.i += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.eat('(') {
            let e = self.or_expr()?;
            self.skip_ws();
            if !self.eat(')') {
                return self.err("Expected ')'");
            }
            return Ok(e);
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some('='), Some('=')) => Some((CmpOp::Eq, 2)),
            (Some('!'), Some('=')) => Some((CmpOp::Ne, 2)),
            (Some('<'), Some('=')) => Some((CmpOp::Le, 2)),
            (Some('>'), Some('=')) => Some((CmpOp::Ge, 2)),
            (Some('<'), _) => Some((CmpOp::Lt, 1)),
            (Some('>'), _) => Some((CmpOp::Gt, 1)),
            (Some('='), Some('~')) => {
                self.i += 2;
                self.skip_ws();
                let re = self.regex_literal()?;
                return Ok(Expr::Matches(left, re));
            }
            _ => None,
        };
        let Some((op, len)) = op else {
            return Ok(Expr::Exists(left));
        };
        self.i += len;
        self.skip_ws();
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn regex_literal(&mut self) -> Result<Regex, String> {
        if !self.eat('/') {
            return self.err("Expected a /regex/");
        }
        let mut pat = String::new();
        loop {
            match self.peek() {
                None => return self.err("Unterminated regex"),
                Some('\\') if self.peek_at(1) == Some('/') => {
                    pat.push('/');
                    self.i += 2;
                }
                Some('\\') => {
                    pat.push('\\');
                    self.i += 1;
                    if let Some(c) = self.peek() {
                        pat.push(c);
                        self.i += 1;
                    }
                }
                Some('/') => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    pat.push(c);
                    self.i += 1;
                }
            }
        }
        let mut icase = false;
        while let Some(c) = self.peek().filter(char::is_ascii_alphabetic) {
            icase |= c == 'i';
            self.i += 1;
        }
        if icase {
            pat.insert_str(0, "(?i)");
        }
        Regex::new(&pat)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some('@') => Ok(Operand::Path {
                root: false,
                path: self.path_from_root(false)?,
            }),
            Some('$') => Ok(Operand::Path {
                root: true,
                path: self.path_from_root(false)?,
            }),
            Some('\'' | '"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.i += 1;
                }
                let text: String = self.s[start..self.i].iter().collect();
                number_literal(&text)
                    .map(Operand::Literal)
                    .ok_or_else(|| format!("Invalid number {text}"))
            }
            _ => {
                let start = self.i;
                while self.peek().is_some_and(char::is_alphabetic) {
                    self.i += 1;
                }
                let word: String = self.s[start..self.i].iter().collect();
                match word.as_str() {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    "null" => Ok(Operand::Literal(Value::Null)),
                    _ => self.err("Expected a filter operand"),
                }
            }
        }
    }
}

fn number_literal(text: &str) -> Option<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::Number(i.into()));
    }
    let f = text.parse::<f64>().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// The inside of `[...]` when it is not quoted, a wildcard or a filter.
fn index_token(body: &str) -> Result<Token, String> {
    let int = |s: &str| -> Result<i64, String> {
        s.trim()
            .parse::<i64>()
            .map_err(|_| format!("Could not parse array index '{}'", s.trim()))
    };
    let opt = |s: &str| -> Result<Option<i64>, String> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            int(s).map(Some)
        }
    };
    if let Some((a, b)) = body.split_once(':') {
        if b.contains(':') {
            return Err("Array slice steps are not supported".into());
        }
        return Ok(Token::Slice(opt(a)?, opt(b)?));
    }
    let ix = body.split(',').map(int).collect::<Result<Vec<_>, _>>()?;
    Ok(Token::Index(ix))
}

// ---------------------------------------------------------------------------
// Evaluation

/// Pushes onto `out` every value the path `tokens` designates from `node`.
fn walk<'a>(
    tokens: &[Token],
    node: Cow<'a, Value>,
    root: &'a Value,
    out: &mut Vec<Cow<'a, Value>>,
) {
    let Some((tok, rest)) = tokens.split_first() else {
        out.push(node);
        return;
    };
    match tok {
        Token::Property(names) if names.len() > 1 && rest.is_empty() => {
            // Jayway merges several properties read at the leaf into one object.
            if let Value::Object(m) = node.as_ref() {
                let merged: JsonMap<String, Value> = names
                    .iter()
                    .filter_map(|n| m.get(n).map(|v| (n.clone(), v.clone())))
                    .collect();
                out.push(Cow::Owned(Value::Object(merged)));
            }
        }
        Token::Property(names) => {
            for n in names {
                if let Some(child) = child(&node, |v| v.as_object()?.get(n)) {
                    walk(rest, child, root, out);
                }
            }
        }
        Token::Index(ix) => {
            for &i in ix {
                let got = child(&node, |v| {
                    let a = v.as_array()?;
                    let len = a.len() as i64;
                    let i = if i < 0 { len + i } else { i };
                    if i < 0 {
                        return None;
                    }
                    a.get(usize::try_from(i).ok()?)
                });
                if let Some(c) = got {
                    walk(rest, c, root, out);
                }
            }
        }
        Token::Slice(from, to) => {
            let len = match node.as_ref() {
                Value::Array(a) => a.len() as i64,
                _ => return,
            };
            let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
            let from = from.map_or(0, norm);
            let to = to.map_or(len, norm);
            for i in from..to {
                if let Some(c) = child(&node, |v| v.as_array()?.get(i as usize)) {
                    walk(rest, c, root, out);
                }
            }
        }
        Token::Wildcard => {
            for c in children(&node) {
                walk(rest, c, root, out);
            }
        }
        Token::Scan => scan(rest, node, root, out),
        Token::Filter(e) => match node.as_ref() {
            Value::Array(a) => {
                for i in 0..a.len() {
                    if let Some(c) = child(&node, |v| v.as_array()?.get(i))
                        && test(e, &c, root)
                    {
                        walk(rest, c, root, out);
                    }
                }
            }
            Value::Object(_) if test(e, &node, root) => walk(rest, node, root, out),
            _ => {}
        },
        Token::Function(f) => {
            if let Some(v) = apply(*f, &node) {
                walk(rest, Cow::Owned(v), root, out);
            }
        }
    }
}

/// A child of `node` picked by `pick`, borrowed when `node` is.
fn child<'a>(
    node: &Cow<'a, Value>,
    pick: impl Fn(&Value) -> Option<&Value>,
) -> Option<Cow<'a, Value>> {
    match node {
        Cow::Borrowed(v) => pick(v).map(Cow::Borrowed),
        Cow::Owned(v) => pick(v).map(|c| Cow::Owned(c.clone())),
    }
}

/// The values of an object or the elements of an array.
fn children<'a>(node: &Cow<'a, Value>) -> Vec<Cow<'a, Value>> {
    match node {
        Cow::Borrowed(Value::Array(a)) => a.iter().map(Cow::Borrowed).collect(),
        Cow::Borrowed(Value::Object(m)) => m.values().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Array(a)) => a.iter().cloned().map(Cow::Owned).collect(),
        Cow::Owned(Value::Object(m)) => m.values().cloned().map(Cow::Owned).collect(),
        _ => Vec::new(),
    }
}

/// `..`: visits every object and array in document order (a node before
/// its children) and applies the rest of the path where its first step can
/// apply, like Jayway's `ScanPathToken`.
fn scan<'a>(rest: &[Token], node: Cow<'a, Value>, root: &'a Value, out: &mut Vec<Cow<'a, Value>>) {
    if !node.is_object() && !node.is_array() {
        return;
    }
    let applies = match rest.first() {
        None => false,
        Some(Token::Property(names)) => node
            .as_object()
            .is_some_and(|m| names.iter().any(|n| m.contains_key(n))),
        Some(Token::Index(_) | Token::Slice(..)) => node.is_array(),
        Some(Token::Wildcard) => true,
        Some(Token::Filter(e)) => node.is_object() && test(e, &node, root),
        Some(Token::Scan | Token::Function(_)) => false,
    };
    if applies {
        walk(rest, node.clone(), root, out);
    }
    for c in children(&node) {
        scan(rest, c, root, out);
    }
}

fn apply(f: Func, v: &Value) -> Option<Value> {
    if f == Func::Length {
        let n = match v {
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            Value::String(s) => s.encode_utf16().count(),
            _ => return None,
        };
        return Some(Value::Number((n as u64).into()));
    }
    if f == Func::Keys {
        let keys = v.as_object()?.keys().cloned().map(Value::String).collect();
        return Some(Value::Array(keys));
    }
    let nums: Vec<f64> = v.as_array()?.iter().filter_map(|x| x.as_f64()).collect();
    if nums.is_empty() {
        return None;
    }
    let r = match f {
        Func::Min => nums.iter().copied().fold(f64::INFINITY, f64::min),
        Func::Max => nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Func::Sum => nums.iter().sum(),
        _ => nums.iter().sum::<f64>() / nums.len() as f64,
    };
    Number::from_f64(r).map(Value::Number)
}

/// An operand's value: `None` when a path designates nothing.
fn operand_value<'a>(o: &'a Operand, cur: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
    match o {
        Operand::Literal(v) => Some(Cow::Borrowed(v)),
        Operand::Path {
            root: is_root,
            path,
        } => {
            let start = if *is_root { root } else { cur };
            match path.eval_at(start, root) {
                Found::Missing => None,
                Found::One(v) => Some(v),
                Found::Many(vs) => Some(Cow::Owned(Value::Array(
                    vs.into_iter().map(Cow::into_owned).collect(),
                ))),
            }
        }
    }
}

fn test(e: &Expr, cur: &Value, root: &Value) -> bool {
    match e {
        Expr::Or(a, b) => test(a, cur, root) || test(b, cur, root),
        Expr::And(a, b) => test(a, cur, root) && test(b, cur, root),
        Expr::Not(a) => !test(a, cur, root),
        Expr::Exists(o) => match o {
            Operand::Literal(v) => !matches!(v, Value::Null | Value::Bool(false)),
            Operand::Path { .. } => match operand_value(o, cur, root) {
                None => false,
                // An indefinite path "exists" when it matched something.
                Some(v) => match (o, v.as_ref()) {
                    (Operand::Path { path, .. }, Value::Array(a)) if !path.is_definite() => {
                        !a.is_empty()
                    }
                    _ => true,
                },
            },
        },
        Expr::Matches(o, re) => match operand_value(o, cur, root).as_deref() {
            Some(Value::String(s)) => re.full_match(s).unwrap_or(false),
            _ => false,
        },
        Expr::Cmp(l, op, r) => {
            let (Some(a), Some(b)) = (operand_value(l, cur, root), operand_value(r, cur, root))
            else {
                return false;
            };
            compare(&a, *op, &b)
        }
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x))
            if matches!(op, CmpOp::Eq | CmpOp::Ne) =>
        {
            // Jayway compares a number with a numeric string by value.
            let y = y.trim().parse::<f64>().ok();
            match (x.as_f64(), y) {
                (Some(x), Some(y)) if x == y => Some(Ordering::Equal),
                _ => None,
            }
        }
        _ => {
            if matches!(op, CmpOp::Eq | CmpOp::Ne) {
                let eq = a == b;
                return eq == (op == CmpOp::Eq);
            }
            None
        }
    };
    match op {
        CmpOp::Eq => ord == Some(Ordering::Equal),
        CmpOp::Ne => ord != Some(Ordering::Equal),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

fn num_cmp(x: &Number, y: &Number) -> Option<std::cmp::Ordering> {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return Some(a.cmp(&b));
    }
    x.as_f64()?.partial_cmp(&y.as_f64()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "store": {
                "book": [
                    {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
                    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
                    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
                    {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
                ],
                "bicycle": {"color": "red", "price": 19.95}
            },
            "expensive": 10
        })
    }

    fn q(path: &str) -> Option<Value> {
        let p = JsonPath::compile(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        p.eval(&doc()).into_value()
    }

    #[test]
    fn definite_paths() {
        assert_eq!(q("$.expensive"), Some(json!(10)));
        assert_eq!(q("$.store.bicycle.color"), Some(json!("red")));
        assert_eq!(q("$['store']['bicycle']['color']"), Some(json!("red")));
        assert_eq!(q("$.store.book[0].author"), Some(json!("Nigel Rees")));
        assert_eq!(
            q("$.store.book[-1].author"),
            Some(json!("J. R. R. Tolkien"))
        );
        assert_eq!(q("store.bicycle.color"), Some(json!("red")));
        assert_eq!(q("$.store.book.length()"), Some(json!(4)));
        assert_eq!(q("$.nope"), None);
        assert_eq!(q("$.store.book[9]"), None);
        assert_eq!(q("$.expensive.x"), None);
        assert_eq!(
            q("$.store.bicycle['color','price']"),
            Some(json!({"color": "red", "price": 19.95}))
        );
    }

    #[test]
    fn indefinite_paths() {
        assert_eq!(
            q("$.store.book[*].author"),
            Some(json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ]))
        );
        assert_eq!(
            q("$..author").map(|v| v.as_array().map(Vec::len)),
            Some(Some(4))
        );
        assert_eq!(
            q("$..price"),
            Some(json!([8.95, 12.99, 8.99, 22.99, 19.95]))
        );
        assert_eq!(q("$.store.book[0,1].price"), Some(json!([8.95, 12.99])));
        assert_eq!(q("$.store.book[1:3].price"), Some(json!([12.99, 8.99])));
        assert_eq!(q("$.store.book[-2:].price"), Some(json!([8.99, 22.99])));
        assert_eq!(q("$.store.book[:1].price"), Some(json!([8.95])));
        assert_eq!(q("$.store.book[*].nope"), Some(json!([])));
        assert_eq!(q("$..book[?(@.isbn)].price"), Some(json!([8.99, 22.99])));
        assert_eq!(
            q("$.store.book[?(@.price < 10)].title"),
            Some(json!(["Sayings of the Century", "Moby Dick"]))
        );
        assert_eq!(
            q("$.store.book[?(@.price < $.expensive && @.category == 'fiction')].price"),
            Some(json!([8.99]))
        );
        assert_eq!(
            q("$.store.book[?(@.price > 20 || @.author =~ /.*REES/i)].price"),
            Some(json!([8.95, 22.99]))
        );
        assert_eq!(
            q("$.store.book[?(!(@.isbn))].price"),
            Some(json!([8.95, 12.99]))
        );
    }

    #[test]
    fn bad_paths_are_errors() {
        for p in [
            "",
            "$.",
            "$[",
            "$['a'",
            "$[?(@.a ==)]",
            "$.a.nofn()",
            "$[1:2:3]",
        ] {
            assert!(JsonPath::compile(p).is_err(), "{p:?} should not compile");
        }
    }
}
