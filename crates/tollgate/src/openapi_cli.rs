//! `tollgate import FILE` and `tollgate export API_ID STAGE`: OpenAPI in and out through a
//! running server's management API (the server holds the data directory's lock).
//!
//! Import creates the API, or replaces one (PutRestApi `mode=overwrite`, or ReimportApi with
//! `--http-api`) when `--api-id` names it or when exactly one API of that kind has the
//! definition's title as its name; then it deploys the stage and prints the invoke URLs.
//! Export finds out by itself whether the id is an HTTP API's.

use std::io::Write;
use std::time::Instant;

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";
/// Files at least this large get a line per step on stderr.
const LARGE_FILE: usize = 64 * 1024;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The OpenAPI 3.0 or Swagger 2.0 definition (JSON or YAML)
    file: std::path::PathBuf,
    /// The stage to deploy to (default: dev; $default with --http-api)
    #[arg(long)]
    stage: Option<String>,
    /// The definition is an HTTP API's (ImportApi / ReimportApi), not a REST API's
    #[arg(long)]
    http_api: bool,
    /// Replace this API (PutRestApi overwrite, or ReimportApi) instead of finding it by name
    #[arg(long)]
    api_id: Option<String>,
    /// Always create a new API, even when one with the same name exists
    #[arg(long, conflicts_with = "api_id")]
    new: bool,
    /// Refuse the definition if the import reports warnings
    #[arg(long)]
    fail_on_warnings: bool,
    /// basepath parameter: ignore, prepend or split
    #[arg(long, default_value = "ignore")]
    basepath: String,
    /// The management API of the running server
    #[arg(long, env = "TOLLGATE_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The REST API's or HTTP API's id
    api_id: String,
    /// The stage whose deployment is exported (optional for an HTTP API: without it, the API
    /// as it is now)
    stage: Option<String>,
    /// oas30 or swagger (HTTP APIs: oas30 only)
    #[arg(long, default_value = "oas30")]
    format: String,
    /// YAML instead of JSON
    #[arg(long)]
    yaml: bool,
    /// Extensions to include: apigateway, integrations, authorizers, or none (HTTP APIs: all
    /// or none)
    #[arg(long, default_value = "apigateway")]
    extensions: String,
    /// The management API of the running server
    #[arg(long, env = "TOLLGATE_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,
}

struct Api {
    endpoint: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Api {
    fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// One call; an AWS error answer becomes its message.
    async fn call(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Bytes,
    ) -> Result<Bytes, String> {
        let uri = format!("{}{path}", self.endpoint);
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .header("accept", accept)
            .header("content-type", "application/json")
            .body(Full::new(body))
            .map_err(|e| format!("bad endpoint {uri}: {e}"))?;
        let response = self.client.request(request).await.map_err(|e| {
            format!(
                "cannot reach {}: {e} (is `tollgate serve` running?)",
                self.endpoint
            )
        })?;
        let status = response.status();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(String::from))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        Err(format!(
            "{} ({}): {message}",
            error_type.as_deref().unwrap_or("error"),
            status.as_u16()
        ))
    }

    async fn json(&self, method: Method, path: &str, body: Bytes) -> Result<Value, String> {
        let bytes = self.call(method, path, "application/json", body).await?;
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable answer: {e}"))
    }
}

/// Steps on stderr for large files: what is happening and how long it took.
struct Progress {
    enabled: bool,
    started: Instant,
    /// A step is printed and not finished (so a failure starts on a new line).
    open: bool,
}

impl Progress {
    fn step(&mut self, what: &str) {
        if self.enabled {
            eprint!("tollgate: {what} ... ");
            let _ = std::io::stderr().flush();
            self.started = Instant::now();
            self.open = true;
        }
    }

    fn done(&mut self) {
        if self.enabled {
            eprintln!("done in {:.2}s", self.started.elapsed().as_secs_f64());
            self.open = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.open {
            eprintln!("failed");
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The invoke URLs of a stage: the host form and the path form. An HTTP API's `$default`
/// stage has no stage segment.
pub fn invoke_urls(endpoint: &str, api_id: &str, stage: &str, http_api: bool) -> [String; 2] {
    let endpoint = endpoint.trim_end_matches('/');
    let port = endpoint
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("80");
    let segment = if stage == "$default" {
        String::new()
    } else {
        format!("{stage}/")
    };
    let path_form = if http_api {
        format!("{endpoint}/_aws/execute-api/{api_id}/{segment}")
    } else {
        format!("{endpoint}/restapis/{api_id}/{stage}/_user_request_/")
    };
    [
        format!("http://{api_id}.execute-api.localhost:{port}/{segment}"),
        path_form,
    ]
}

pub fn import(args: ImportArgs) -> Result<(), String> {
    let source = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let mut progress = Progress {
        enabled: source.len() >= LARGE_FILE,
        started: Instant::now(),
        open: false,
    };
    progress.step(&format!(
        "reading {} ({} KB)",
        args.file.display(),
        source.len() / 1024
    ));
    // The title is the API's name, by which an existing API is found.
    let (doc, _) = tollgate_openapi::parse_document(&source).map_err(|e| e.to_string())?;
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    progress.done();
    if !args.http_api
        && doc
            .get("x-amazon-apigateway-importexport-version")
            .is_some()
    {
        eprintln!(
            "tollgate: hint: the definition has x-amazon-apigateway-importexport-version, which only HTTP APIs use: pass --http-api to import it as one"
        );
    }
    let api = Api::new(&args.endpoint);
    let kind = if args.http_api {
        Kind::Http
    } else {
        Kind::Rest
    };
    let stage = args
        .stage
        .clone()
        .unwrap_or_else(|| kind.default_stage().to_string());
    runtime()?.block_on(async {
        let target = match (&args.api_id, args.new) {
            (Some(id), _) => Some(id.clone()),
            (None, true) => None,
            (None, false) => find_by_name(&api, kind, &title).await?,
        };
        let mut query = format!("basepath={}", encode(&args.basepath));
        if args.fail_on_warnings {
            query.push_str(match kind {
                Kind::Rest => "&failonwarnings=true",
                Kind::Http => "&failOnWarnings=true",
            });
        }
        let imported =
            send_import(&api, kind, target.as_deref(), &query, source, &mut progress).await?;
        let id = imported[kind.id_field()]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for warning in imported["warnings"].as_array().into_iter().flatten() {
            eprintln!("warning: {}", warning.as_str().unwrap_or_default());
        }
        progress.step(&format!("deploying stage {stage}"));
        match kind {
            Kind::Rest => deploy(&api, &format!("/restapis/{}", encode(&id)), &stage).await?,
            Kind::Http => deploy_http(&api, &id, &stage).await?,
        }
        progress.done();
        let verb = if target.is_some() {
            "updated"
        } else {
            "created"
        };
        println!("{verb} API {id} ({title}), deployed to stage {stage}");
        for url in invoke_urls(&api.endpoint, &id, &stage, kind == Kind::Http) {
            println!("  {url}");
        }
        Ok(())
    })
}

/// REST APIs (`apigateway`) or HTTP APIs (`apigatewayv2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rest,
    Http,
}

impl Kind {
    fn default_stage(self) -> &'static str {
        match self {
            Self::Rest => "dev",
            Self::Http => "$default",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            Self::Rest => "id",
            Self::Http => "apiId",
        }
    }
}

/// ImportRestApi / PutRestApi (overwrite), or ImportApi / ReimportApi: the API as answered.
async fn send_import(
    api: &Api,
    kind: Kind,
    target: Option<&str>,
    query: &str,
    source: Vec<u8>,
    progress: &mut Progress,
) -> Result<Value, String> {
    let (method, path, step) = match (kind, target) {
        (Kind::Rest, Some(id)) => (
            Method::PUT,
            format!("/restapis/{}?mode=overwrite&{query}", encode(id)),
            format!("replacing API {id} (PutRestApi overwrite)"),
        ),
        (Kind::Rest, None) => (
            Method::POST,
            format!("/restapis?mode=import&{query}"),
            "importing (ImportRestApi)".into(),
        ),
        (Kind::Http, Some(id)) => (
            Method::PUT,
            format!("/v2/apis/{}?{query}", encode(id)),
            format!("replacing API {id} (ReimportApi)"),
        ),
        (Kind::Http, None) => (
            Method::PUT,
            format!("/v2/apis?{query}"),
            "importing (ImportApi)".into(),
        ),
    };
    // An HTTP API's definition travels as a string in a JSON body.
    let body = match kind {
        Kind::Rest => Bytes::from(source),
        Kind::Http => {
            let text =
                String::from_utf8(source).map_err(|_| "the definition is not UTF-8".to_string())?;
            Bytes::from(serde_json::json!({ "body": text }).to_string())
        }
    };
    progress.step(&step);
    let imported = api.json(method, &path, body).await?;
    progress.done();
    Ok(imported)
}

/// CreateDeployment of the API at `base` (`/restapis/{id}` or `/v2/apis/{id}`) to `stage`.
async fn deploy(api: &Api, base: &str, stage: &str) -> Result<(), String> {
    let deployment = serde_json::json!({ "stageName": stage });
    api.json(
        Method::POST,
        &format!("{base}/deployments"),
        Bytes::from(deployment.to_string()),
    )
    .await
    .map(drop)
}

/// A missing stage is created with `autoDeploy` (which deploys it); an existing one that
/// auto-deploys was deployed by the import; any other is deployed.
async fn deploy_http(api: &Api, id: &str, stage: &str) -> Result<(), String> {
    let stages = format!("/v2/apis/{}/stages", encode(id));
    match api
        .json(
            Method::GET,
            &format!("{stages}/{}", encode(stage)),
            Bytes::new(),
        )
        .await
    {
        Ok(existing) if existing["autoDeploy"] == Value::Bool(true) => Ok(()),
        Ok(_) => deploy(api, &format!("/v2/apis/{}", encode(id)), stage).await,
        Err(e) if e.starts_with("NotFoundException") => {
            let created = serde_json::json!({ "stageName": stage, "autoDeploy": true });
            api.json(Method::POST, &stages, Bytes::from(created.to_string()))
                .await
                .map(drop)
        }
        Err(e) => Err(e),
    }
}

/// The API of `kind` named `name`, if exactly one has that name; several are an error that
/// asks for `--api-id`.
async fn find_by_name(api: &Api, kind: Kind, name: &str) -> Result<Option<String>, String> {
    // REST pages: `limit`/`position`, items in `item`; HTTP: `maxResults`/`nextToken`, `items`.
    let (list, limit, cursor, items, next) = match kind {
        Kind::Rest => ("/restapis", "limit", "position", "item", "position"),
        Kind::Http => ("/v2/apis", "maxResults", "nextToken", "items", "nextToken"),
    };
    let mut ids = vec![];
    let mut position: Option<String> = None;
    loop {
        let mut path = format!("{list}?{limit}=500");
        if let Some(p) = &position {
            path.push_str(&format!("&{cursor}={}", encode(p)));
        }
        let page = api.json(Method::GET, &path, Bytes::new()).await?;
        for item in page[items].as_array().into_iter().flatten() {
            if item["name"].as_str() == Some(name)
                && let Some(id) = item[kind.id_field()].as_str()
            {
                ids.push(id.to_string());
            }
        }
        match page[next].as_str() {
            Some(p) => position = Some(p.to_string()),
            None => break,
        }
    }
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.pop()),
        _ => Err(format!(
            "{} APIs are named '{name}' ({}): choose one with --api-id, or --new",
            ids.len(),
            ids.join(", ")
        )),
    }
}

pub fn export(args: ExportArgs) -> Result<(), String> {
    let api = Api::new(&args.endpoint);
    runtime()?.block_on(async {
        let http_api = api
            .json(
                Method::GET,
                &format!("/v2/apis/{}", encode(&args.api_id)),
                Bytes::new(),
            )
            .await
            .is_ok_and(|a| a["protocolType"] == "HTTP");
        let body = if http_api {
            export_http(&api, &args).await?
        } else {
            export_rest(&api, &args).await?
        };
        let mut out = std::io::stdout();
        out.write_all(&body).map_err(|e| e.to_string())?;
        if !body.ends_with(b"\n") {
            out.write_all(b"\n").map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

async fn export_rest(api: &Api, args: &ExportArgs) -> Result<Bytes, String> {
    let stage = args
        .stage
        .as_deref()
        .ok_or("a REST API is exported from a stage: tollgate export API_ID STAGE")?;
    let accept = if args.yaml {
        "application/yaml"
    } else {
        "application/json"
    };
    let mut path = format!(
        "/restapis/{}/stages/{}/exports/{}",
        encode(&args.api_id),
        encode(stage),
        encode(&args.format)
    );
    if args.extensions != "none" {
        path.push_str(&format!("?extensions={}", encode(&args.extensions)));
    }
    api.call(Method::GET, &path, accept, Bytes::new()).await
}

async fn export_http(api: &Api, args: &ExportArgs) -> Result<Bytes, String> {
    let mut path = format!(
        "/v2/apis/{}/exports/{}?outputType={}&includeExtensions={}",
        encode(&args.api_id),
        encode(&args.format.to_ascii_uppercase()),
        if args.yaml { "YAML" } else { "JSON" },
        args.extensions != "none"
    );
    if let Some(stage) = &args.stage {
        path.push_str(&format!("&stageName={}", encode(stage)));
    }
    api.call(Method::GET, &path, "*/*", Bytes::new()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_urls_have_both_forms() {
        let [host, path] = invoke_urls("http://127.0.0.1:4566/", "abc123", "dev", false);
        assert_eq!(host, "http://abc123.execute-api.localhost:4566/dev/");
        assert_eq!(
            path,
            "http://127.0.0.1:4566/restapis/abc123/dev/_user_request_/"
        );
        let [host, path] = invoke_urls("http://127.0.0.1:4566", "abc123", "$default", true);
        assert_eq!(host, "http://abc123.execute-api.localhost:4566/");
        assert_eq!(path, "http://127.0.0.1:4566/_aws/execute-api/abc123/");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
