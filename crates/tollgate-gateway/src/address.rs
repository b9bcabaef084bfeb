//! Where a data-plane request is going.
//!
//! - Host style (AWS): `Host: {apiId}.execute-api.{anything}`, path `/{stage}/{path}`.
//! - Path style (LocalStack): `/restapis/{apiId}/{stage}/_user_request_/{path}` and
//!   `/_aws/execute-api/{apiId}/{stage}/{path}`.

/// The API, stage and resource path a request addresses. `path` keeps its percent-encoding and
/// always starts with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub api_id: String,
    pub stage: String,
    pub path: String,
}

/// The first path segment (the stage, empty when there is none) and the rest.
fn split_stage(rest: &str) -> (&str, &str) {
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    match slash(rest) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

/// Where the first `/` is. A byte loop: these strings are short, and a `char` search costs more
/// to set up than the loop takes.
fn slash(s: &str) -> Option<usize> {
    s.bytes().position(|b| b == b'/')
}

fn address(api_id: &str, stage: &str, path: &str) -> Option<Address> {
    if api_id.is_empty() {
        return None;
    }
    Some(Address {
        api_id: api_id.to_string(),
        stage: stage.to_string(),
        path: if path.is_empty() {
            "/".into()
        } else {
            path.to_string()
        },
    })
}

/// The API id of an `{apiId}.execute-api.{anything}` host name: its first label.
fn execute_api_id(host: &str) -> Option<&str> {
    let (api_id, rest) = host.split_once('.')?;
    rest.starts_with("execute-api.").then_some(api_id)
}

/// Resolves a request's `Host` header and path; `None` when it is not a data-plane request.
pub fn resolve(host: Option<&str>, path: &str) -> Option<Address> {
    // The first label decides, so a port after the name changes nothing.
    if let Some(api_id) = host.and_then(execute_api_id) {
        let (stage, rest) = split_stage(path);
        return address(api_id, stage, rest);
    }
    if let Some(rest) = path.strip_prefix("/restapis/") {
        let at = slash(rest)?;
        let (api_id, rest) = (&rest[..at], &rest[at + 1..]);
        let at = slash(rest)?;
        let (stage, rest) = (&rest[..at], &rest[at + 1..]);
        // The path from the slash before the tail on: `/` when there is no tail.
        let tail = match rest.strip_prefix("_user_request_")? {
            "" => "/",
            tail if tail.starts_with('/') => tail,
            _ => return None,
        };
        return address(api_id, stage, tail);
    }
    if let Some(rest) = path.strip_prefix("/_aws/execute-api/") {
        let (api_id, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let (stage, tail) = split_stage(rest);
        return address(api_id, stage, tail);
    }
    // `@connections` on the gateway's own address (connection ids are unique across APIs, so
    // no API id is needed): an address with an empty API id.
    let (stage, tail) = split_stage(path);
    if !stage.is_empty() && crate::websocket::connection_id_of(tail).is_some() {
        return Some(Address {
            api_id: String::new(),
            stage: stage.to_string(),
            path: tail.to_string(),
        });
    }
    None
}

/// The path of a request without a stage segment, for an HTTP API's `$default` stage, which
/// serves at `/{path}` rather than `/{stage}/{path}`: the whole path in host style, the part
/// after the API id in `/_aws/execute-api/{apiId}/{path}`. `None` for the
/// `/restapis/{apiId}/{stage}/_user_request_/` form, which always names its stage.
pub fn stageless_path<'p>(host: Option<&str>, path: &'p str) -> Option<&'p str> {
    if host.is_some_and(|h| execute_api_id(h).is_some()) {
        return Some(path);
    }
    let rest = path.strip_prefix("/_aws/execute-api/")?;
    Some(rest.find('/').map_or("/", |i| &rest[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(api: &str, stage: &str, path: &str) -> Option<Address> {
        Some(Address {
            api_id: api.into(),
            stage: stage.into(),
            path: path.into(),
        })
    }

    #[test]
    fn host_style() {
        assert_eq!(
            resolve(Some("abc123.execute-api.localhost:4566"), "/dev/pets/1"),
            a("abc123", "dev", "/pets/1")
        );
        assert_eq!(
            resolve(Some("abc123.execute-api.us-east-1.amazonaws.com"), "/dev"),
            a("abc123", "dev", "/")
        );
        // No stage segment: an HTTP API's `$default` stage, or a REST API's 403.
        assert_eq!(
            resolve(Some("abc123.execute-api.localhost"), "/"),
            a("abc123", "", "/")
        );
        // The API id is the first label only; other hosts are not host style.
        assert_eq!(resolve(Some("a.b.execute-api.localhost"), "/dev/x"), None);
        assert_eq!(resolve(Some("execute-api.localhost"), "/dev/x"), None);
    }

    #[test]
    fn path_styles() {
        assert_eq!(
            resolve(
                Some("127.0.0.1:4566"),
                "/restapis/abc/dev/_user_request_/pets"
            ),
            a("abc", "dev", "/pets")
        );
        assert_eq!(
            resolve(None, "/restapis/abc/dev/_user_request_/"),
            a("abc", "dev", "/")
        );
        assert_eq!(
            resolve(None, "/restapis/abc/dev/_user_request_"),
            a("abc", "dev", "/")
        );
        assert_eq!(
            resolve(None, "/restapis/abc/dev/_user_request_/a/b/"),
            a("abc", "dev", "/a/b/")
        );
        assert_eq!(resolve(None, "/restapis/abc/dev/_user_request_x/a"), None);
        assert_eq!(resolve(None, "/restapis//dev/_user_request_/a"), None);
        assert_eq!(
            resolve(None, "/_aws/execute-api/abc/dev/a/b"),
            a("abc", "dev", "/a/b")
        );
        assert_eq!(
            resolve(None, "/_aws/execute-api/abc/dev"),
            a("abc", "dev", "/")
        );
    }

    #[test]
    fn stageless_paths_for_default_stages() {
        assert_eq!(
            stageless_path(Some("abc.execute-api.localhost:4566"), "/pets/1"),
            Some("/pets/1")
        );
        assert_eq!(
            stageless_path(None, "/_aws/execute-api/abc/pets/1"),
            Some("/pets/1")
        );
        assert_eq!(stageless_path(None, "/_aws/execute-api/abc"), Some("/"));
        assert_eq!(
            stageless_path(None, "/restapis/abc/dev/_user_request_/x"),
            None
        );
        assert_eq!(resolve(None, "/_aws/execute-api/abc"), a("abc", "", "/"));
    }

    #[test]
    fn management_paths_are_not_data_plane() {
        assert_eq!(
            resolve(Some("127.0.0.1"), "/restapis/abc/resources/xyz"),
            None
        );
        assert_eq!(resolve(Some("127.0.0.1"), "/restapis"), None);
        assert_eq!(resolve(None, "/account"), None);
    }
}
