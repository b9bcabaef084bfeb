//! IAM's wildcards: `*` matches any run of characters (`/` included), `?` any one character.

/// A compiled pattern: literal patterns compare directly.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    literal: bool,
    ignore_case: bool,
}

impl Pattern {
    pub fn new(text: &str, ignore_case: bool) -> Self {
        let text = if ignore_case {
            text.to_ascii_lowercase()
        } else {
            text.to_string()
        };
        Self {
            literal: !text.contains(['*', '?']),
            text,
            ignore_case,
        }
    }

    pub fn matches(&self, candidate: &str) -> bool {
        if self.literal {
            return if self.ignore_case {
                self.text.eq_ignore_ascii_case(candidate)
            } else {
                self.text == candidate
            };
        }
        glob(self.text.as_bytes(), candidate.as_bytes(), self.ignore_case)
    }
}

/// Wildcard matching in linear time: on a mismatch, the last `*` absorbs one more character.
fn glob(pattern: &[u8], text: &[u8], ignore_case: bool) -> bool {
    let eq = |p: u8, t: u8| {
        if ignore_case {
            p == t.to_ascii_lowercase()
        } else {
            p == t
        }
    };
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len()
            && (pattern[p] == b'?' || (pattern[p] != b'*' && eq(pattern[p], text[t])))
        {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern, false).matches(text)
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m("*", ""));
        assert!(m("*", "anything/at/all"));
        assert!(m(
            "arn:aws:execute-api:*:*:abc/*/GET/*",
            "arn:aws:execute-api:us-east-1:1:abc/prod/GET/pets/1"
        ));
        assert!(!m(
            "arn:aws:execute-api:*:*:abc/*/GET/*",
            "arn:aws:execute-api:us-east-1:1:abc/prod/POST/pets"
        ));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*/pets", "x/y/pets"));
        assert!(!m("abc", "abcd"));
        assert!(!m("ABC", "abc"));
    }

    #[test]
    fn actions_ignore_case() {
        assert!(Pattern::new("execute-api:*", true).matches("Execute-API:Invoke"));
        assert!(Pattern::new("EXECUTE-API:invoke", true).matches("execute-api:Invoke"));
        assert!(Pattern::new("execute-api:Inv?ke", true).matches("execute-api:INVOKE"));
    }
}
