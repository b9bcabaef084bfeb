//! Managed credentials in the store: create, list and delete IAM users' access keys
//! (see [`tollgate_model::iam`] for the layout). `tollgate credentials ...` calls these.

use tollgate_model::iam::{AccessKeyRecord, SCOPE, valid_access_key_id, valid_user_name};
use tollgate_model::layout::ACCESS_KEY;
use tollgate_store::{Expect, Key, Store, Write};

use crate::error::{AdminError, AdminResult};

/// What `create` needs; the key pair is generated unless given.
#[derive(Debug, Clone, Default)]
pub struct NewAccessKey {
    pub user_name: String,
    /// Identity policy documents (JSON text) attached to the user.
    pub policies: Vec<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Stores a new access key; refuses an id that exists, a bad name or a policy that does not
/// compile.
pub async fn create(
    store: &dyn Store,
    account_id: &str,
    new: NewAccessKey,
) -> AdminResult<AccessKeyRecord> {
    if !valid_user_name(&new.user_name) {
        return Err(AdminError::Validation(format!(
            "Invalid user name {:?}: 1 to 64 of A-Z a-z 0-9 and +=,.@_-",
            new.user_name
        )));
    }
    for policy in &new.policies {
        tollgate_iam::policy::Policy::parse(policy)
            .map_err(|e| AdminError::Validation(format!("MalformedPolicyDocument: {e}")))?;
    }
    let access_key_id = match new.access_key_id {
        Some(id) if valid_access_key_id(&id) => id,
        Some(id) => {
            return Err(AdminError::Validation(format!(
                "Invalid access key id {id:?}: 16 to 128 of A-Z a-z 0-9"
            )));
        }
        None => new_access_key_id()?,
    };
    let secret_access_key = match new.secret_access_key {
        Some(secret) if !secret.is_empty() && secret.is_ascii() => secret,
        Some(_) => {
            return Err(AdminError::Validation(
                "The secret access key must be non-empty ASCII".into(),
            ));
        }
        None => new_secret_access_key()?,
    };
    let record = AccessKeyRecord {
        arn: tollgate_iam::user_arn(account_id, &new.user_name),
        access_key_id,
        secret_access_key,
        user_name: new.user_name,
        account_id: account_id.to_string(),
        policies: new.policies,
        created_date: tollgate_model::now_epoch_seconds(),
    };
    let body = serde_json::to_value(&record).map_err(|e| AdminError::bad_request(e.to_string()))?;
    let key = Key::new(SCOPE, ACCESS_KEY, record.access_key_id.clone());
    match store
        .commit(vec![Write::put(key, body, Expect::Absent)])
        .await
    {
        Ok(_) => Ok(record),
        Err(tollgate_store::StoreError::Conflict { .. }) => Err(AdminError::conflict(format!(
            "Access key {} already exists.",
            record.access_key_id
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Every stored access key (unreadable documents are skipped with an error log).
pub async fn list(store: &dyn Store) -> AdminResult<Vec<AccessKeyRecord>> {
    Ok(store
        .list(SCOPE, ACCESS_KEY)
        .await?
        .into_iter()
        .filter_map(|doc| match serde_json::from_value(doc.body) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!(id = doc.id, error = %e, "stored access key is unreadable");
                None
            }
        })
        .collect())
}

/// Deletes an access key.
pub async fn delete(store: &dyn Store, access_key_id: &str) -> AdminResult<()> {
    let key = Key::new(SCOPE, ACCESS_KEY, access_key_id);
    let Some(doc) = store.get(&key).await? else {
        return Err(AdminError::not_found(format!(
            "The Access Key with id {access_key_id} cannot be found."
        )));
    };
    store
        .commit(vec![Write::delete(key, Expect::Version(doc.version))])
        .await?;
    Ok(())
}

/// `AKIA` and 16 characters of `A-Z2-7`, from the operating system's random source.
fn new_access_key_id() -> AdminResult<String> {
    Ok(format!(
        "AKIA{}",
        random_text(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")?
    ))
}

/// 40 characters of base64's alphabet, from the operating system's random source.
fn new_secret_access_key() -> AdminResult<String> {
    random_text(
        40,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    )
}

fn random_text(len: usize, alphabet: &[u8]) -> AdminResult<String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)
        .map_err(|e| AdminError::Unavailable(format!("no random source: {e}")))?;
    // Both alphabets have a power-of-two length, so the modulo is unbiased.
    Ok(bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_list_delete() {
        let store = tollgate_store::SqliteStore::in_memory().unwrap();
        let created = create(
            &store,
            "123456789012",
            NewAccessKey {
                user_name: "alice".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(created.access_key_id.starts_with("AKIA") && created.access_key_id.len() == 20);
        assert_eq!(created.secret_access_key.len(), 40);
        assert_eq!(created.arn, "arn:aws:iam::123456789012:user/alice");
        let given = NewAccessKey {
            user_name: "bob".into(),
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
            secret_access_key: Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            policies: vec![
                r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#.into(),
            ],
        };
        create(&store, "123456789012", given.clone()).await.unwrap();
        assert!(matches!(
            create(&store, "123456789012", given).await,
            Err(AdminError::Conflict(_))
        ));
        let bad_policy = NewAccessKey {
            user_name: "carol".into(),
            policies: vec!["{}".into()],
            ..Default::default()
        };
        assert!(matches!(
            create(&store, "123456789012", bad_policy).await,
            Err(AdminError::Validation(_))
        ));
        let bad_name = NewAccessKey {
            user_name: "a/b".into(),
            ..Default::default()
        };
        assert!(create(&store, "123456789012", bad_name).await.is_err());
        let all = list(&store).await.unwrap();
        assert_eq!(all.len(), 2);
        delete(&store, "AKIAIOSFODNN7EXAMPLE").await.unwrap();
        assert!(matches!(
            delete(&store, "AKIAIOSFODNN7EXAMPLE").await,
            Err(AdminError::NotFound(_))
        ));
        assert_eq!(list(&store).await.unwrap().len(), 1);
    }
}

/// The header that carries the running server's admin token (see [`routes`]).
pub const TOKEN_HEADER: &str = "x-tollgate-admin-token";

/// `tollgate credentials` while a server holds the data dir: `GET` / `POST
/// /_tollgate/credentials` and `DELETE /_tollgate/credentials/{id}`, for loopback clients
/// (the lock sees to that) that show the token the server wrote under its data dir, so
/// only who can read the data dir (and its database) can manage credentials.
pub fn routes(store: std::sync::Arc<dyn Store>, account_id: &str, token: String) -> axum::Router {
    use axum::routing::{delete, get};
    let state = Endpoint {
        store,
        account_id: account_id.into(),
        token: token.into(),
    };
    axum::Router::new()
        .route("/_tollgate/credentials", get(list_route).post(create_route))
        .route("/_tollgate/credentials/{id}", delete(delete_route))
        .with_state(state)
}

#[derive(Clone)]
struct Endpoint {
    store: std::sync::Arc<dyn Store>,
    account_id: std::sync::Arc<str>,
    token: std::sync::Arc<str>,
}

impl Endpoint {
    fn check(&self, headers: &axum::http::HeaderMap) -> AdminResult<()> {
        let given = headers
            .get(TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        let wanted = self.token.as_bytes();
        let same = given.len() == wanted.len()
            && given
                .iter()
                .zip(wanted)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(AdminError::AccessDenied(format!(
                "Missing or wrong {TOKEN_HEADER}: it is in the server's data dir."
            )))
        }
    }
}

/// The body of `POST /_tollgate/credentials`.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest {
    pub user_name: String,
    #[serde(default)]
    pub policies: Vec<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

async fn create_route(
    axum::extract::State(endpoint): axum::extract::State<Endpoint>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AdminResult<axum::response::Response> {
    endpoint.check(&headers)?;
    let request: CreateRequest = serde_json::from_slice(&body)
        .map_err(|e| AdminError::bad_request(format!("Invalid request body: {e}")))?;
    let new = NewAccessKey {
        user_name: request.user_name,
        policies: request.policies,
        access_key_id: request.access_key_id,
        secret_access_key: request.secret_access_key,
    };
    let record = create(&*endpoint.store, &endpoint.account_id, new).await?;
    Ok(crate::wire::json(axum::http::StatusCode::CREATED, &record))
}

async fn list_route(
    axum::extract::State(endpoint): axum::extract::State<Endpoint>,
    headers: axum::http::HeaderMap,
) -> AdminResult<axum::response::Response> {
    endpoint.check(&headers)?;
    let all = list(&*endpoint.store).await?;
    Ok(crate::wire::json(axum::http::StatusCode::OK, &all))
}

async fn delete_route(
    axum::extract::State(endpoint): axum::extract::State<Endpoint>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> AdminResult<axum::http::StatusCode> {
    endpoint.check(&headers)?;
    delete(&*endpoint.store, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
