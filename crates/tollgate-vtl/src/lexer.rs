//! Character cursor and expression tokens.
//!
//! Velocity's lexer is modal: outside directives almost everything is text,
//! and only `$`, `#` and `\` can start something else; inside `( ... )` the
//! usual expression tokens apply. The template-level scanning lives in the
//! parser (it is tied to the grammar); this module holds the position
//! bookkeeping and the expression-mode scanner.

/// A position-tracking cursor over the template's characters.
#[derive(Debug, Clone)]
pub struct Cursor {
    chars: Vec<char>,
    pub pos: usize,
}

impl Cursor {
    pub fn new(src: &str) -> Self {
        Cursor {
            chars: src.chars().collect(),
            pos: 0,
        }
    }
    pub fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    pub fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }
    pub fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }
    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }
    /// True if the input at the cursor starts with `s`.
    pub fn starts_with(&self, s: &str) -> bool {
        (self.pos..)
            .zip(s.chars())
            .all(|(i, c)| self.chars.get(i) == Some(&c))
    }
    /// Consumes `s` if the input starts with it.
    pub fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }
    /// Source text between two positions.
    pub fn slice(&self, from: usize, to: usize) -> String {
        self.chars[from.min(self.chars.len())..to.min(self.chars.len())]
            .iter()
            .collect()
    }
    /// Skips spaces, tabs and line breaks (expression mode).
    pub fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }
    /// Skips spaces and tabs only.
    pub fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }
    /// Consumes optional blanks followed by one line break, as Velocity 1.7
    /// does after a directive; leaves the cursor untouched otherwise.
    pub fn eat_line_end(&mut self) -> bool {
        let save = self.pos;
        self.skip_blanks();
        if self.eat("\r\n") || self.eat("\n") || self.eat("\r") {
            return true;
        }
        self.pos = save;
        false
    }
    /// 1-based line and column of a position.
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        let (mut line, mut col) = (1, 1);
        for &c in &self.chars[..pos.min(self.chars.len())] {
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        (line, col)
    }
    /// Reads an identifier `[A-Za-z_][A-Za-z0-9_-]*` (Velocity 1.7 allows `-`
    /// inside reference names: `$a-b` is one reference).
    pub fn ident(&mut self) -> Option<String> {
        let c = self.peek()?;
        if !(c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            self.pos += 1;
        }
        Some(self.slice(start, self.pos))
    }
    /// Reads a directive or macro name: `[A-Za-z][A-Za-z0-9_]*`.
    pub fn word(&mut self) -> Option<String> {
        let c = self.peek()?;
        if !c.is_ascii_alphabetic() {
            return None;
        }
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        Some(self.slice(start, self.pos))
    }
}

/// A token in expression mode.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Int(i64),
    Float(f64),
    /// Single-quoted string, with `''` already collapsed.
    SingleStr(String),
    /// Double-quoted string, with `""` collapsed; may need interpolation.
    DoubleStr(String),
    /// A bare word: `true`, `in`, `and`, `eq`, ...
    Word(String),
    /// `$`: a reference starts here (the parser reads it).
    Dollar,
    /// Punctuation and operators: `( ) [ ] { } , : .. = == != < <= > >= ! && || + - * / %`.
    Punct(&'static str),
    Eof,
}

/// Error from the expression scanner: message and position.
#[derive(Debug)]
pub struct LexError {
    pub message: String,
    pub pos: usize,
}

const PUNCTS: [&str; 23] = [
    "..", "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", "{", "}", ",", ":", "=", "<",
    ">", "!", "+", "-", "*", "/",
];

impl Cursor {
    /// Peeks the next expression token without consuming it.
    pub fn peek_tok(&mut self) -> Result<Tok, LexError> {
        let save = self.pos;
        let t = self.next_tok();
        self.pos = save;
        t
    }

    /// Scans the next expression token, skipping whitespace first.
    pub fn next_tok(&mut self) -> Result<Tok, LexError> {
        self.skip_ws();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(Tok::Eof);
        };
        if c == '$' {
            return Ok(Tok::Dollar);
        }
        if c.is_ascii_digit() {
            return self.number(start);
        }
        if c == '\'' || c == '"' {
            return self.string(c, start);
        }
        if c.is_ascii_alphabetic() {
            let w = self.word().unwrap_or_default();
            return Ok(Tok::Word(w));
        }
        if c == '%' {
            self.pos += 1;
            return Ok(Tok::Punct("%"));
        }
        for p in PUNCTS {
            if self.eat(p) {
                return Ok(Tok::Punct(p));
            }
        }
        Err(LexError {
            message: format!("unexpected character '{c}'"),
            pos: start,
        })
    }

    /// Integer or decimal literal (`12`, `1.5`, `1.5e3`); `1..3` is a range,
    /// so a `.` only continues a number when a digit follows it.
    fn number(&mut self, start: usize) -> Result<Tok, LexError> {
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut float = false;
        if self.peek() == Some('.') && matches!(self.peek_at(1), Some(c) if c.is_ascii_digit()) {
            float = true;
            self.pos += 1;
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                float = true;
                while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                    self.pos += 1;
                }
            } else {
                self.pos = save;
            }
        }
        let text = self.slice(start, self.pos);
        let err = |_| LexError {
            message: format!("bad number '{text}'"),
            pos: start,
        };
        if float {
            return text.parse::<f64>().map(Tok::Float).map_err(err);
        }
        match text.parse::<i64>() {
            Ok(i) => Ok(Tok::Int(i)),
            // Java would use a BigInteger; we degrade to a double.
            Err(_) => text.parse::<f64>().map(Tok::Float).map_err(err),
        }
    }

    /// String literal. Velocity 1.7 has no backslash escapes in strings; a
    /// doubled quote stands for one quote.
    fn string(&mut self, quote: char, start: usize) -> Result<Tok, LexError> {
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(LexError {
                        message: "unterminated string literal".into(),
                        pos: start,
                    });
                }
                Some(c) if c == quote => {
                    if self.peek() == Some(quote) {
                        self.pos += 1;
                        s.push(quote);
                    } else {
                        break;
                    }
                }
                Some(c) => s.push(c),
            }
        }
        Ok(if quote == '"' {
            Tok::DoubleStr(s)
        } else {
            Tok::SingleStr(s)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let mut c = Cursor::new(s);
        let mut v = vec![];
        loop {
            match c.next_tok() {
                Ok(Tok::Eof) => return v,
                Ok(Tok::Dollar) => {
                    c.bump();
                    v.push(Tok::Dollar);
                }
                Ok(t) => v.push(t),
                Err(e) => panic!("{}", e.message),
            }
        }
    }

    #[test]
    fn numbers_and_ranges() {
        assert_eq!(
            toks("1..3"),
            vec![Tok::Int(1), Tok::Punct(".."), Tok::Int(3)]
        );
        assert_eq!(toks("1.5 2e3"), vec![Tok::Float(1.5), Tok::Float(2000.0)]);
    }

    #[test]
    fn strings_collapse_doubled_quotes() {
        assert_eq!(toks("'it''s'"), vec![Tok::SingleStr("it's".into())]);
        assert_eq!(toks(r#""a""b""#), vec![Tok::DoubleStr("a\"b".into())]);
    }

    #[test]
    fn operators() {
        assert_eq!(
            toks("a && b || !c <= %"),
            vec![
                Tok::Word("a".into()),
                Tok::Punct("&&"),
                Tok::Word("b".into()),
                Tok::Punct("||"),
                Tok::Punct("!"),
                Tok::Word("c".into()),
                Tok::Punct("<="),
                Tok::Punct("%"),
            ]
        );
    }

    #[test]
    fn line_end_eating() {
        let mut c = Cursor::new("  \r\nx");
        assert!(c.eat_line_end());
        assert_eq!(c.peek(), Some('x'));
        let mut c = Cursor::new("  x");
        assert!(!c.eat_line_end());
        assert_eq!(c.pos, 0);
    }
}
