//! Parameter mappings: `integration.request.header.x` = `method.request.path.id`, and the
//! sources that method response headers take.

/// Where a mapped value goes in the integration request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Path(String),
    Query(String),
    Header(String),
    MultiValueQuery(String),
    MultiValueHeader(String),
}

/// A JSONPath into an integration's response body, compiled once.
#[derive(Clone)]
pub struct BodyPath {
    pub source: String,
    pub path: std::sync::Arc<tollgate_mapping::jsonpath::JsonPath>,
}

impl std::fmt::Debug for BodyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for BodyPath {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for BodyPath {}

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `'literal'`
    Static(String),
    /// `method.request.path.x`
    Path(String),
    /// `method.request.querystring.x`
    Query(String),
    /// `method.request.multivaluequerystring.x`
    MultiValueQuery(String),
    /// `method.request.header.x`
    Header(String),
    /// `method.request.multivalueheader.x`
    MultiValueHeader(String),
    /// `method.request.body` (the whole body)
    Body,
    /// `stageVariables.x`
    StageVariable(String),
    /// `context.x` (for example `context.requestId`)
    Context(String),
    /// `integration.response.header.x`
    IntegrationHeader(String),
    /// `integration.response.multivalueheader.x`
    IntegrationMultiValueHeader(String),
    /// `integration.response.body`
    IntegrationBody,
    /// `integration.response.body.a.b` (a JSONPath into the response body)
    IntegrationBodyPath(BodyPath),
}

impl Source {
    pub fn parse(expr: &str) -> Option<Self> {
        let expr = expr.trim();
        if let Some(inner) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
            return Some(Self::Static(inner.to_string()));
        }
        let source = if let Some(rest) = expr.strip_prefix("method.request.") {
            match rest.split_once('.') {
                Some(("path", n)) => Self::Path(n.into()),
                Some(("querystring", n)) => Self::Query(n.into()),
                Some(("multivaluequerystring", n)) => Self::MultiValueQuery(n.into()),
                Some(("header", n)) => Self::Header(n.into()),
                Some(("multivalueheader", n)) => Self::MultiValueHeader(n.into()),
                None if rest == "body" => Self::Body,
                _ => return None,
            }
        } else if let Some(name) = expr.strip_prefix("stageVariables.") {
            Self::StageVariable(name.into())
        } else if let Some(name) = expr.strip_prefix("context.") {
            Self::Context(name.into())
        } else if let Some(name) = expr.strip_prefix("integration.response.header.") {
            Self::IntegrationHeader(name.into())
        } else if let Some(name) = expr.strip_prefix("integration.response.multivalueheader.") {
            Self::IntegrationMultiValueHeader(name.into())
        } else if expr == "integration.response.body" {
            Self::IntegrationBody
        } else if let Some(path) = expr.strip_prefix("integration.response.body.") {
            let source = format!("$.{path}");
            let compiled = tollgate_mapping::jsonpath::JsonPath::compile(&source).ok()?;
            Self::IntegrationBodyPath(BodyPath {
                source,
                path: std::sync::Arc::new(compiled),
            })
        } else {
            return None;
        };
        Some(source)
    }
}

/// One `integration.request.*` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterMapping {
    pub target: Target,
    pub source: Source,
}

impl ParameterMapping {
    pub fn parse(target: &str, source: &str) -> Option<Self> {
        let rest = target.strip_prefix("integration.request.")?;
        let target = match rest.split_once('.')? {
            ("path", n) => Target::Path(n.into()),
            ("querystring", n) => Target::Query(n.into()),
            ("header", n) => Target::Header(n.into()),
            ("multivaluequerystring", n) => Target::MultiValueQuery(n.into()),
            ("multivalueheader", n) => Target::MultiValueHeader(n.into()),
            _ => return None,
        };
        Some(Self {
            target,
            source: Source::parse(source)?,
        })
    }
}
