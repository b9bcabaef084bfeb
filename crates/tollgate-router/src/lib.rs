//! Path matching with API Gateway's semantics.
//!
//! A REST API's resources form a tree of path parts. A request path matches by walking it one
//! segment at a time, preferring, at each level, a literal part over a `{param}` part over a
//! greedy `{proxy+}` part, and backing up when a preferred branch leads nowhere: with
//! `/users/{id}` and `/{proxy+}`, the path `/users/1/extra` ends at `/{proxy+}`. A greedy part
//! takes one or more whole segments; the root `/` is its own resource and matches only `/`.
//!
//! The router matches the raw (percent-encoded) path: literal parts are compared with the
//! segment decoded, and parameters are returned raw so that callers decode them for events and
//! mappings but can forward them unchanged to a backend.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// Why a path cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("path must start with '/': {0}")]
    NotAbsolute(String),
    #[error("two variables at the same level: {0} and {1}")]
    ConflictingVariables(String, String),
    #[error("a greedy variable must be the last part of a path: {0}")]
    GreedyNotLast(String),
    #[error("path added twice: {0}")]
    Duplicate(String),
}

/// Children by literal part. foldhash: a lookup per request, and an API may have thousands of
/// siblings; the keys come from the API's definition, not from clients.
type Literals<T> = HashMap<String, Node<T>, foldhash::fast::RandomState>;

/// One level of the tree.
struct Node<T> {
    value: Option<T>,
    literals: Literals<T>,
    variable: Option<(String, Box<Node<T>>)>,
    greedy: Option<(String, T)>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self {
            value: None,
            literals: Literals::default(),
            variable: None,
            greedy: None,
        }
    }
}

/// A path router holding one `T` per resource path.
pub struct Router<T> {
    root: Node<T>,
    len: usize,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self {
            root: Node::default(),
            len: 0,
        }
    }
}

/// A successful match: the value, and the path parameters as raw (still percent-encoded)
/// text, in path order. A greedy parameter holds the rest of the path without its leading `/`.
#[derive(Debug, PartialEq, Eq)]
pub struct Match<'r, 'p, T> {
    pub value: &'r T,
    pub params: Vec<(&'r str, &'p str)>,
}

enum Part<'a> {
    Literal(&'a str),
    Variable(&'a str),
    Greedy(&'a str),
}

fn classify(part: &str) -> Part<'_> {
    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        Some(name) => match name.strip_suffix('+') {
            Some(greedy) => Part::Greedy(greedy),
            None => Part::Variable(name),
        },
        None => Part::Literal(part),
    }
}

/// The segments of a request path: `/a/b/` gives `["a", "b"]` (one trailing slash is ignored,
/// as API Gateway does), `/` gives none.
fn segments(path: &str) -> Vec<&str> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

impl<T> Router<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many paths the router holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a resource path such as `/pets/{petId}` or `/files/{proxy+}`.
    pub fn insert(&mut self, path: &str, value: T) -> Result<(), RouteError> {
        if !path.starts_with('/') {
            return Err(RouteError::NotAbsolute(path.to_string()));
        }
        let parts = segments(path);
        let mut node = &mut self.root;
        for (i, part) in parts.iter().enumerate() {
            match classify(part) {
                Part::Literal(lit) => node = node.literals.entry(lit.to_string()).or_default(),
                Part::Variable(name) => {
                    let slot = node
                        .variable
                        .get_or_insert_with(|| (name.to_string(), Box::default()));
                    if slot.0 != name {
                        return Err(RouteError::ConflictingVariables(
                            slot.0.clone(),
                            name.to_string(),
                        ));
                    }
                    node = &mut slot.1;
                }
                Part::Greedy(name) => {
                    if i + 1 != parts.len() {
                        return Err(RouteError::GreedyNotLast(path.to_string()));
                    }
                    if let Some((other, _)) = &node.greedy {
                        return Err(if other == name {
                            RouteError::Duplicate(path.to_string())
                        } else {
                            RouteError::ConflictingVariables(other.clone(), name.to_string())
                        });
                    }
                    node.greedy = Some((name.to_string(), value));
                    self.len += 1;
                    return Ok(());
                }
            }
        }
        if node.value.is_some() {
            return Err(RouteError::Duplicate(path.to_string()));
        }
        node.value = Some(value);
        self.len += 1;
        Ok(())
    }

    /// Finds the resource for a raw request path.
    pub fn at<'r, 'p>(&'r self, path: &'p str) -> Option<Match<'r, 'p, T>> {
        self.at_where(path, |_| true)
    }

    /// Finds the most specific resource for a path that `accept` takes, backing up past those it
    /// refuses: with `/users/me` (PATCH only) and `/users/{id}` (GET), a GET of `/users/me` is
    /// served by `/users/{id}`.
    pub fn at_where<'r, 'p>(
        &'r self,
        path: &'p str,
        accept: impl Fn(&T) -> bool,
    ) -> Option<Match<'r, 'p, T>> {
        let parts = segments(path);
        let mut params = Vec::new();
        let tail_start = |i: usize| -> &'p str {
            // Byte offset of segment i in `path`, so the greedy value is a slice of the input.
            let mut offset = usize::from(path.starts_with('/'));
            for part in &parts[..i] {
                offset += part.len() + 1;
            }
            let end = path.len() - usize::from(path.ends_with('/') && path.len() > offset);
            &path[offset..end.max(offset)]
        };
        let value = walk(&self.root, &parts, 0, &mut params, &tail_start, &accept)?;
        Some(Match { value, params })
    }
}

fn walk<'r, 'p, T>(
    node: &'r Node<T>,
    parts: &[&'p str],
    i: usize,
    params: &mut Vec<(&'r str, &'p str)>,
    tail_start: &dyn Fn(usize) -> &'p str,
    accept: &dyn Fn(&T) -> bool,
) -> Option<&'r T> {
    let Some(segment) = parts.get(i) else {
        return node.value.as_ref().filter(|v| accept(v));
    };
    if !node.literals.is_empty() {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if let Some(child) = node.literals.get(decoded.as_ref())
            && let Some(found) = walk(child, parts, i + 1, params, tail_start, accept)
        {
            return Some(found);
        }
    }
    if let Some((name, child)) = &node.variable
        && !segment.is_empty()
    {
        params.push((name.as_str(), *segment));
        if let Some(found) = walk(child, parts, i + 1, params, tail_start, accept) {
            return Some(found);
        }
        params.pop();
    }
    if let Some((name, value)) = &node.greedy
        && accept(value)
    {
        params.push((name.as_str(), tail_start(i)));
        return Some(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(paths: &[&str]) -> Router<String> {
        let mut r = Router::new();
        for p in paths {
            r.insert(p, p.to_string()).unwrap();
        }
        r
    }

    fn hit<'a>(r: &'a Router<String>, path: &'a str) -> Option<(String, Vec<(&'a str, &'a str)>)> {
        r.at(path).map(|m| (m.value.clone(), m.params))
    }

    #[test]
    fn literal_beats_variable_beats_greedy() {
        let r = router(&[
            "/",
            "/users/me",
            "/users/{id}",
            "/users/{id}/orders",
            "/{proxy+}",
        ]);
        assert_eq!(hit(&r, "/users/me").unwrap().0, "/users/me");
        assert_eq!(
            hit(&r, "/users/42"),
            Some(("/users/{id}".into(), vec![("id", "42")]))
        );
        assert_eq!(hit(&r, "/users/42/orders").unwrap().0, "/users/{id}/orders");
        assert_eq!(hit(&r, "/").unwrap().0, "/");
    }

    #[test]
    fn dead_ends_back_up_to_the_greedy_variable() {
        let r = router(&["/users/{id}", "/{proxy+}"]);
        assert_eq!(
            hit(&r, "/users/1/extra"),
            Some(("/{proxy+}".into(), vec![("proxy", "users/1/extra")]))
        );
    }

    #[test]
    fn greedy_needs_at_least_one_segment() {
        let r = router(&["/files/{proxy+}"]);
        assert!(hit(&r, "/files").is_none());
        assert!(hit(&r, "/files/").is_none());
        assert_eq!(
            hit(&r, "/files/a/b%20c").unwrap().1,
            vec![("proxy", "a/b%20c")]
        );
    }

    #[test]
    fn root_is_its_own_resource() {
        let r = router(&["/{proxy+}"]);
        assert!(hit(&r, "/").is_none());
        assert_eq!(hit(&r, "/x").unwrap().1, vec![("proxy", "x")]);
    }

    #[test]
    fn literals_match_decoded_and_params_stay_raw() {
        let r = router(&["/a:b", "/items/{id}"]);
        assert_eq!(hit(&r, "/a%3Ab").unwrap().0, "/a:b");
        assert_eq!(hit(&r, "/items/x%2Fy").unwrap().1, vec![("id", "x%2Fy")]);
    }

    #[test]
    fn trailing_slash_and_unknown_paths() {
        let r = router(&["/pets"]);
        assert_eq!(hit(&r, "/pets/").unwrap().0, "/pets");
        assert!(hit(&r, "/dogs").is_none());
        assert!(hit(&r, "//pets").is_none());
    }

    #[test]
    fn conflicting_variables_are_refused() {
        let mut r = router(&["/a/{x}"]);
        assert!(matches!(
            r.insert("/a/{y}", String::new()),
            Err(RouteError::ConflictingVariables(..))
        ));
        assert!(matches!(
            r.insert("/b/{p+}/c", String::new()),
            Err(RouteError::GreedyNotLast(_))
        ));
        assert!(matches!(
            r.insert("/a/{x}", String::new()),
            Err(RouteError::Duplicate(_))
        ));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn refused_resources_are_skipped() {
        let r = router(&["/users/me", "/users/{id}", "/{proxy+}"]);
        let m = r.at_where("/users/me", |v| v != "/users/me").unwrap();
        assert_eq!(m.value, "/users/{id}");
        let m = r.at_where("/users/me", |v| v == "/{proxy+}").unwrap();
        assert_eq!(
            (m.value.as_str(), m.params),
            ("/{proxy+}", vec![("proxy", "users/me")])
        );
        assert!(r.at_where("/users/me", |_| false).is_none());
    }

    #[test]
    fn many_routes() {
        let mut r = Router::new();
        for i in 0..10_000 {
            r.insert(&format!("/r{i}/{{id}}"), i).unwrap();
        }
        assert_eq!(r.at("/r9999/7").map(|m| *m.value), Some(9999));
    }
}
