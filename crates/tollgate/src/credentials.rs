//! `tollgate credentials create|list|delete`: managed access keys, which lock the management
//! API and sign `AWS_IAM` calls.
//!
//! Without a running server the command opens the data dir itself. A running server holds
//! the data dir's lock; it writes `{data_dir}/tollgate.admin` (mode 0600: its loopback URL and
//! a random token), and the command then asks it, on its loopback-only
//! `/_tollgate/credentials` routes, with that token. Either way, managing credentials takes
//! the right to read the data dir, as reading its database would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use tollgate_admin::credentials::{CreateRequest, NewAccessKey, TOKEN_HEADER};
use tollgate_model::iam::AccessKeyRecord;

/// The file a running server writes for this command.
pub const ADMIN_FILE: &str = "tollgate.admin";

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    #[command(subcommand)]
    command: CredentialsCommand,
    /// The data directory [default: ./.tollgate]
    #[arg(long, env = "TOLLGATE_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// The account id in the users' ARNs [default: the server's, 000000000000]
    #[arg(long, env = "TOLLGATE_ACCOUNT_ID", global = true)]
    account_id: Option<String>,
    /// Cluster mode: the PostgreSQL store the nodes share (postgres://...); the keys are
    /// written there and every node applies them within a second [default: the data dir]
    #[arg(long, env = "TOLLGATE_STORE", global = true)]
    store: Option<String>,
}

#[derive(Debug, Subcommand)]
enum CredentialsCommand {
    /// Create an access key for a user and print the key pair (JSON)
    Create {
        /// The IAM user name (ARN arn:aws:iam::{account}:user/{name})
        #[arg(long)]
        user: String,
        /// An identity policy document (JSON file) attached to the user; repeatable
        #[arg(long = "policy")]
        policies: Vec<PathBuf>,
        /// Use this access key id instead of a generated one
        #[arg(long, requires = "secret_access_key")]
        access_key_id: Option<String>,
        /// Use this secret instead of a generated one
        #[arg(long, requires = "access_key_id")]
        secret_access_key: Option<String>,
    },
    /// List the access keys (without secrets)
    List,
    /// Delete an access key
    Delete { access_key_id: String },
}

/// The contents of [`ADMIN_FILE`].
#[derive(serde::Serialize, serde::Deserialize)]
pub struct AdminFile {
    pub url: String,
    pub token: String,
}

pub fn run(args: CredentialsArgs) -> Result<(), String> {
    let (data_dir, account_id) = crate::config::resolve_data_dir(args.data_dir, args.account_id)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let target = match &args.store {
            Some(url) => Target::Store(crate::backends::open_postgres(url, &data_dir).await?),
            None => Target::open(&data_dir)?,
        };
        match args.command {
            CredentialsCommand::Create {
                user,
                policies,
                access_key_id,
                secret_access_key,
            } => {
                let policies = policies
                    .iter()
                    .map(|path| {
                        std::fs::read_to_string(path)
                            .map_err(|e| format!("cannot read {}: {e}", path.display()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let record = target
                    .create(
                        &account_id,
                        NewAccessKey {
                            user_name: user,
                            policies,
                            access_key_id,
                            secret_access_key,
                        },
                    )
                    .await?;
                print_json(&serde_json::json!({
                    "AccessKey": {
                        "UserName": record.user_name,
                        "Arn": record.arn,
                        "AccessKeyId": record.access_key_id,
                        "SecretAccessKey": record.secret_access_key,
                        "Status": "Active",
                    }
                }));
            }
            CredentialsCommand::List => {
                let keys: Vec<serde_json::Value> = target
                    .list()
                    .await?
                    .into_iter()
                    .map(|r| {
                        serde_json::json!({
                            "UserName": r.user_name,
                            "Arn": r.arn,
                            "AccessKeyId": r.access_key_id,
                            "Status": "Active",
                            "CreateDate": r.created_date,
                            "Policies": r.policies.len(),
                        })
                    })
                    .collect();
                print_json(&serde_json::json!({ "AccessKeys": keys }));
            }
            CredentialsCommand::Delete { access_key_id } => target.delete(&access_key_id).await?,
        }
        Ok(())
    })
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// The data dir itself, or the server that holds it.
enum Target {
    Store(Arc<dyn tollgate_store::Store>),
    Server {
        admin: AdminFile,
        client: Box<tollgate_gateway::integration::BackendClient>,
    },
}

impl Target {
    fn open(data_dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("data dir {} is unusable: {e}", data_dir.display()))?;
        match tollgate_store::SqliteStore::open(data_dir) {
            Ok(store) => Ok(Self::Store(Arc::new(store))),
            Err(e) => {
                let path = data_dir.join(ADMIN_FILE);
                let text = std::fs::read_to_string(&path)
                    .map_err(|_| format!("data dir {} is unusable: {e}", data_dir.display()))?;
                let admin: AdminFile =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                let client = Box::new(
                    tollgate_gateway::integration::BackendClient::new()
                        .map_err(|e| e.to_string())?,
                );
                Ok(Self::Server { admin, client })
            }
        }
    }

    async fn create(&self, account_id: &str, new: NewAccessKey) -> Result<AccessKeyRecord, String> {
        match self {
            Self::Store(store) => tollgate_admin::credentials::create(&**store, account_id, new)
                .await
                .map_err(|e| e.to_string()),
            Self::Server { .. } => {
                let body = serde_json::to_vec(&CreateRequest {
                    user_name: new.user_name,
                    policies: new.policies,
                    access_key_id: new.access_key_id,
                    secret_access_key: new.secret_access_key,
                })
                .map_err(|e| e.to_string())?;
                let answer = self.call("POST", "", body).await?;
                serde_json::from_slice(&answer).map_err(|e| e.to_string())
            }
        }
    }

    async fn list(&self) -> Result<Vec<AccessKeyRecord>, String> {
        match self {
            Self::Store(store) => tollgate_admin::credentials::list(&**store)
                .await
                .map_err(|e| e.to_string()),
            Self::Server { .. } => {
                let answer = self.call("GET", "", Vec::new()).await?;
                serde_json::from_slice(&answer).map_err(|e| e.to_string())
            }
        }
    }

    async fn delete(&self, access_key_id: &str) -> Result<(), String> {
        match self {
            Self::Store(store) => tollgate_admin::credentials::delete(&**store, access_key_id)
                .await
                .map_err(|e| e.to_string()),
            Self::Server { .. } => {
                let id = tollgate_iam::sigv4::encoding::uri_encode(access_key_id, false);
                self.call("DELETE", &format!("/{id}"), Vec::new())
                    .await
                    .map(drop)
            }
        }
    }

    /// A call to the running server's `/_tollgate/credentials{suffix}`; `Err` with the
    /// server's message when it refuses.
    async fn call(&self, method: &str, suffix: &str, body: Vec<u8>) -> Result<Bytes, String> {
        let Self::Server { admin, client } = self else {
            return Err("no server".into());
        };
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}/_tollgate/credentials{suffix}", admin.url))
            .header(TOKEN_HEADER, &admin.token)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = client
            .client(false)
            .request(request)
            .await
            .map_err(|e| format!("the running server at {} did not answer: {e}", admin.url))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        Err(message)
    }
}
