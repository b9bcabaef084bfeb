//! Template parser.
//!
//! A hand-written recursive-descent parser over a [`Cursor`]. Text mode and
//! expression mode are separate functions because Velocity's grammar is
//! modal: `(` is plain text in a template but a grouping token inside `#if(..)`.
//!
//! Velocity 1.7 whitespace rules reproduced here (verified against the real
//! engine, see `tests/corpus`):
//!
//! * every directive (`#set(..)`, `#if(..)`, `#elseif(..)`, `#else`, `#end`,
//!   `#foreach(..)`, `#macro(..)`, `#break`, `#stop`, macro calls) swallows
//!   trailing blanks *if* they are followed by a line break, and that line
//!   break; otherwise the blanks stay;
//! * blanks *before* `#set` vanish when they start a token, i.e. when nothing
//!   but blanks separates the `#set` from the previous directive, reference,
//!   comment or the template start. Blanks that follow ordinary text on the
//!   same "text run" (for example after a newline that is itself text) stay.
//!   Other directives always keep their indentation;
//! * `##` comments swallow their line break, `#* *#` comments do not.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::ast::{Accessor, BinOp, Expr, MacroCall, MacroDef, Macros, Node, Reference};
use crate::eval::{self, Context, Limits, RenderError};
use crate::lexer::{Cursor, LexError, Tok};

/// API Gateway refuses mapping templates larger than 300 KB.
pub const MAX_TEMPLATE_BYTES: usize = 300 * 1024;

/// Maximum nesting of blocks and expressions, so that hostile input such as
/// 100 000 opening parentheses cannot overflow the parser's stack.
const MAX_NESTING: usize = 48;

/// A syntax error, with a 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "parse error at line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// The most output a render reserves before it writes anything.
const MAX_RESERVED_OUTPUT: usize = 64 * 1024;

/// A parsed template: parse once, render many times (it is immutable and
/// `Send + Sync`).
#[derive(Debug)]
pub struct Template {
    pub(crate) nodes: Vec<Node>,
    pub(crate) macros: Macros,
    /// The length of the latest output (at first, of the source): renders
    /// reserve that much up front (up to [`MAX_RESERVED_OUTPUT`]), as the
    /// outputs of one template tend to have similar sizes.
    pub(crate) size_hint: AtomicUsize,
}

impl Template {
    /// Parses a template, refusing sources over [`MAX_TEMPLATE_BYTES`].
    pub fn parse(src: &str) -> Result<Template, ParseError> {
        Self::parse_with_max_size(src, MAX_TEMPLATE_BYTES)
    }

    /// Parses with a custom size ceiling (in bytes).
    pub fn parse_with_max_size(src: &str, max_bytes: usize) -> Result<Template, ParseError> {
        if src.len() > max_bytes {
            return Err(ParseError {
                message: format!(
                    "template is {} bytes, larger than the {max_bytes} byte limit",
                    src.len()
                ),
                line: 1,
                column: 1,
            });
        }
        let mut p = Parser::new(src);
        let nodes = p.top()?;
        Ok(Template {
            nodes,
            macros: p.macros,
            size_hint: AtomicUsize::new(src.len()),
        })
    }

    /// Renders the template. `ctx` receives the template's `#set`s.
    pub fn render(&self, ctx: &mut Context, limits: &Limits) -> Result<String, RenderError> {
        let out = eval::render(
            &self.nodes,
            &self.macros,
            ctx,
            limits,
            self.size_hint
                .load(Ordering::Relaxed)
                .min(MAX_RESERVED_OUTPUT),
        )?;
        self.size_hint.store(out.len(), Ordering::Relaxed);
        Ok(out)
    }
}

/// What ended a block.
enum Term {
    Eof,
    End,
    Else,
    ElseIf(Expr),
}

/// Directive names; `\#name` escapes only these.
const DIRECTIVES: [&str; 11] = [
    "set", "if", "elseif", "else", "end", "foreach", "macro", "break", "stop", "define", "evaluate",
];

pub(crate) struct Parser {
    c: Cursor,
    pub(crate) macros: Macros,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser {
    pub(crate) fn new(src: &str) -> Self {
        Parser {
            c: Cursor::new(src),
            macros: Macros::new(),
            depth: 0,
        }
    }

    fn error_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = self.c.line_col(pos);
        ParseError {
            message: message.into(),
            line,
            column,
        }
    }

    fn lex_err(&self, e: LexError) -> ParseError {
        self.error_at(e.pos, e.message)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error_at(self.c.pos, "nesting too deep"));
        }
        Ok(())
    }

    /// Parses a whole template (the top-level block must end at EOF).
    pub(crate) fn top(&mut self) -> PResult<Vec<Node>> {
        let start = self.c.pos;
        let (nodes, term) = self.block()?;
        match term {
            Term::Eof => Ok(nodes),
            _ => Err(self.error_at(
                self.c.pos.saturating_sub(1).max(start),
                "#end, #else or #elseif without a matching directive",
            )),
        }
    }

    /// Parses nodes until `#end`, `#else`, `#elseif(..)` or end of input.
    fn block(&mut self) -> PResult<(Vec<Node>, Term)> {
        self.enter()?;
        let mut nodes = Vec::new();
        let mut text = String::new();
        let term = loop {
            let Some(ch) = self.c.peek() else {
                break Term::Eof;
            };
            match ch {
                '\\' => self.backslash(&mut nodes, &mut text)?,
                '$' => match self.reference()? {
                    Some(r) => {
                        flush(&mut nodes, &mut text);
                        nodes.push(Node::Ref(r));
                    }
                    None => {
                        self.c.bump();
                        text.push('$');
                    }
                },
                '#' => {
                    if let Some(term) = self.hash(&mut nodes, &mut text)? {
                        break term;
                    }
                }
                _ => {
                    self.c.bump();
                    text.push(ch);
                }
            }
        };
        flush(&mut nodes, &mut text);
        self.depth -= 1;
        Ok((nodes, term))
    }

    /// A run of backslashes, possibly escaping a reference or a directive.
    fn backslash(&mut self, nodes: &mut Vec<Node>, text: &mut String) -> PResult<()> {
        let mut n = 0;
        while self.c.peek() == Some('\\') {
            self.c.bump();
            n += 1;
        }
        match self.c.peek() {
            Some('$') => {
                if let Some(reference) = self.reference()? {
                    flush(nodes, text);
                    nodes.push(Node::EscapedRef {
                        backslashes: n,
                        reference,
                    });
                    return Ok(());
                }
            }
            Some('#') => {
                let hash = self.c.pos;
                self.c.bump();
                let braced = self.c.eat("{");
                let name = self.c.word();
                let ok = name.is_some_and(|w| DIRECTIVES.contains(&w.as_str()))
                    && (!braced || self.c.eat("}"));
                if ok {
                    // 1.7 quirk: before `#set` an even run of backslashes is
                    // kept whole; before other directives pairs collapse.
                    let is_set = self.c.slice(hash, self.c.pos).contains("set");
                    let keep = if is_set && n % 2 == 0 { n } else { n / 2 };
                    text.push_str(&"\\".repeat(keep));
                    if n % 2 == 1 {
                        text.push_str(&self.c.slice(hash, self.c.pos));
                    } else {
                        self.c.pos = hash;
                    }
                    return Ok(());
                }
                self.c.pos = hash;
            }
            _ => {}
        }
        text.push_str(&"\\".repeat(n));
        Ok(())
    }

    /// Parses a reference at `$`, or returns `None` (cursor unchanged) when
    /// the `$` is plain text, as in `$5` or `$ `.
    fn reference(&mut self) -> PResult<Option<Reference>> {
        let start = self.c.pos;
        self.c.bump();
        let quiet = self.c.eat("!");
        let formal = self.c.eat("{");
        let Some(root) = self.c.ident() else {
            self.c.pos = start;
            return Ok(None);
        };
        let parts = self.accessors()?;
        if formal && !self.c.eat("}") {
            self.c.pos = start;
            return Ok(None);
        }
        let line = self.c.line_col(start).0;
        Ok(Some(Reference {
            quiet,
            root,
            parts,
            source: self.c.slice(start, self.c.pos),
            line,
        }))
    }

    /// `.prop`, `.method(args)` and `[index]` suffixes.
    fn accessors(&mut self) -> PResult<Vec<Accessor>> {
        let mut parts = Vec::new();
        loop {
            match (self.c.peek(), self.c.peek_at(1)) {
                (Some('.'), Some(n)) if n.is_ascii_alphabetic() || n == '_' => {
                    self.c.bump();
                    let name = self.c.ident().unwrap_or_default();
                    if self.c.peek() == Some('(') {
                        self.c.bump();
                        let args = self.args(false)?;
                        parts.push(Accessor::Method(name, args));
                    } else {
                        parts.push(Accessor::Property(name));
                    }
                }
                (Some('['), _) => {
                    let save = self.c.pos;
                    self.c.bump();
                    let idx = self.arg();
                    self.c.skip_ws();
                    match idx {
                        Ok(e) if self.c.eat("]") => parts.push(Accessor::Index(e)),
                        _ => {
                            self.c.pos = save;
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        Ok(parts)
    }

    /// Arguments up to `)`. Method calls need commas; macro calls also accept
    /// blank-separated arguments (`#m("a" "b")`).
    fn args(&mut self, blank_separated: bool) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        self.c.skip_ws();
        if self.c.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.arg()?);
            self.c.skip_ws();
            if self.c.eat(",") {
                continue;
            }
            if self.c.eat(")") {
                return Ok(args);
            }
            if !blank_separated || self.c.at_end() {
                return Err(self.error_at(self.c.pos, "expected ',' or ')'"));
            }
        }
    }

    fn expect(&mut self, s: &str) -> PResult<()> {
        self.c.skip_ws();
        if self.c.eat(s) {
            Ok(())
        } else {
            Err(self.error_at(self.c.pos, format!("expected '{s}'")))
        }
    }

    /// `#...` at the cursor. Returns a terminator for `#end`/`#else`/`#elseif`.
    fn hash(&mut self, nodes: &mut Vec<Node>, text: &mut String) -> PResult<Option<Term>> {
        let start = self.c.pos;
        if self.c.starts_with("##") {
            flush(nodes, text);
            while let Some(ch) = self.c.bump() {
                if ch == '\n' {
                    break;
                }
                if ch == '\r' {
                    self.c.eat("\n");
                    break;
                }
            }
            return Ok(None);
        }
        if self.c.starts_with("#*") {
            flush(nodes, text);
            self.c.pos += 2;
            // An unterminated block comment silently runs to the end.
            while !self.c.eat("*#") && self.c.bump().is_some() {}
            return Ok(None);
        }
        if self.c.eat("#[[") {
            flush(nodes, text);
            let from = self.c.pos;
            while !self.c.starts_with("]]#") {
                if self.c.bump().is_none() {
                    return Err(self.error_at(start, "unterminated #[[ block"));
                }
            }
            nodes.push(Node::Text(self.c.slice(from, self.c.pos)));
            self.c.pos += 3;
            return Ok(None);
        }
        self.c.bump();
        let braced = self.c.eat("{");
        let block_call = !braced && self.c.eat("@");
        let name = self.c.word();
        let Some(name) = name.filter(|_| !braced || self.c.eat("}")) else {
            self.c.pos = start + 1;
            text.push('#');
            return Ok(None);
        };
        if block_call {
            flush(nodes, text);
            let call = self.macro_call(start, name, true)?;
            nodes.push(call);
            return Ok(None);
        }
        let name_end = self.c.pos;
        // Directives that need `(` degrade to text without it.
        let paren = |p: &mut Parser| {
            p.c.skip_blanks();
            if p.c.eat("(") {
                true
            } else {
                p.c.pos = name_end;
                false
            }
        };
        match name.as_str() {
            "set" => {
                if !paren(self) {
                    text.push_str(&self.c.slice(start, name_end));
                    return Ok(None);
                }
                if text.chars().all(|c| c == ' ' || c == '\t') {
                    text.clear();
                }
                flush(nodes, text);
                self.c.skip_ws();
                let target = match self.reference()? {
                    Some(r) => r,
                    None => return Err(self.error_at(self.c.pos, "#set needs a reference")),
                };
                self.expect("=")?;
                let value = self.expr()?;
                self.expect(")")?;
                self.c.eat_line_end();
                nodes.push(Node::Set { target, value });
            }
            "if" => {
                if !paren(self) {
                    text.push_str(&self.c.slice(start, name_end));
                    return Ok(None);
                }
                flush(nodes, text);
                let node = self.if_chain(start)?;
                nodes.push(node);
            }
            "elseif" => {
                if !paren(self) {
                    return Err(self.error_at(start, "#elseif needs a condition"));
                }
                let cond = self.expr()?;
                self.expect(")")?;
                self.c.eat_line_end();
                return Ok(Some(Term::ElseIf(cond)));
            }
            "else" => {
                self.c.eat_line_end();
                return Ok(Some(Term::Else));
            }
            "end" => {
                self.c.eat_line_end();
                return Ok(Some(Term::End));
            }
            "foreach" => {
                if !paren(self) {
                    text.push_str(&self.c.slice(start, name_end));
                    return Ok(None);
                }
                flush(nodes, text);
                self.c.skip_ws();
                let var = match self.reference()? {
                    Some(r) if r.parts.is_empty() => r.root,
                    _ => return Err(self.error_at(self.c.pos, "#foreach needs $variable")),
                };
                self.c.skip_ws();
                if self.c.word().as_deref() != Some("in") {
                    return Err(self.error_at(self.c.pos, "expected 'in'"));
                }
                let iterable = self.expr()?;
                self.expect(")")?;
                self.c.eat_line_end();
                let body = self.body_until_end(start, "#foreach")?;
                nodes.push(Node::Foreach {
                    var,
                    iterable,
                    body,
                });
            }
            "macro" => {
                if !paren(self) {
                    text.push_str(&self.c.slice(start, name_end));
                    return Ok(None);
                }
                flush(nodes, text);
                self.macro_def(start)?;
            }
            "break" | "stop" => {
                flush(nodes, text);
                let save = self.c.pos;
                self.c.skip_blanks();
                if self.c.eat("(") {
                    // `#break($foreach)`: the scope argument is accepted and
                    // treated as the innermost scope.
                    while !self.c.eat(")") {
                        if self.c.bump().is_none() {
                            return Err(self.error_at(start, "unterminated #break("));
                        }
                    }
                } else {
                    self.c.pos = save;
                }
                self.c.eat_line_end();
                nodes.push(if name == "break" {
                    Node::Break
                } else {
                    Node::Stop
                });
            }
            "define" => {
                if !paren(self) {
                    text.push_str(&self.c.slice(start, name_end));
                    return Ok(None);
                }
                flush(nodes, text);
                self.c.skip_ws();
                let name = match self.reference()? {
                    Some(r) if r.parts.is_empty() => r.root,
                    _ => return Err(self.error_at(self.c.pos, "#define needs $variable")),
                };
                self.expect(")")?;
                self.c.eat_line_end();
                let body = self.body_until_end(start, "#define")?;
                nodes.push(Node::Define {
                    name,
                    body: body.into(),
                });
            }
            "evaluate" => {
                if !paren(self) {
                    text.push_str(&self.c.slice(start, name_end));
                    return Ok(None);
                }
                flush(nodes, text);
                let e = self.expr()?;
                self.expect(")")?;
                self.c.eat_line_end();
                nodes.push(Node::Evaluate(e));
            }
            _ => {
                flush(nodes, text);
                let call = self.macro_call(start, name, false)?;
                nodes.push(call);
            }
        }
        Ok(None)
    }

    fn body_until_end(&mut self, start: usize, what: &str) -> PResult<Vec<Node>> {
        let (body, term) = self.block()?;
        match term {
            Term::End => Ok(body),
            Term::Eof => Err(self.error_at(start, format!("{what} without #end"))),
            _ => Err(self.error_at(start, format!("#else inside {what}"))),
        }
    }

    /// After `#if(`: condition, branches, `#end`.
    fn if_chain(&mut self, start: usize) -> PResult<Node> {
        let mut cond = self.expr()?;
        self.expect(")")?;
        self.c.eat_line_end();
        let mut branches = Vec::new();
        loop {
            let (body, term) = self.block()?;
            branches.push((cond, body));
            match term {
                Term::End => {
                    return Ok(Node::If {
                        branches,
                        otherwise: None,
                    });
                }
                Term::Else => {
                    let otherwise = self.body_until_end(start, "#else")?;
                    return Ok(Node::If {
                        branches,
                        otherwise: Some(otherwise),
                    });
                }
                Term::ElseIf(e) => cond = e,
                Term::Eof => return Err(self.error_at(start, "#if without #end")),
            }
        }
    }

    /// After `#macro(`: name, parameters, body. Registered at parse time.
    fn macro_def(&mut self, start: usize) -> PResult<()> {
        self.c.skip_ws();
        let Some(name) = self.c.word() else {
            return Err(self.error_at(self.c.pos, "#macro needs a name"));
        };
        let mut params = Vec::new();
        loop {
            self.c.skip_ws();
            if self.c.eat(",") {
                continue;
            }
            if self.c.eat(")") {
                break;
            }
            match self.reference()? {
                Some(r) if r.parts.is_empty() => params.push(r.root),
                _ => return Err(self.error_at(self.c.pos, "bad #macro parameter")),
            }
        }
        self.c.eat_line_end();
        let body = self.body_until_end(start, "#macro")?;
        // Velocity keeps the first inline definition of a name.
        self.macros
            .entry(name.clone())
            .or_insert_with(|| Arc::new(MacroDef { name, params, body }));
        Ok(())
    }

    /// `#name`, `#name(args)` or `#@name(args) body #end`.
    fn macro_call(&mut self, start: usize, name: String, block: bool) -> PResult<Node> {
        let after_name = self.c.pos;
        self.c.skip_blanks();
        // Like Velocity, `#name(` always parses its arguments, even when no
        // macro of that name exists: bad arguments are a syntax error.
        let args = if self.c.eat("(") {
            self.args(true)?
        } else {
            self.c.pos = after_name;
            Vec::new()
        };
        self.c.eat_line_end();
        let literal = self.c.slice(start, self.c.pos);
        let body = if block {
            Some(self.body_until_end(start, "#@")?)
        } else {
            None
        };
        Ok(Node::MacroCall(Box::new(MacroCall {
            name,
            args,
            body,
            literal,
            line: self.c.line_col(start).0,
        })))
    }

    // ----- expressions -------------------------------------------------

    fn tok(&mut self) -> PResult<Tok> {
        self.c.next_tok().map_err(|e| self.lex_err(e))
    }

    fn peek_tok(&mut self) -> PResult<Tok> {
        self.c.peek_tok().map_err(|e| self.lex_err(e))
    }

    /// Full expression: `||` binds loosest, then `&&`, equality, relational,
    /// additive, multiplicative, unary.
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.binary(0);
        self.depth -= 1;
        r
    }

    fn binary(&mut self, level: usize) -> PResult<Expr> {
        const LEVELS: usize = 6;
        if level == LEVELS {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let save = self.c.pos;
            let op = match (level, self.tok()?) {
                (0, Tok::Punct("||")) => BinOp::Or,
                (0, Tok::Word(w)) if w == "or" => BinOp::Or,
                (1, Tok::Punct("&&")) => BinOp::And,
                (1, Tok::Word(w)) if w == "and" => BinOp::And,
                (2, Tok::Punct("==")) => BinOp::Eq,
                (2, Tok::Punct("!=")) => BinOp::Ne,
                (2, Tok::Word(w)) if w == "eq" => BinOp::Eq,
                (2, Tok::Word(w)) if w == "ne" => BinOp::Ne,
                (3, Tok::Punct("<")) => BinOp::Lt,
                (3, Tok::Punct("<=")) => BinOp::Le,
                (3, Tok::Punct(">")) => BinOp::Gt,
                (3, Tok::Punct(">=")) => BinOp::Ge,
                (3, Tok::Word(w)) if w == "lt" => BinOp::Lt,
                (3, Tok::Word(w)) if w == "le" => BinOp::Le,
                (3, Tok::Word(w)) if w == "gt" => BinOp::Gt,
                (3, Tok::Word(w)) if w == "ge" => BinOp::Ge,
                (4, Tok::Punct("+")) => BinOp::Add,
                (4, Tok::Punct("-")) => BinOp::Sub,
                (5, Tok::Punct("*")) => BinOp::Mul,
                (5, Tok::Punct("/")) => BinOp::Div,
                (5, Tok::Punct("%")) => BinOp::Mod,
                _ => {
                    self.c.pos = save;
                    return Ok(left);
                }
            };
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    /// A method, macro or index argument. Velocity 1.7 only accepts a single
    /// operand there (`$s.substring(0, $n - 1)` is a syntax error).
    fn arg(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.primary();
        self.depth -= 1;
        r
    }

    fn unary(&mut self) -> PResult<Expr> {
        let save = self.c.pos;
        match self.tok()? {
            Tok::Punct("!") => {
                self.enter()?;
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(e)))
            }
            Tok::Word(w) if w == "not" => {
                self.enter()?;
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(e)))
            }
            _ => {
                self.c.pos = save;
                self.primary()
            }
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        self.c.skip_ws();
        let start = self.c.pos;
        match self.tok()? {
            Tok::Dollar => match self.reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.error_at(start, "bad reference")),
            },
            Tok::Int(i) => Ok(Expr::Int(i)),
            Tok::Float(f) => Ok(Expr::Float(f)),
            // Only number literals can be negated (`-$x` is a syntax error in 1.7).
            Tok::Punct("-") => match self.tok()? {
                Tok::Int(i) => Ok(Expr::Int(-i)),
                Tok::Float(f) => Ok(Expr::Float(-f)),
                _ => Err(self.error_at(start, "'-' must precede a number")),
            },
            Tok::SingleStr(s) => Ok(Expr::Str(s)),
            Tok::DoubleStr(s) => self.interpolated(s, start),
            Tok::Word(w) if w == "true" => Ok(Expr::Bool(true)),
            Tok::Word(w) if w == "false" => Ok(Expr::Bool(false)),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("[") => self.list_or_range(),
            Tok::Punct("{") => self.map_literal(),
            t => Err(self.error_at(start, format!("unexpected {t:?} in expression"))),
        }
    }

    /// A double-quoted string: with `$` or `#` inside it is parsed as a
    /// template and rendered each time it is evaluated.
    fn interpolated(&mut self, s: String, start: usize) -> PResult<Expr> {
        if !s.contains('$') && !s.contains('#') {
            return Ok(Expr::Str(s));
        }
        let mut sub = Parser::new(&s);
        sub.depth = self.depth;
        let nodes = sub.top().map_err(|e| {
            let (line, column) = self.c.line_col(start);
            ParseError {
                message: format!("in string literal: {}", e.message),
                line,
                column,
            }
        })?;
        for (k, v) in sub.macros {
            self.macros.entry(k).or_insert(v);
        }
        Ok(Expr::Interpolated(nodes))
    }

    /// After `[`: `[]`, `[a, b]` or `[a..b]`.
    fn list_or_range(&mut self) -> PResult<Expr> {
        if self.peek_tok()? == Tok::Punct("]") {
            self.tok()?;
            return Ok(Expr::List(Vec::new()));
        }
        let first = self.expr()?;
        if self.peek_tok()? == Tok::Punct("..") {
            self.tok()?;
            let last = self.expr()?;
            self.expect("]")?;
            return Ok(Expr::Range(Box::new(first), Box::new(last)));
        }
        let mut items = vec![first];
        loop {
            let pos = self.c.pos;
            match self.tok()? {
                Tok::Punct(",") => items.push(self.expr()?),
                Tok::Punct("]") => return Ok(Expr::List(items)),
                _ => return Err(self.error_at(pos, "expected ',' or ']'")),
            }
        }
    }

    /// After `{`: `{}` or `{k: v, ...}`.
    fn map_literal(&mut self) -> PResult<Expr> {
        let mut entries = Vec::new();
        if self.peek_tok()? == Tok::Punct("}") {
            self.tok()?;
            return Ok(Expr::Map(entries));
        }
        loop {
            let k = self.expr()?;
            self.expect(":")?;
            let v = self.expr()?;
            entries.push((k, v));
            let pos = self.c.pos;
            match self.tok()? {
                Tok::Punct(",") => {}
                Tok::Punct("}") => return Ok(Expr::Map(entries)),
                _ => return Err(self.error_at(pos, "expected ',' or '}'")),
            }
        }
    }
}

fn flush(nodes: &mut Vec<Node>, text: &mut String) {
    if !text.is_empty() {
        nodes.push(Node::Text(std::mem::take(text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Vec<Node> {
        match Template::parse(s) {
            Ok(t) => t.nodes,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn text_and_references() {
        let n = parse("a $b.c(1, 'x')[0] d");
        assert_eq!(n.len(), 3);
        match &n[1] {
            Node::Ref(r) => {
                assert_eq!(r.root, "b");
                assert_eq!(r.parts.len(), 2);
                assert_eq!(r.source, "$b.c(1, 'x')[0]");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dollar_without_identifier_is_text() {
        let n = parse("$ $1 $$");
        assert!(matches!(&n[..], [Node::Text(t)] if t == "$ $1 $$"));
    }

    #[test]
    fn set_eats_newline_and_leading_blanks_at_token_start() {
        let n = parse("  #set($a = 1)\nx");
        assert!(matches!(&n[..], [Node::Set { .. }, Node::Text(t)] if t == "x"));
        let n = parse("b\n  #set($a = 1)\nx");
        assert!(matches!(&n[..], [Node::Text(t), Node::Set { .. }, _] if t == "b\n  "));
    }

    #[test]
    fn if_else_chain() {
        let n = parse("#if($a)1#elseif($b)2#{else}3#end");
        match &n[..] {
            [
                Node::If {
                    branches,
                    otherwise: Some(_),
                },
            ] => assert_eq!(branches.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn precedence() {
        let mut p = Parser::new("1 + 2 * 3 == 7 && !false");
        match p.expr() {
            Ok(Expr::Binary(BinOp::And, l, _)) => {
                assert!(matches!(*l, Expr::Binary(BinOp::Eq, _, _)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_have_positions() {
        let e = Template::parse("ok\n#if($a)x").err();
        assert!(matches!(e, Some(ParseError { line: 2, .. })));
        assert!(Template::parse("#end").is_err());
        assert!(Template::parse("#set($a = )").is_err());
        // Velocity lets an unterminated `#*` run to the end of the template.
        assert!(Template::parse("#* open").is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let src = format!("#set($a = {}1{})", "(".repeat(5000), ")".repeat(5000));
        assert!(Template::parse(&src).is_err());
        let src = "#if(true)".repeat(5000);
        assert!(Template::parse(&src).is_err());
    }

    #[test]
    fn huge_template_is_refused() {
        let src = "x".repeat(MAX_TEMPLATE_BYTES + 1);
        let e = Template::parse(&src).err();
        assert!(e.is_some_and(|e| e.message.contains("limit")));
        assert!(Template::parse(&"x".repeat(MAX_TEMPLATE_BYTES)).is_ok());
    }

    #[test]
    fn macros_are_hoisted() {
        let t = Template::parse("#m()#macro(m $a $b)x#end").ok();
        assert!(t.is_some_and(|t| t.macros["m"].params == ["a", "b"]));
    }
}
