//! Where state lives: the store (SQLite in the data dir, or PostgreSQL) and the shared state
//! (in-process, or Redis). Both URLs given: cluster mode.

use std::sync::Arc;

use crate::config::Settings;

/// The store: PostgreSQL when a URL is configured (cluster mode), else SQLite in the data dir.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn tollgate_store::Store>, String> {
    match &settings.store {
        Some(url) => open_postgres(url, &settings.data_dir).await,
        None => Ok(Arc::new(
            tollgate_store::SqliteStore::open(&settings.data_dir).map_err(|e| {
                format!("data dir {} is unusable: {e}", settings.data_dir.display())
            })?,
        )),
    }
}

/// The PostgreSQL store at `url` (`postgres://...`); the data dir must exist, since it still
/// holds this node's logs, functions and admin file.
pub async fn open_postgres(
    url: &str,
    data_dir: &std::path::Path,
) -> Result<Arc<dyn tollgate_store::Store>, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "--store must be a postgres:// URL, got {}",
            redact(url)
        ));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("data dir {} is unusable: {e}", data_dir.display()))?;
    let store = tollgate_store::PostgresStore::connect(url)
        .await
        .map_err(|e| format!("store {}: {e}", redact(url)))?;
    tracing::info!(store = %redact(url), "state in PostgreSQL (cluster mode)");
    Ok(Arc::new(store))
}

/// Limits, quotas and WebSocket connections: in Redis when a URL is configured (cluster mode),
/// else in this process.
pub async fn open_shared(
    settings: &Settings,
) -> Result<Arc<dyn tollgate_shared::SharedState>, String> {
    match &settings.redis {
        Some((url, prefix)) => {
            let shared = tollgate_shared::RedisShared::connect(url, prefix)
                .await
                .map_err(|e| format!("shared state {}: {e}", redact(url)))?;
            tracing::info!(redis = %redact(url), prefix, node = shared.node_id(), "shared state in Redis (cluster mode)");
            Ok(shared)
        }
        None => Ok(Arc::new(tollgate_shared::InProcess::new())),
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => match rest.rsplit_once('@') {
            Some((user, host)) => {
                let user = user.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://user:s3cr@t@db:5432/x"),
            "postgres://user@db:5432/x"
        );
        assert_eq!(redact("redis://cache:6379"), "redis://cache:6379");
        assert_eq!(redact("postgres://u@db/x"), "postgres://u@db/x");
    }
}
