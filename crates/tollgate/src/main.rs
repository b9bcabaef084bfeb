//! `tollgate`: an API gateway that speaks Amazon API Gateway.

mod config;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::{LogFormat, ServeArgs, Settings};

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
    /// Run the gateway: the management API (and, as they land, the data plane) on one listener.
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
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

async fn serve(settings: Settings) -> Result<(), String> {
    let store = tollgate_store::SqliteStore::open(&settings.data_dir)
        .map_err(|e| format!("data dir {} is unusable: {e}", settings.data_dir.display()))?;
    let listener = TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;

    let admin = tollgate_admin::router(
        Arc::new(store),
        tollgate_admin::AdminConfig {
            region: settings.region.clone(),
            account_id: settings.account_id.clone(),
            dev: settings.dev,
        },
    );
    let app = admin.layer(axum::middleware::from_fn(log_request));

    tracing::info!(
        address = %local,
        data_dir = %settings.data_dir.display(),
        region = %settings.region,
        dev = settings.dev,
        "tollgate listening on http://{local}"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    response
}

/// Resolves on SIGINT or SIGTERM; the server then stops accepting and drains.
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
