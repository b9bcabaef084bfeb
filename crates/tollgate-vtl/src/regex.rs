//! A small regular-expression engine for `replaceAll`, `replaceFirst`,
//! `matches` and `split`, which take Java regexes.
//!
//! Supported syntax (a pragmatic subset of `java.util.regex`):
//! literals; `.` (any char but a line terminator); classes `[abc]`, `[^a-z]`
//! with ranges and escapes; `\d \D \w \W \s \S`; escapes `\t \n \r \f \\`
//! and escaped punctuation; anchors `^`, `$`, `\b`, `\B`; groups `( )`, `(?: )`;
//! alternation `|`; greedy and lazy quantifiers `* + ? {n} {n,} {n,m}`
//! (and `*?` etc.); a leading `(?i)` for case-insensitive matching.
//! Not supported (an error is returned): lookaround, backreferences,
//! possessive quantifiers, named groups, Unicode classes (`\p{..}`).
//!
//! Matching compiles to a tiny instruction program run by a backtracker that
//! remembers visited `(instruction, position)` pairs, so it finds the same
//! leftmost-first match as Java but can never go exponential: work is bounded
//! by program length × input length.

/// A compiled regex.
#[derive(Debug)]
pub struct Regex {
    prog: Vec<Inst>,
    groups: usize,
    icase: bool,
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Split(usize, usize),
    Jmp(usize),
    Save(usize),
    Bol,
    Eol,
    WordB(bool),
    Match,
}

#[derive(Debug, Clone)]
enum Re {
    Empty,
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Bol,
    Eol,
    WordB(bool),
    Group(Box<Re>, Option<usize>),
    Concat(Vec<Re>),
    Alt(Vec<Re>),
    Repeat {
        re: Box<Re>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
}

/// Upper bound on `program length × input length`.
const MAX_WORK: usize = 50_000_000;
/// Upper bound on the compiled program (counted repetitions expand).
const MAX_PROG: usize = 10_000;

struct ReParser {
    c: Vec<char>,
    pos: usize,
    groups: usize,
    depth: usize,
}

impl ReParser {
    fn peek(&self) -> Option<char> {
        self.c.get(self.pos).copied()
    }
    fn eat(&mut self, ch: char) -> bool {
        if self.peek() == Some(ch) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn alt(&mut self) -> Result<Re, String> {
        self.depth += 1;
        if self.depth > 100 {
            return Err("regex nested too deep".into());
        }
        let mut alts = vec![self.concat()?];
        while self.eat('|') {
            alts.push(self.concat()?);
        }
        self.depth -= 1;
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Re::Empty)
        } else {
            Re::Alt(alts)
        })
    }

    fn concat(&mut self) -> Result<Re, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Re::Concat(items))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.c[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn quantified(&mut self, atom: Re) -> Result<Re, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let save = self.pos;
                self.pos += 1;
                match self.number() {
                    Some(min) => {
                        let max = if self.eat(',') {
                            self.number()
                        } else {
                            Some(min)
                        };
                        if self.peek() != Some('}') {
                            return Err("bad {n,m} quantifier".into());
                        }
                        if max.is_some_and(|m| m < min)
                            || min > 1000
                            || max.is_some_and(|m| m > 1000)
                        {
                            return Err("bad {n,m} quantifier".into());
                        }
                        (min, max)
                    }
                    None => {
                        self.pos = save;
                        return Ok(atom);
                    }
                }
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        let greedy = !self.eat('?');
        if self.peek() == Some('+') {
            return Err("possessive quantifiers are not supported".into());
        }
        if matches!(atom, Re::Bol | Re::Eol | Re::WordB(_)) {
            return Err("quantified anchor".into());
        }
        Ok(Re::Repeat {
            re: Box::new(atom),
            min,
            max,
            greedy,
        })
    }

    fn atom(&mut self) -> Result<Re, String> {
        let Some(c) = self.peek() else {
            return Err("unexpected end of regex".into());
        };
        self.pos += 1;
        Ok(match c {
            '.' => Re::Any,
            '^' => Re::Bol,
            '$' => Re::Eol,
            '(' => {
                let index = if self.eat('?') {
                    if !self.eat(':') {
                        return Err("only (?:...) groups are supported".into());
                    }
                    None
                } else {
                    self.groups += 1;
                    Some(self.groups)
                };
                let inner = self.alt()?;
                if !self.eat(')') {
                    return Err("missing ')'".into());
                }
                Re::Group(Box::new(inner), index)
            }
            '[' => self.class()?,
            '\\' => self.escape(false)?,
            '*' | '+' | '?' => return Err(format!("dangling '{c}'")),
            c => Re::Char(c),
        })
    }

    /// After `\`. Inside a class, `\b` is not a word boundary.
    fn escape(&mut self, in_class: bool) -> Result<Re, String> {
        let Some(c) = self.peek() else {
            return Err("trailing backslash".into());
        };
        self.pos += 1;
        let digits = vec![('0', '9')];
        let word = vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
        let space = vec![(' ', ' '), ('\t', '\r')];
        Ok(match c {
            'd' => Re::Class(digits, false),
            'D' => Re::Class(digits, true),
            'w' => Re::Class(word, false),
            'W' => Re::Class(word, true),
            's' => Re::Class(space, false),
            'S' => Re::Class(space, true),
            'b' if !in_class => Re::WordB(true),
            'B' if !in_class => Re::WordB(false),
            't' => Re::Char('\t'),
            'n' => Re::Char('\n'),
            'r' => Re::Char('\r'),
            'f' => Re::Char('\u{c}'),
            c if c.is_ascii_alphanumeric() => {
                return Err(format!("unsupported escape \\{c}"));
            }
            c => Re::Char(c),
        })
    }

    /// After `[`.
    fn class(&mut self) -> Result<Re, String> {
        let negated = self.eat('^');
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated character class".into());
            };
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            self.pos += 1;
            let lo = if c == '\\' {
                match self.escape(true)? {
                    Re::Char(ch) => ch,
                    Re::Class(r, false) => {
                        ranges.extend(r);
                        continue;
                    }
                    _ => return Err("unsupported escape in class".into()),
                }
            } else if c == '[' {
                return Err("nested classes are not supported".into());
            } else {
                c
            };
            if self.peek() == Some('-') && self.c.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let mut hi = self.peek().unwrap_or(lo);
                self.pos += 1;
                if hi == '\\' {
                    match self.escape(true)? {
                        Re::Char(ch) => hi = ch,
                        _ => return Err("bad class range".into()),
                    }
                }
                if hi < lo {
                    return Err("bad class range".into());
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Re::Class(ranges, negated))
    }
}

fn compile(re: &Re, prog: &mut Vec<Inst>) -> Result<(), String> {
    if prog.len() > MAX_PROG {
        return Err("regex too large".into());
    }
    match re {
        Re::Empty => {}
        Re::Char(c) => prog.push(Inst::Char(*c)),
        Re::Any => prog.push(Inst::Any),
        Re::Class(r, n) => prog.push(Inst::Class(r.clone(), *n)),
        Re::Bol => prog.push(Inst::Bol),
        Re::Eol => prog.push(Inst::Eol),
        Re::WordB(b) => prog.push(Inst::WordB(*b)),
        Re::Group(inner, idx) => {
            if let Some(i) = idx {
                prog.push(Inst::Save(2 * i));
            }
            compile(inner, prog)?;
            if let Some(i) = idx {
                prog.push(Inst::Save(2 * i + 1));
            }
        }
        Re::Concat(items) => {
            for i in items {
                compile(i, prog)?;
            }
        }
        Re::Alt(alts) => {
            let mut jumps = Vec::new();
            for (k, a) in alts.iter().enumerate() {
                if k + 1 < alts.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(a, prog)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    compile(a, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Re::Repeat {
            re,
            min,
            max,
            greedy,
        } => {
            for _ in 0..*min {
                compile(re, prog)?;
            }
            let split = |a: usize, b: usize| {
                if *greedy {
                    Inst::Split(a, b)
                } else {
                    Inst::Split(b, a)
                }
            };
            match max {
                None => {
                    let l = prog.len();
                    prog.push(Inst::Jmp(0));
                    compile(re, prog)?;
                    prog.push(Inst::Jmp(l));
                    let out = prog.len();
                    prog[l] = split(l + 1, out);
                }
                Some(max) => {
                    let mut holes = Vec::new();
                    for _ in *min..*max {
                        holes.push(prog.len());
                        prog.push(Inst::Jmp(0));
                        compile(re, prog)?;
                    }
                    let out = prog.len();
                    for h in holes {
                        prog[h] = split(h + 1, out);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Visited `(instruction, position)` pairs, stamped with a generation.
#[derive(Default)]
struct Memo {
    visited: Vec<u32>,
    generation: u32,
}

/// A match: capture positions (char indices), group 0 is the whole match.
type Caps = Vec<Option<usize>>;

impl Regex {
    /// Compiles a Java regex (see the module docs for the subset).
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let (pattern, icase) = match pattern.strip_prefix("(?i)") {
            Some(p) => (p, true),
            None => (pattern, false),
        };
        let mut p = ReParser {
            c: pattern.chars().collect(),
            pos: 0,
            groups: 0,
            depth: 0,
        };
        let re = p.alt()?;
        if p.pos != p.c.len() {
            return Err(format!("unmatched ')' in regex {pattern:?}"));
        }
        let mut prog = vec![Inst::Save(0)];
        compile(&re, &mut prog)?;
        prog.push(Inst::Save(1));
        prog.push(Inst::Match);
        Ok(Regex {
            prog,
            groups: p.groups,
            icase,
        })
    }

    fn char_eq(&self, a: char, b: char) -> bool {
        a == b || (self.icase && a.to_lowercase().eq(b.to_lowercase()))
    }

    fn in_class(&self, ranges: &[(char, char)], c: char) -> bool {
        let hit = |c: char| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
        hit(c) || (self.icase && (c.to_lowercase().any(hit) || c.to_uppercase().any(hit)))
    }

    /// Finds the leftmost match starting at or after `from`. With `full`,
    /// the match must span the whole input.
    fn exec(
        &self,
        s: &[char],
        from: usize,
        full: bool,
        memo: &mut Memo,
    ) -> Result<Option<Caps>, String> {
        let n = s.len();
        let width = n + 1;
        if self.prog.len().saturating_mul(width) > MAX_WORK {
            return Err("input too large for regex".into());
        }
        // Generation-stamped visited set: reused across calls without clearing.
        if memo.visited.len() != self.prog.len() * width {
            memo.visited = vec![0; self.prog.len() * width];
            memo.generation = 0;
        }
        memo.generation += 1;
        let generation = memo.generation;
        let visited = &mut memo.visited;
        let slots = 2 * (self.groups + 1);
        enum Job {
            Run(usize, usize),
            Restore(usize, Option<usize>),
        }
        let is_word = |i: usize| {
            s.get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
        };
        let last = if full { from } else { n };
        for start in from..=last {
            let mut caps: Caps = vec![None; slots];
            let mut stack = vec![Job::Run(0, start)];
            while let Some(job) = stack.pop() {
                let (mut pc, mut pos) = match job {
                    Job::Restore(slot, old) => {
                        caps[slot] = old;
                        continue;
                    }
                    Job::Run(pc, pos) => (pc, pos),
                };
                loop {
                    let key = pc * width + pos;
                    if visited[key] == generation {
                        break;
                    }
                    visited[key] = generation;
                    match &self.prog[pc] {
                        Inst::Char(c) => match s.get(pos) {
                            Some(&d) if self.char_eq(*c, d) => {
                                pc += 1;
                                pos += 1;
                            }
                            _ => break,
                        },
                        Inst::Any => match s.get(pos) {
                            Some(&d)
                                if !matches!(
                                    d,
                                    '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
                                ) =>
                            {
                                pc += 1;
                                pos += 1;
                            }
                            _ => break,
                        },
                        Inst::Class(r, neg) => match s.get(pos) {
                            Some(&d) if self.in_class(r, d) != *neg => {
                                pc += 1;
                                pos += 1;
                            }
                            _ => break,
                        },
                        Inst::Split(a, b) => {
                            stack.push(Job::Run(*b, pos));
                            pc = *a;
                        }
                        Inst::Jmp(a) => pc = *a,
                        Inst::Save(k) => {
                            stack.push(Job::Restore(*k, caps[*k]));
                            caps[*k] = Some(pos);
                            pc += 1;
                        }
                        Inst::Bol => {
                            if pos != 0 {
                                break;
                            }
                            pc += 1;
                        }
                        Inst::Eol => {
                            let at_end = pos == n || (pos + 1 == n && s[pos] == '\n');
                            if !at_end {
                                break;
                            }
                            pc += 1;
                        }
                        Inst::WordB(want) => {
                            let b = (pos > 0 && is_word(pos - 1)) != is_word(pos);
                            if b != *want {
                                break;
                            }
                            pc += 1;
                        }
                        Inst::Match => {
                            if full && pos != n {
                                break;
                            }
                            return Ok(Some(caps));
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Java `String.matches`: the whole input must match.
    pub fn full_match(&self, s: &str) -> Result<bool, String> {
        let chars: Vec<char> = s.chars().collect();
        Ok(self.exec(&chars, 0, true, &mut Memo::default())?.is_some())
    }

    /// Successive non-overlapping matches as (start, end, captures).
    fn find_all(&self, chars: &[char], first_only: bool) -> Result<Vec<Caps>, String> {
        let mut out = Vec::new();
        let mut from = 0;
        let mut memo = Memo::default();
        while from <= chars.len() {
            let Some(caps) = self.exec(chars, from, false, &mut memo)? else {
                break;
            };
            let (st, en) = (caps[0].unwrap_or(from), caps[1].unwrap_or(from));
            out.push(caps);
            if first_only {
                break;
            }
            from = if en == st { en + 1 } else { en };
        }
        Ok(out)
    }

    /// Java `replaceAll` / `replaceFirst` with `$n` group references and `\`
    /// escapes in the replacement.
    pub fn replace(&self, s: &str, rep: &str, all: bool) -> Result<String, String> {
        let chars: Vec<char> = s.chars().collect();
        let rep: Vec<char> = rep.chars().collect();
        let mut out = String::new();
        let mut last = 0;
        for caps in self.find_all(&chars, !all)? {
            let (st, en) = (caps[0].unwrap_or(0), caps[1].unwrap_or(0));
            out.extend(&chars[last..st]);
            let mut i = 0;
            while i < rep.len() {
                match rep[i] {
                    '\\' => {
                        i += 1;
                        match rep.get(i) {
                            Some(c) => out.push(*c),
                            None => return Err("character to be escaped is missing".into()),
                        }
                        i += 1;
                    }
                    '$' => {
                        i += 1;
                        let Some(d) = rep.get(i).and_then(|c| c.to_digit(10)) else {
                            return Err("illegal group reference".into());
                        };
                        let mut g = d as usize;
                        i += 1;
                        // Java takes more digits while they name an existing group.
                        while let Some(d) = rep.get(i).and_then(|c| c.to_digit(10)) {
                            let ng = g * 10 + d as usize;
                            if ng > self.groups {
                                break;
                            }
                            g = ng;
                            i += 1;
                        }
                        if g > self.groups {
                            return Err(format!("no group {g}"));
                        }
                        if let (Some(a), Some(b)) = (caps[2 * g], caps[2 * g + 1]) {
                            out.extend(&chars[a..b]);
                        }
                    }
                    c => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            last = en;
        }
        out.extend(&chars[last.min(chars.len())..]);
        Ok(out)
    }

    /// Java `String.split(regex, limit)`.
    pub fn split(&self, s: &str, limit: i64) -> Result<Vec<String>, String> {
        let chars: Vec<char> = s.chars().collect();
        let mut parts: Vec<String> = Vec::new();
        let mut index = 0;
        for caps in self.find_all(&chars, false)? {
            let (st, en) = (caps[0].unwrap_or(0), caps[1].unwrap_or(0));
            if limit > 0 && parts.len() as i64 >= limit - 1 {
                break;
            }
            if en == 0 && st == 0 {
                // No leading empty string for a zero-width match at 0.
                continue;
            }
            if st < index {
                continue;
            }
            parts.push(chars[index..st].iter().collect());
            index = en;
        }
        if index == 0 && parts.is_empty() {
            return Ok(vec![s.to_string()]);
        }
        parts.push(chars[index..].iter().collect());
        if limit == 0 {
            while parts.last().is_some_and(String::is_empty) {
                parts.pop();
            }
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        match Regex::new(p) {
            Ok(r) => r,
            Err(e) => panic!("{p}: {e}"),
        }
    }

    #[test]
    fn full_matches() {
        assert_eq!(re("H.*d").full_match("Hello, World"), Ok(true));
        assert_eq!(re("a|bc").full_match("bc"), Ok(true));
        assert_eq!(re("[a-c]+\\d{2,3}").full_match("abc123"), Ok(true));
        assert_eq!(re("[a-c]+\\d{2,3}").full_match("abc1234"), Ok(false));
        assert_eq!(re("(?i)hello").full_match("HeLLo"), Ok(true));
        assert_eq!(re("^\\w+@\\w+\\.com$").full_match("me@x.com"), Ok(true));
    }

    #[test]
    fn replace_with_groups() {
        assert_eq!(
            re("(\\w+)@(\\w+)").replace("a@b c@d", "$2@$1", true),
            Ok("b@a d@c".into())
        );
        assert_eq!(re("x*").replace("abc", "-", true), Ok("-a-b-c-".into()));
        assert_eq!(re("o").replace("foo", "0", false), Ok("f0o".into()));
        assert_eq!(
            re("\"").replace("a\"b", "\\\\\"", true),
            Ok("a\\\"b".into())
        );
    }

    #[test]
    fn lazy_quantifiers() {
        assert_eq!(re("<.+?>").replace("<a><b>", "X", true), Ok("XX".into()));
        assert_eq!(re("<.+>").replace("<a><b>", "X", true), Ok("X".into()));
    }

    #[test]
    fn split_like_java() {
        assert_eq!(
            re(",").split("a,b,,c,,", 0),
            Ok(vec!["a".into(), "b".into(), "".into(), "c".into()])
        );
        assert_eq!(
            re(",").split("a,b,c", 2),
            Ok(vec!["a".into(), "b,c".into()])
        );
        assert_eq!(
            re("").split("abc", 0),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(re(",").split("", 0), Ok(vec!["".into()]));
        assert_eq!(
            re("\\s+").split(" a  b", 0),
            Ok(vec!["".into(), "a".into(), "b".into()])
        );
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let s = "a".repeat(5000) + "b";
        assert_eq!(re("(a*)*c").full_match(&s), Ok(false));
        assert_eq!(re("(a|aa)+c").full_match(&s), Ok(false));
    }

    #[test]
    fn unsupported_syntax_is_an_error() {
        assert!(Regex::new("(?=x)").is_err());
        assert!(Regex::new("a++").is_err());
        assert!(Regex::new("(a").is_err());
        assert!(Regex::new("\\1").is_err());
    }
}
