//! Property test: parsing and rendering never panic and always end.
//!
//! Thousands of templates are generated from a grammar of VTL fragments
//! (text, references with properties / methods / indexes, `#set`, `#if`
//! chains, `#foreach`, `#macro` definitions and calls, `#define`,
//! `#evaluate`, comments, arithmetic and comparisons, string methods with
//! regexes, ...), then damaged at random (cut, spliced, unbalanced) and
//! rendered against random contexts under tight [`Limits`]. Each one must
//! give `Ok` or `Err`: no panic, no hang (the limits bound the work, and the
//! test checks each case's time).
//!
//! The generator is a small deterministic PRNG (SplitMix64), so a failure
//! names its case number and is reproducible: set `NEVER_PANICS_CASE=N` to
//! run that case alone, `NEVER_PANICS_CASES=N` to run more cases.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tollgate_vtl::{Context, HostObject, Limits, Template, Value};

/// SplitMix64: tiny, fast, good enough to drive a grammar.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `1 / n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const VARS: &[&str] = &[
    "a",
    "b",
    "s",
    "n",
    "l",
    "m",
    "h",
    "x",
    "i",
    "foreach",
    "velocityCount",
    "bodyContent",
    "d",
    "nope",
];
const PROPS: &[&str] = &[
    "a", "b", "name", "size", "empty", "class", "length", "first", "last", "index", "count",
    "hasNext", "parent", "keySet", "id", "x",
];
const TEXT: &[&str] = &[
    "hello",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\t",
    "{",
    "}",
    "\"",
    "'",
    ",",
    "(",
    ")",
    "[",
    "]",
    ".",
    "x.y",
    "\u{e9}",
    "\u{1F600}",
    "\\",
    "\\\\",
    "$",
    "#",
    "$$",
    "##\n",
    "#*c*#",
    "$5",
    "# x",
    "=",
    "!",
    "@",
    "%",
    "&&",
    "..",
    "*#",
    "]]#",
];
const BROKEN: &[&str] = &[
    "#if(",
    "#if($a",
    "#end",
    "#else",
    "#elseif(",
    "#foreach($i in",
    "#foreach(",
    "#set($",
    "#set($a =",
    "#set(",
    "#macro(",
    "#macro(m",
    "#define(",
    "#evaluate(",
    ")",
    "(",
    "$!{",
    "${a",
    "${a.",
    "$a.",
    "$a(",
    "$a[",
    "$a[0",
    "#*",
    "#[[",
    "\"",
    "'",
    "[1..",
    "{'k':",
    "#@",
    "#@m(",
    "#{",
    "#{end",
    "#break(",
    "$a.b(1,",
    "#{else}",
    "#{end}",
    "#stop",
    "#break",
];
const METHODS: &[(&str, usize)] = &[
    ("size", 0),
    ("length", 0),
    ("isEmpty", 0),
    ("toString", 0),
    ("toUpperCase", 0),
    ("toLowerCase", 0),
    ("trim", 0),
    ("keySet", 0),
    ("values", 0),
    ("entrySet", 0),
    ("hashCode", 0),
    ("get", 1),
    ("charAt", 1),
    ("indexOf", 1),
    ("contains", 1),
    ("containsKey", 1),
    ("startsWith", 1),
    ("endsWith", 1),
    ("equals", 1),
    ("concat", 1),
    ("add", 1),
    ("remove", 1),
    ("substring", 1),
    ("substring", 2),
    ("split", 1),
    ("split", 2),
    ("matches", 1),
    ("replace", 2),
    ("replaceAll", 2),
    ("replaceFirst", 2),
    ("put", 2),
    ("set", 2),
    ("lastIndexOf", 1),
    ("repeat", 1),
    ("join", 1),
    ("greet", 1),
    ("fail", 0),
    ("self", 0),
    ("nope", 3),
];
const REGEXES: &[&str] = &[
    "a",
    ".*",
    "(a+)+b",
    "[a-z]*",
    "\\\\d{2,5}",
    "(?i)H",
    "^",
    "$",
    "\\\\b",
    "x|y|",
    "(",
    "[",
    "a{3",
    "a**",
    "(?=x)",
    "[^,]+",
    ".*?",
    "\\\\s+",
    "(a|b)*c",
    "",
    "\\\\",
];
const NAMES: &[&str] = &["m", "m2", "rec", "foreach", "if", "x"];

struct Gen {
    rng: Rng,
    /// Fragments still allowed, so templates stay small.
    budget: usize,
}

impl Gen {
    fn ident(&mut self) -> String {
        if self.rng.one_in(12) {
            // Rare or odd identifiers.
            return self
                .rng
                .pick(&["_", "a1", "a-b", "A_B", "velocityHasNext", "\u{e9}"])
                .to_string();
        }
        self.rng.pick(VARS).to_string()
    }

    fn reference(&mut self, depth: usize) -> String {
        let mut s = String::from("$");
        if self.rng.one_in(4) {
            s.push('!');
        }
        let formal = self.rng.one_in(4);
        if formal {
            s.push('{');
        }
        s.push_str(&self.ident());
        for _ in 0..self.rng.below(4) {
            match self.rng.below(3) {
                0 => {
                    s.push('.');
                    s.push_str(self.rng.pick(PROPS));
                }
                1 => {
                    let (name, arity) = METHODS[self.rng.below(METHODS.len())];
                    s.push('.');
                    s.push_str(name);
                    s.push('(');
                    for k in 0..arity {
                        if k > 0 {
                            s.push_str(", ");
                        }
                        let regex =
                            name.starts_with("replace") || name == "matches" || name == "split";
                        if regex && k == 0 {
                            s.push('\'');
                            s.push_str(self.rng.pick(REGEXES));
                            s.push('\'');
                            continue;
                        }
                        s.push_str(&self.param(depth + 1));
                    }
                    s.push(')');
                }
                _ => {
                    s.push('[');
                    s.push_str(&self.param(depth + 1));
                    s.push(']');
                }
            }
        }
        if formal && !self.rng.one_in(10) {
            s.push('}');
        }
        s
    }

    /// A `#set` target: `$a`, `$a.b`, `$a[i]` (rarely any reference).
    fn target(&mut self, depth: usize) -> String {
        match self.rng.below(8) {
            0..=3 => format!("${}", self.ident()),
            4 => format!("${}.{}", self.ident(), self.rng.pick(PROPS)),
            5 => format!("${}[{}]", self.ident(), self.param(depth + 1)),
            6 => format!(
                "${}.{}.{}",
                self.ident(),
                self.rng.pick(PROPS),
                self.rng.pick(PROPS)
            ),
            _ => self.reference(depth),
        }
    }

    fn literal(&mut self, depth: usize) -> String {
        match self.rng.below(12) {
            0 => self
                .rng
                .pick(&[
                    "0",
                    "1",
                    "-1",
                    "7",
                    "2147483647",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "99999999999999999999",
                ])
                .to_string(),
            1 => self
                .rng
                .pick(&["0.0", "1.5", "-2.25", "1e308", "3.0E-5", "-0.0"])
                .to_string(),
            2 => self.rng.pick(&["true", "false"]).to_string(),
            3 => format!(
                "'{}'",
                self.rng
                    .pick(&["", "abc", "a,b,,c", "$a", "x''y", "\u{e9}"])
            ),
            4 => {
                // An interpolated string: a tiny template in quotes.
                let inner = self.template(depth + 1).replace('"', "'");
                format!("\"{inner}\"")
            }
            5 => format!(
                "[{}..{}]",
                self.rng.pick(&["0", "1", "-3", "$n", "'a'"]),
                self.rng.pick(&["0", "5", "-2", "$n", "100", "1000000"])
            ),
            6 => {
                let n = self.rng.below(4);
                let items: Vec<String> = (0..n).map(|_| self.param(depth + 1)).collect();
                format!("[{}]", items.join(", "))
            }
            7 => {
                let n = self.rng.below(3);
                let items: Vec<String> = (0..n)
                    .map(|_| format!("{} : {}", self.param(depth + 1), self.param(depth + 1)))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            _ => self.reference(depth + 1),
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth > 4 || self.budget == 0 {
            return self.rng.pick(&["1", "$a", "'s'", "true"]).to_string();
        }
        self.budget -= 1;
        match self.rng.below(10) {
            0..=5 => self.literal(depth),
            6 => format!("({})", self.expr(depth + 1)),
            7 => format!("{}{}", self.rng.pick(&["!", "! "]), self.operand(depth + 1)),
            _ => {
                let op = self.rng.pick(&[
                    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", " and ",
                    " or ", " eq ", " ne ", " lt ", " gt ", " le ", " ge ",
                ]);
                format!(
                    "{} {op} {}",
                    self.operand(depth + 1),
                    self.operand(depth + 1)
                )
            }
        }
    }

    /// A method argument, index or macro argument: Velocity allows no
    /// operators there (but the occasional one is a useful error).
    fn param(&mut self, depth: usize) -> String {
        if self.rng.one_in(30) {
            self.expr(depth)
        } else if depth > 4 {
            self.rng.pick(&["1", "$a", "'s'", "true"]).to_string()
        } else {
            self.literal(depth)
        }
    }

    /// An operand of a binary operator: a literal, or a parenthesised expression.
    fn operand(&mut self, depth: usize) -> String {
        if self.rng.one_in(3) {
            format!("({})", self.expr(depth + 1))
        } else {
            self.literal(depth)
        }
    }

    fn block(&mut self, depth: usize) -> String {
        if depth > 6 {
            return String::new();
        }
        self.template(depth + 1)
    }

    fn fragment(&mut self, depth: usize) -> String {
        match self.rng.below(24) {
            0..=3 => self.rng.pick(TEXT).to_string(),
            4..=6 => self.reference(depth),
            7 => format!(
                "{}{}",
                self.rng.pick(&["\\", "\\\\", "\\\\\\"]),
                self.reference(depth)
            ),
            8 | 9 => format!(
                "{}#set({} = {}){}",
                self.rng.pick(&["", "  ", "\n "]),
                self.target(depth),
                self.expr(depth + 1),
                self.rng.pick(&["", "\n", "  \n"])
            ),
            10 | 11 => {
                let mut s = format!("#if({})", self.expr(depth + 1));
                s.push_str(&self.block(depth));
                for _ in 0..self.rng.below(3) {
                    s.push_str(&format!("#elseif({})", self.expr(depth + 1)));
                    s.push_str(&self.block(depth));
                }
                if self.rng.one_in(2) {
                    s.push_str(self.rng.pick(&["#else", "#{else}", "#else\n"]));
                    s.push_str(&self.block(depth));
                }
                s.push_str(self.rng.pick(&["#end", "#{end}", "#end\n", "#end  \n"]));
                s
            }
            12 | 13 => format!(
                "#foreach(${} in {}){}#end",
                self.ident(),
                self.expr(depth + 1),
                self.block(depth)
            ),
            14 => {
                let params: Vec<String> = (0..self.rng.below(3))
                    .map(|_| format!("${}", self.ident()))
                    .collect();
                format!(
                    "#macro({}{}{}){}#end",
                    self.rng.pick(NAMES),
                    if params.is_empty() { "" } else { " " },
                    params.join(" "),
                    self.block(depth)
                )
            }
            15 | 16 => {
                let args: Vec<String> = (0..self.rng.below(3))
                    .map(|_| self.param(depth + 1))
                    .collect();
                let sep = self.rng.pick(&[", ", " "]);
                if self.rng.one_in(3) {
                    format!(
                        "#@{}({}){}#end",
                        self.rng.pick(NAMES),
                        args.join(sep),
                        self.block(depth)
                    )
                } else {
                    format!("#{}({})", self.rng.pick(NAMES), args.join(sep))
                }
            }
            17 => format!("#define(${}){}#end", self.ident(), self.block(depth)),
            18 => format!("#evaluate({})", self.expr(depth + 1)),
            19 => self
                .rng
                .pick(&["#break", "#stop", "#break($foreach)", "#{break}"])
                .to_string(),
            20 => self
                .rng
                .pick(&[
                    "## comment\n",
                    "#* block $a #if( *#",
                    "#[[ $a #if( ]]#",
                    "#**#",
                ])
                .to_string(),
            _ if self.rng.one_in(12) => self.rng.pick(BROKEN).to_string(),
            _ => self.rng.pick(TEXT).to_string(),
        }
    }

    fn template(&mut self, depth: usize) -> String {
        let mut s = String::new();
        let n = 1 + self.rng.below(if depth == 0 { 8 } else { 4 });
        for _ in 0..n {
            if self.budget == 0 {
                break;
            }
            self.budget -= 1;
            s.push_str(&self.fragment(depth));
        }
        s
    }

    /// Damages a template: cut, duplicate or delete a slice (on character
    /// boundaries), or insert a broken fragment.
    fn mutate(&mut self, src: String) -> String {
        let chars: Vec<char> = src.chars().collect();
        if chars.is_empty() {
            return src;
        }
        let i = self.rng.below(chars.len());
        let j = i + self.rng.below(chars.len() - i + 1);
        let (head, mid, tail) = (
            chars[..i].iter().collect::<String>(),
            chars[i..j].iter().collect::<String>(),
            chars[j..].iter().collect::<String>(),
        );
        match self.rng.below(4) {
            0 => head,
            1 => format!("{head}{mid}{mid}{tail}"),
            2 => format!("{head}{tail}"),
            _ => format!("{head}{}{mid}{tail}", self.rng.pick(BROKEN)),
        }
    }
}

/// A host object like API Gateway's: methods, properties, one that throws.
struct Host;

impl HostObject for Host {
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        Ok(match (method, args) {
            ("greet", [v]) => Value::String(format!("Hello, {v}")),
            ("fail", []) => return Err("java.lang.RuntimeException: boom".into()),
            ("self", []) => Value::Object(Arc::new(Host)),
            ("get", [v]) => v.clone(),
            _ => Value::Null,
        })
    }
    fn property(&self, name: &str) -> Option<Value> {
        (name == "id").then(|| Value::from("42"))
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => Value::Int([0, 1, -1, 42, i64::MAX, i64::MIN][rng.below(6)]),
        3 => Value::Float([0.0, -0.0, 2.5, 1e300, f64::NAN, f64::INFINITY][rng.below(6)]),
        4 | 5 => Value::from(rng.pick(&[
            "",
            "abc",
            "Hello, World",
            "a,b,,c",
            "$a",
            "#if(",
            "\u{e9}\u{1F600}",
        ])),
        6 => Value::list(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        7 => Value::json_list(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::map(
            (0..rng.below(4))
                .map(|_| {
                    let k = rng.pick(PROPS);
                    (k, random_value(rng, depth + 1))
                })
                .collect::<Vec<_>>(),
        ),
    }
}

fn random_context(rng: &mut Rng) -> Context {
    let mut c = Context::new();
    for name in VARS {
        if !rng.one_in(3) {
            c.insert(*name, random_value(rng, 0));
        }
    }
    c.insert("h", Value::Object(Arc::new(Host)));
    c
}

fn limits() -> Limits {
    Limits {
        max_loop_iterations: 50,
        max_steps: 20_000,
        max_output_bytes: 16 * 1024,
        max_macro_depth: 20,
        max_depth: 160,
        max_collection_len: 1_000,
    }
}

enum Outcome {
    Rendered,
    ParseError,
    RenderError,
}

/// Generates, parses and renders case `case`; returns what happened.
fn run_case(case: u64) -> (String, Result<Outcome, String>) {
    let mut g = Gen {
        rng: Rng(case.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED),
        budget: 40,
    };
    let mut src = g.template(0);
    for _ in 0..g.rng.below(3) {
        if g.rng.one_in(4) {
            src = g.mutate(src);
        }
    }
    let mut ctx = random_context(&mut g.rng);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let t = match Template::parse(&src) {
            Ok(t) => t,
            Err(e) => {
                if std::env::var_os("NEVER_PANICS_VERBOSE").is_some() {
                    eprintln!("case {case}: {e}\n  {src:?}");
                }
                return Outcome::ParseError;
            }
        };
        let limits = limits();
        let Ok(out) = t.render(&mut ctx, &limits) else {
            return Outcome::RenderError;
        };
        assert!(
            out.len() <= limits.max_output_bytes,
            "output over the limit"
        );
        // A template renders again (it is immutable).
        let _ = t.render(&mut ctx, &limits);
        Outcome::Rendered
    }))
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    });
    (src, result)
}

#[test]
fn parse_and_render_never_panic() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let cases: Vec<u64> = match env("NEVER_PANICS_CASE") {
        Some(c) => vec![c],
        None => (0..env("NEVER_PANICS_CASES").unwrap_or(8000)).collect(),
    };
    // Silence the default hook's backtrace spam; failures are reported below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let (mut ok, mut parse_err, mut render_err) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for &case in &cases {
        let t0 = Instant::now();
        let (src, result) = run_case(case);
        let took = t0.elapsed();
        match result {
            Ok(Outcome::Rendered) => ok += 1,
            Ok(Outcome::ParseError) => parse_err += 1,
            Ok(Outcome::RenderError) => render_err += 1,
            Err(panic) => failures.push(format!(
                "case {case} panicked: {panic}\n  template: {src:?}"
            )),
        }
        if took > Duration::from_secs(2) {
            failures.push(format!("case {case} took {took:?}\n  template: {src:?}"));
        }
    }
    std::panic::set_hook(hook);
    eprintln!(
        "never_panics: {} cases in {:?}: {ok} rendered, {parse_err} parse errors, \
         {render_err} render errors",
        cases.len(),
        start.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The grammar must keep producing templates that render, not only errors.
    if cases.len() > 100 {
        assert!(
            ok * 5 > cases.len(),
            "only {ok} of {} cases rendered",
            cases.len()
        );
    }
}
