//! `tollgate import FILE` and `tollgate export API_ID STAGE`: OpenAPI in and out through a
//! running server's management API (the server holds the data directory's lock).
//!
//! Import creates the API, or replaces one (PutRestApi `mode=overwrite`) when `--api-id` names
//! it or when exactly one API has the definition's title as its name; then it deploys the stage
//! and prints the invoke URLs.

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
    /// The stage to deploy to
    #[arg(long, default_value = "dev")]
    stage: String,
    /// Replace this API (PutRestApi overwrite) instead of finding it by name
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
    /// The REST API's id
    api_id: String,
    /// The stage whose deployment is exported
    stage: String,
    /// oas30 or swagger
    #[arg(long, default_value = "oas30")]
    format: String,
    /// YAML instead of JSON
    #[arg(long)]
    yaml: bool,
    /// Extensions to include: apigateway, integrations, authorizers, or none
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

/// The invoke URLs of a stage: the host form and the path form.
pub fn invoke_urls(endpoint: &str, api_id: &str, stage: &str) -> [String; 2] {
    let endpoint = endpoint.trim_end_matches('/');
    let port = endpoint
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("80");
    [
        format!("http://{api_id}.execute-api.localhost:{port}/{stage}/"),
        format!("{endpoint}/restapis/{api_id}/{stage}/_user_request_/"),
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
    let api = Api::new(&args.endpoint);
    runtime()?.block_on(async {
        let target = match (&args.api_id, args.new) {
            (Some(id), _) => Some(id.clone()),
            (None, true) => None,
            (None, false) => find_by_name(&api, &title).await?,
        };
        let mut query = format!("basepath={}", encode(&args.basepath));
        if args.fail_on_warnings {
            query.push_str("&failonwarnings=true");
        }
        let body = Bytes::from(source);
        let imported = match &target {
            Some(id) => {
                progress.step(&format!("replacing API {id} (PutRestApi overwrite)"));
                let path = format!("/restapis/{}?mode=overwrite&{query}", encode(id));
                api.json(Method::PUT, &path, body).await?
            }
            None => {
                progress.step("importing (ImportRestApi)");
                let path = format!("/restapis?mode=import&{query}");
                api.json(Method::POST, &path, body).await?
            }
        };
        progress.done();
        let id = imported["id"].as_str().unwrap_or_default().to_string();
        for warning in imported["warnings"].as_array().into_iter().flatten() {
            eprintln!("warning: {}", warning.as_str().unwrap_or_default());
        }
        progress.step(&format!("deploying stage {}", args.stage));
        let deployment = serde_json::json!({ "stageName": args.stage });
        api.json(
            Method::POST,
            &format!("/restapis/{}/deployments", encode(&id)),
            Bytes::from(deployment.to_string()),
        )
        .await?;
        progress.done();
        let verb = if target.is_some() {
            "updated"
        } else {
            "created"
        };
        println!(
            "{verb} API {id} ({title}), deployed to stage {}",
            args.stage
        );
        for url in invoke_urls(&api.endpoint, &id, &args.stage) {
            println!("  {url}");
        }
        Ok(())
    })
}

/// The API named `name`, if exactly one has that name; several are an error that asks for
/// `--api-id`.
async fn find_by_name(api: &Api, name: &str) -> Result<Option<String>, String> {
    let mut ids = vec![];
    let mut position: Option<String> = None;
    loop {
        let mut path = String::from("/restapis?limit=500");
        if let Some(p) = &position {
            path.push_str(&format!("&position={}", encode(p)));
        }
        let page = api.json(Method::GET, &path, Bytes::new()).await?;
        for item in page["item"].as_array().into_iter().flatten() {
            if item["name"].as_str() == Some(name)
                && let Some(id) = item["id"].as_str()
            {
                ids.push(id.to_string());
            }
        }
        match page["position"].as_str() {
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
    let accept = if args.yaml {
        "application/yaml"
    } else {
        "application/json"
    };
    let mut path = format!(
        "/restapis/{}/stages/{}/exports/{}",
        encode(&args.api_id),
        encode(&args.stage),
        encode(&args.format)
    );
    if args.extensions != "none" {
        path.push_str(&format!("?extensions={}", encode(&args.extensions)));
    }
    let body = runtime()?.block_on(api.call(Method::GET, &path, accept, Bytes::new()))?;
    let mut out = std::io::stdout();
    out.write_all(&body).map_err(|e| e.to_string())?;
    if !body.ends_with(b"\n") {
        out.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_urls_have_both_forms() {
        let [host, path] = invoke_urls("http://127.0.0.1:4566/", "abc123", "dev");
        assert_eq!(host, "http://abc123.execute-api.localhost:4566/dev/");
        assert_eq!(
            path,
            "http://127.0.0.1:4566/restapis/abc123/dev/_user_request_/"
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
