//! `tollgate`: an API gateway that speaks Amazon API Gateway.

mod backends;
mod config;
mod credentials;
mod functions;
mod logs;
mod openapi_cli;
mod remote_lambda;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use http_body_util::BodyExt;
use hyper::{Request, Response};
use tokio::sync::watch;
use tollgate_gateway::server::{self, RequestBody, ResponseBody};
use tollgate_gateway::telemetry::{AccessLogDestination, Telemetry};
use tollgate_gateway::{Gateway, GatewayConfig, GatewayError};
use tollgate_iam::CredentialsLookup;
use tower::ServiceExt;

use crate::config::{LogFormat, ServeArgs, Settings};

/// mimalloc: the proxy path allocates (hyper's read buffers, header maps, futures) and
/// glibc's malloc costs several CPU microseconds per proxied request more (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    about = "An API gateway that speaks Amazon API Gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: the management API and the data plane on one listener.
    Serve(ServeArgs),
    /// Print a function's log (START / END / REPORT and its output); --follow for new lines.
    Logs(logs::LogsArgs),
    /// Manage the access keys that lock the management API and sign AWS_IAM calls.
    Credentials(credentials::CredentialsArgs),
    /// Create (or replace) a REST API from an OpenAPI file on a running server, deploy it to a
    /// stage and print its invoke URLs.
    Import(openapi_cli::ImportArgs),
    /// Print a stage's API as OpenAPI (oas30 or swagger, JSON or YAML) from a running server.
    Export(openapi_cli::ExportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Logs(args) => match logs::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::Credentials(args) => match credentials::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::Import(args) => match openapi_cli::import(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::Export(args) => match openapi_cli::export(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::Serve(args) => {
            let settings = match Settings::resolve(args) {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            init_logging(settings.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => return fail(&format!("cannot start the runtime: {e}")),
            };
            match runtime.block_on(serve(settings)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

/// A one-line error on stderr and exit code 2, for what the operator must fix (a taken port,
/// an unusable data dir, a bad setting).
fn fail(message: &str) -> ExitCode {
    eprintln!("tollgate: {message}");
    ExitCode::from(2)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn bind(address: &str) -> Result<tokio::net::TcpListener, String> {
    let resolved: SocketAddr = tokio::net::lookup_host(address)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("cannot listen on {address}: not an address"))?;
    server::bind(resolved).map_err(|e| format!("cannot listen on {address}: {e}"))
}

fn boxed<B>(response: Response<B>) -> Response<ResponseBody>
where
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<server::BoxError>,
{
    response.map(|b| b.map_err(Into::into).boxed_unsync())
}

async fn serve(settings: Settings) -> Result<(), String> {
    let store = backends::open_store(&settings).await?;
    let tls = match &settings.tls {
        Some((cert, key)) => Some(server::Tls::from_pem_files(cert, key)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = bind(&settings.listen).await?;
    let gateway_listener = match &settings.gateway_listen {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let bootstrap: Vec<tollgate_iam::Principal> = settings
        .bootstrap_key
        .iter()
        .map(|(id, secret)| {
            tollgate_iam::Principal::user(id, secret, &settings.account_id, "bootstrap")
        })
        .collect();
    let function_key = function_credentials()?;
    let mut function_principal = tollgate_iam::Principal::user(
        &function_key.access_key_id,
        &function_key.secret_access_key,
        &settings.account_id,
        "tollgate-functions",
    );
    function_principal.session_token = Some(function_key.session_token.clone());
    let credentials = tollgate_gateway::credentials::CredentialsRegistry::start(
        Arc::clone(&store),
        bootstrap,
        Some(function_principal),
    )
    .await
    .map_err(|e| format!("cannot read stored credentials: {e}"))?;
    if credentials.is_empty() && !tollgate_admin::auth::is_loopback(local.ip()) {
        return Err(format!(
            "refusing to serve the management API on {local} without credentials: create some \
             with `tollgate credentials create --user NAME` (or set TOLLGATE_ACCESS_KEY_ID and \
             TOLLGATE_SECRET_ACCESS_KEY), or listen on a loopback address"
        ));
    }
    tracing::info!(
        access_keys = credentials.count(),
        locked = !credentials.is_empty(),
        "management API credentials"
    );
    let admin_file = write_admin_file(&settings, local)?;

    let functions = start_functions(&settings, &store, function_key).await?;
    let remote = match &settings.remote_lambda_endpoint {
        Some(endpoint) => {
            let remote = remote_lambda::RemoteLambda::new(
                endpoint,
                &settings.region,
                remote_lambda::Credentials::from_env(),
            )?;
            tracing::info!(%endpoint, "functions that are not local run on the remote endpoint");
            Some(Arc::new(remote))
        }
        None => None,
    };
    let invoker = functions::LocalFunctions::start(
        Arc::clone(&functions),
        Arc::clone(&store),
        remote.clone(),
    )
    .await;
    let registry = tollgate_telemetry::Registry::new();
    tollgate_telemetry::process::register(&registry);
    let open_connections = registry.gauge(tollgate_telemetry::families::OPEN_CONNECTIONS, &[]);
    registry.on_render(move || open_connections.set(server::open_connections()));
    let access_log = if settings.access_log_stdout {
        AccessLogDestination::Stdout
    } else {
        AccessLogDestination::Files {
            dir: settings.data_dir.join("logs"),
            destinations: settings.access_log_destinations.clone(),
        }
    };
    let traces = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let exporter =
                tollgate_gateway::trace_export::SpanExporter::start(endpoint, &registry)?;
            tracing::info!(%endpoint, "traces of stages with tracingEnabled go to the OTLP collector");
            Some(exporter)
        }
        None => None,
    };
    let telemetry = Telemetry::start(Arc::clone(&registry), access_log, traces);
    functions.record_metrics(Arc::clone(&registry));
    let metrics_listener = match &settings.metrics_listen {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let gateway = Gateway::start_with_telemetry(
        Arc::clone(&store),
        backends::open_shared(&settings).await?,
        GatewayConfig {
            region: settings.region.clone(),
            account_id: settings.account_id.clone(),
            cognito_user_pools: settings.cognito_user_pools.clone(),
            tls: tls.is_some(),
        },
        Some(invoker as Arc<dyn tollgate_gateway::integration::lambda::FunctionInvoker>),
        Arc::clone(&credentials),
        telemetry,
    )
    .await?;
    let admin = tollgate_admin::router_with_remote_lambda(
        Arc::clone(&store),
        tollgate_admin::AdminConfig {
            region: settings.region.clone(),
            account_id: settings.account_id.clone(),
            dev: settings.dev,
            tester: Some(Arc::clone(&gateway) as Arc<dyn tollgate_plan::test_invoke::MethodTester>),
            data_dir: settings.data_dir.clone(),
            functions: Some(Arc::clone(&functions)),
            tls: tls.is_some(),
        },
        remote.map(|r| r as Arc<dyn tollgate_admin::lambda::RemoteInvoker>),
    )
    .merge(tollgate_admin::credentials::routes(
        store,
        &settings.account_id,
        admin_file.token.clone(),
    ))
    // Behind the lock like the rest of the management API: with credentials, scrape
    // --metrics-listen instead.
    .merge(metrics_router(Arc::clone(&registry)));
    let admin = tollgate_admin::auth::lock(
        admin,
        Arc::clone(&credentials) as tollgate_admin::auth::Credentials,
        &settings.region,
    )
    .layer(axum::middleware::from_fn(log_request));

    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let mut servers = Vec::new();
    if let Some(listener) = gateway_listener {
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let gateway = Arc::clone(&gateway);
        let handler = move |request: Request<RequestBody>, remote: SocketAddr| {
            let gateway = Arc::clone(&gateway);
            async move {
                let host = request
                    .headers()
                    .get(hyper::header::HOST)
                    .and_then(|h| h.to_str().ok());
                match tollgate_gateway::address::resolve(host, request.uri().path()) {
                    // Not boxed: the listener awaits it where it is (only connections handed to
                    // hyper move it); a box cost an allocation and a copy per request.
                    Some(address) => boxed(gateway.handle(request, address, remote).await),
                    None => boxed(GatewayError::MissingAuthenticationToken.into_response()),
                }
            }
        };
        tracing::info!("data plane only listening on {scheme}://{address}");
        servers.push(tokio::spawn(server::serve(
            listener,
            tls.clone(),
            handler,
            until_stopped(stopped.clone()),
        )));
    }
    if let Some(listener) = metrics_listener {
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let metrics = metrics_router(Arc::clone(&registry));
        let handler = move |request: Request<RequestBody>, _remote: SocketAddr| {
            let metrics = metrics.clone();
            async move {
                match metrics.oneshot(request).await {
                    Ok(response) => boxed(response),
                    Err(never) => match never {},
                }
            }
        };
        tracing::info!("metrics on {scheme}://{address}/metrics");
        servers.push(tokio::spawn(server::serve(
            listener,
            tls.clone(),
            handler,
            until_stopped(stopped.clone()),
        )));
    }
    let shared_gateway = Arc::clone(&gateway);
    let handler = move |mut request: Request<RequestBody>, remote: SocketAddr| {
        let gateway = Arc::clone(&shared_gateway);
        let admin = admin.clone();
        async move {
            let host = request
                .headers()
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok());
            match tollgate_gateway::address::resolve(host, request.uri().path()) {
                // Awaited in place, as above; the management API's future is boxed so that
                // this one does not take its size.
                Some(address) => boxed(gateway.handle(request, address, remote).await),
                None => {
                    // The management API's lock tells loopback clients by their address.
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(remote));
                    match Box::pin(admin.oneshot(request)).await {
                        Ok(response) => boxed(response),
                        Err(never) => match never {},
                    }
                }
            }
        }
    };
    tracing::info!(
        address = %local,
        data_dir = %settings.data_dir.display(),
        region = %settings.region,
        dev = settings.dev,
        "tollgate listening on {scheme}://{local}"
    );
    servers.push(tokio::spawn(server::serve(
        listener,
        tls,
        handler,
        until_stopped(stopped.clone()),
    )));

    shutdown_signal().await;
    let _ = stop.send(true);
    for server in servers {
        let _ = server.await;
    }
    gateway.shutdown().await;
    functions.shutdown().await;
    let _ = std::fs::remove_file(settings.data_dir.join(credentials::ADMIN_FILE));
    tracing::info!("stopped");
    Ok(())
}

/// Writes `{data_dir}/tollgate.admin` (mode 0600): the loopback URL of this server and a
/// fresh random token, with which `tollgate credentials` manages credentials while it runs.
fn write_admin_file(
    settings: &Settings,
    local: SocketAddr,
) -> Result<credentials::AdminFile, String> {
    let mut token = [0u8; 32];
    getrandom::fill(&mut token).map_err(|e| format!("no random source: {e}"))?;
    let host = match local.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let admin = credentials::AdminFile {
        url: format!("http://{host}:{}", local.port()),
        token: tollgate_iam::sigv4::encoding::hex(&token),
    };
    let path = settings.data_dir.join(credentials::ADMIN_FILE);
    let text = serde_json::to_string(&admin).map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(
        &mut options
            .open(&path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        text.as_bytes(),
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(admin)
}

/// A fresh temporary key for the functions this process runs (the role credentials Lambda
/// would give them): with it they can sign calls back to Tollgate, such as `@connections`.
fn function_credentials() -> Result<tollgate_functions::FunctionCredentials, String> {
    let mut random = [0u8; 58];
    getrandom::fill(&mut random).map_err(|e| format!("no random source: {e}"))?;
    let hex = tollgate_iam::sigv4::encoding::hex(&random);
    Ok(tollgate_functions::FunctionCredentials {
        access_key_id: format!("ASIA{}", hex[..16].to_ascii_uppercase()),
        secret_access_key: hex[16..56].to_string(),
        session_token: hex[56..].to_string(),
    })
}

/// The function runtime (`{data_dir}/functions`: logs and runtime clients), with every stored
/// function registered again.
async fn start_functions(
    settings: &Settings,
    store: &Arc<dyn tollgate_store::Store>,
    credentials: tollgate_functions::FunctionCredentials,
) -> Result<Arc<tollgate_functions::Functions>, String> {
    let mut runtime = tollgate_functions::RuntimeSettings::new(settings.data_dir.join("functions"));
    runtime.credentials = Some(credentials);
    runtime.region.clone_from(&settings.region);
    runtime.account_id.clone_from(&settings.account_id);
    let functions = tollgate_functions::Functions::new(runtime);
    let restored = tollgate_admin::lambda::restore(
        store,
        &functions,
        &settings.data_dir,
        &settings.region,
        &settings.account_id,
    )
    .await
    .map_err(|e| format!("cannot read stored functions: {e}"))?;
    if restored > 0 {
        tracing::info!(versions = restored, "functions restored");
    }
    Ok(functions)
}

/// `GET /metrics`: every metric in OpenMetrics text (no AWS service uses this path).
fn metrics_router(registry: Arc<tollgate_telemetry::Registry>) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = Arc::clone(&registry);
            async move {
                (
                    [(
                        hyper::header::CONTENT_TYPE,
                        tollgate_telemetry::OPENMETRICS_CONTENT_TYPE,
                    )],
                    registry.render(),
                )
            }
        }),
    )
}

async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64, "management request");
    response
}

/// Resolves on SIGINT or SIGTERM; the servers then stop accepting and drain.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
