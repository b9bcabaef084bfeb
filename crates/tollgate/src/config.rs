//! Bootstrap settings of `tollgate serve`: flags, then `TOLLGATE_*` environment variables
//! (clap reads both), then `tollgate.toml` in the data dir, then defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address of the listener for the management API and data plane [default: 127.0.0.1:4566]
    #[arg(long, env = "TOLLGATE_LISTEN")]
    listen: Option<String>,
    /// An extra listener that serves only the data plane (no management API), for production
    #[arg(long, env = "TOLLGATE_GATEWAY_LISTEN")]
    gateway_listen: Option<String>,
    /// Directory for all state (SQLite database, settings file) [default: ./.tollgate]
    #[arg(long, env = "TOLLGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where the state lives: a `postgres://user@host:port/db` URL puts it in PostgreSQL, shared
    /// by every node given the same URL (cluster mode) [default: SQLite in the data dir]
    #[arg(long, env = "TOLLGATE_STORE")]
    store: Option<String>,
    /// A `redis://host:port/db` URL: rate limits, quotas and WebSocket connections shared by
    /// every node given the same URL (cluster mode) [default: this process only]
    #[arg(long, env = "TOLLGATE_REDIS")]
    redis: Option<String>,
    /// Prefix of every Redis key and channel this node uses (one cluster per prefix)
    /// [default: tollgate]
    #[arg(long, env = "TOLLGATE_REDIS_PREFIX")]
    redis_prefix: Option<String>,
    /// AWS region this gateway pretends to be [default: us-east-1]
    #[arg(long, env = "TOLLGATE_REGION")]
    region: Option<String>,
    /// AWS account id used in ARNs and messages [default: 000000000000]
    #[arg(long, env = "TOLLGATE_ACCOUNT_ID")]
    account_id: Option<String>,
    /// Local-development mode: also serve POST /_tollgate/reset, which wipes all state
    #[arg(long, env = "TOLLGATE_DEV")]
    dev: bool,
    /// Log format on stderr [default: text]
    #[arg(long, env = "TOLLGATE_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// A Lambda-compatible endpoint (URL) that runs the functions this node does not have;
    /// requests are signed with SigV4 using the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
    /// AWS_SESSION_TOKEN credentials [default: none]
    #[arg(long, env = "TOLLGATE_REMOTE_LAMBDA_ENDPOINT")]
    remote_lambda_endpoint: Option<String>,
    /// An extra listener that serves only `GET /metrics` (OpenMetrics), for a scraper that
    /// should not reach the management API [default: none; /metrics is on the main listener]
    #[arg(long, env = "TOLLGATE_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// Write access logs to stdout instead of {data-dir}/logs/access/{apiId}/{stage}.log
    #[arg(long, env = "TOLLGATE_ACCESS_LOG_STDOUT")]
    access_log_stdout: bool,
    /// An OpenTelemetry collector (OTLP/HTTP, e.g. http://127.0.0.1:4318) that receives the
    /// traces of stages with tracingEnabled, as JSON at {URL}/v1/traces [default: no traces]
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// Bootstrap credentials (with --secret-access-key): an access key that locks the
    /// management API like stored ones, without being stored [default: none]
    #[arg(long, env = "TOLLGATE_ACCESS_KEY_ID", requires = "secret_access_key")]
    access_key_id: Option<String>,
    /// The bootstrap access key's secret
    #[arg(
        long,
        env = "TOLLGATE_SECRET_ACCESS_KEY",
        hide_env_values = true,
        requires = "access_key_id"
    )]
    secret_access_key: Option<String>,
    /// Serve every listener over TLS (HTTPS, HTTP/2 by ALPN, wss://) with this PEM
    /// certificate chain (with --tls-key) [default: cleartext]
    #[arg(long, env = "TOLLGATE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, env = "TOLLGATE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// `tollgate.toml`: the same settings, for a data dir that carries its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    listen: Option<String>,
    store: Option<String>,
    redis: Option<String>,
    redis_prefix: Option<String>,
    gateway_listen: Option<String>,
    region: Option<String>,
    account_id: Option<String>,
    dev: Option<bool>,
    log_format: Option<LogFormat>,
    remote_lambda_endpoint: Option<String>,
    metrics_listen: Option<String>,
    access_log_stdout: Option<bool>,
    otlp_endpoint: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    cognito_user_pools: BTreeMap<String, CognitoUserPoolFile>,
    /// `[access-log-destinations]`: `accessLogSettings.destinationArn` -> the file its lines
    /// go to (relative paths are under the data dir).
    #[serde(default)]
    access_log_destinations: BTreeMap<String, PathBuf>,
}

/// `[cognito-user-pools."arn:aws:cognito-idp:..."]` in `tollgate.toml`: where the tokens of a
/// user pool come from and where its keys are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CognitoUserPoolFile {
    issuer: String,
    /// Defaults to `{issuer}/.well-known/jwks.json`, where Cognito publishes them.
    jwks_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub gateway_listen: Option<String>,
    pub data_dir: PathBuf,
    /// A PostgreSQL URL, or `None` for SQLite in the data dir.
    pub store: Option<String>,
    /// A Redis URL and key prefix, or `None` for in-process shared state.
    pub redis: Option<(String, String)>,
    pub region: String,
    pub account_id: String,
    pub dev: bool,
    pub log_format: LogFormat,
    pub remote_lambda_endpoint: Option<String>,
    pub metrics_listen: Option<String>,
    pub access_log_stdout: bool,
    pub otlp_endpoint: Option<String>,
    /// `destinationArn` -> access-log file (absolute), from the file's `[access-log-destinations]`.
    pub access_log_destinations: std::collections::HashMap<String, PathBuf>,
    /// Bootstrap credentials (access key id, secret), if configured.
    pub bootstrap_key: Option<(String, String)>,
    /// The TLS certificate chain and key (PEM files) every listener serves with, if any.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// User pool ARN -> its token issuer and JWKS URL (file only).
    pub cognito_user_pools: Vec<tollgate_gateway::CognitoUserPool>,
}

/// The data dir (absolute), its `tollgate.toml`, and the account id, resolved as `serve`
/// does; `tollgate credentials` uses the same.
fn base(
    data_dir: Option<PathBuf>,
    account_id: Option<String>,
) -> Result<(PathBuf, FileSettings, String), String> {
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(".tollgate"));
    // Absolute, because function processes run in their own code directories and must
    // still find what the runtime keeps under the data dir.
    let data_dir = std::path::absolute(&data_dir)
        .map_err(|e| format!("data dir {} is unusable: {e}", data_dir.display()))?;
    let mut file = read_file(&data_dir)?;
    let account_id = account_id
        .or(file.account_id.take())
        .unwrap_or_else(|| "000000000000".into());
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("account id must be 12 digits, got {account_id:?}"));
    }
    Ok((data_dir, file, account_id))
}

/// The data dir and account id of `tollgate credentials`, and the listen address of a server
/// that may be running on it.
pub fn resolve_data_dir(
    data_dir: Option<PathBuf>,
    account_id: Option<String>,
) -> Result<(PathBuf, String), String> {
    let (data_dir, _, account_id) = base(data_dir, account_id)?;
    Ok((data_dir, account_id))
}

impl Settings {
    pub fn resolve(args: ServeArgs) -> Result<Self, String> {
        let (data_dir, file, account_id) = base(args.data_dir, args.account_id)?;
        let bootstrap_key = match (
            args.access_key_id.or(file.access_key_id),
            args.secret_access_key.or(file.secret_access_key),
        ) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => {
                return Err(
                    "bootstrap credentials need both an access key id and a secret access key"
                        .into(),
                );
            }
        };
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err("TLS needs both a certificate (tls-cert) and a key (tls-key)".into()),
        };
        let access_log_destinations =
            access_log_destinations(&data_dir, file.access_log_destinations.clone());
        Ok(Self {
            tls,
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:4566".into()),
            gateway_listen: args.gateway_listen.or(file.gateway_listen),
            data_dir,
            store: args.store.or(file.store),
            redis: args.redis.or(file.redis).map(|url| {
                let prefix = args.redis_prefix.or(file.redis_prefix);
                (url, prefix.unwrap_or_else(|| "tollgate".into()))
            }),
            region: args
                .region
                .or(file.region)
                .unwrap_or_else(|| "us-east-1".into()),
            account_id,
            dev: args.dev || file.dev.unwrap_or(false),
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            remote_lambda_endpoint: args.remote_lambda_endpoint.or(file.remote_lambda_endpoint),
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
            access_log_stdout: args.access_log_stdout || file.access_log_stdout.unwrap_or(false),
            otlp_endpoint: args.otlp_endpoint.or(file.otlp_endpoint),
            access_log_destinations,
            bootstrap_key,
            cognito_user_pools: file
                .cognito_user_pools
                .into_iter()
                .map(|(arn, pool)| tollgate_gateway::CognitoUserPool {
                    jwks_url: pool.jwks_url.unwrap_or_else(|| {
                        format!(
                            "{}/.well-known/jwks.json",
                            pool.issuer.trim_end_matches('/')
                        )
                    }),
                    issuer: pool.issuer,
                    arn,
                })
                .collect(),
        })
    }
}

/// The `[access-log-destinations]` table with its paths made absolute (relative ones are
/// under the data dir).
fn access_log_destinations(
    data_dir: &std::path::Path,
    table: BTreeMap<String, PathBuf>,
) -> std::collections::HashMap<String, PathBuf> {
    table
        .into_iter()
        .map(|(arn, path)| (arn, data_dir.join(path)))
        .collect()
}

fn read_file(data_dir: &std::path::Path) -> Result<FileSettings, String> {
    let path = data_dir.join("tollgate.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileSettings::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(data_dir: &std::path::Path) -> ServeArgs {
        ServeArgs {
            data_dir: Some(data_dir.to_path_buf()),
            ..ServeArgs::default()
        }
    }

    #[test]
    fn defaults_then_file_then_flags() {
        let dir = std::env::temp_dir().join(format!("tollgate-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = Settings::resolve(args(&dir)).unwrap();
        assert_eq!(s.listen, "127.0.0.1:4566");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.remote_lambda_endpoint, None);
        std::fs::write(
            dir.join("tollgate.toml"),
            "region = \"eu-west-1\"\nlisten = \"127.0.0.1:9\"\nremote-lambda-endpoint = \"http://127.0.0.1:7\"\n",
        )
        .unwrap();
        let s = Settings::resolve(args(&dir)).unwrap();
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(
            s.remote_lambda_endpoint.as_deref(),
            Some("http://127.0.0.1:7")
        );
        let mut flagged = args(&dir);
        flagged.region = Some("ap-south-1".into());
        flagged.remote_lambda_endpoint = Some("https://lambda.example".into());
        let s = Settings::resolve(flagged).unwrap();
        assert_eq!(s.region, "ap-south-1");
        assert_eq!(
            s.remote_lambda_endpoint.as_deref(),
            Some("https://lambda.example")
        );
        std::fs::write(dir.join("tollgate.toml"), "colour = 1\n").unwrap();
        assert!(
            Settings::resolve(args(&dir)).is_err(),
            "unknown settings are refused"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
