//! Documents inside a REST API that are created, read, listed, patched and deleted the same
//! way: request validators, models, authorizers and documentation parts. One set of handlers
//! serves them through [`Child`]; what differs by kind (AWS's messages, what counts as taken,
//! list filters, in-use checks) is in its impl.

use std::future::Future;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_model::rest::{
    Authorizer, CreateAuthorizer, CreateDocumentationPart, CreateModel, CreateRequestValidator,
    DocumentationPart, Model, RequestValidator,
};
use tollgate_model::{PatchOperation, ids};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{AUTHORIZER, Batch, DOCUMENTATION_PART, MODEL, VALIDATOR, Versioned, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

/// A kind of document inside a REST API.
pub trait Child: Serialize + DeserializeOwned + Send + Sync + 'static {
    type Input: DeserializeOwned + Send + 'static;
    const KIND: &'static str;
    /// AWS's conflict message when [`Child::taken`] finds one.
    const TAKEN: &'static str;
    /// AWS's message for an `id` that names none.
    fn not_found(id: &str) -> AdminError;
    /// The key under the API (a generated id, or the model's name).
    fn key(&self) -> &str;
    fn create(input: Self::Input) -> AdminResult<Self>;
    fn patched(&self, ops: &[PatchOperation]) -> AdminResult<Self>;
    /// Whether `self` may not be created because of what the API already holds: by default,
    /// one with the same id (ids are random, so only on a collision).
    fn taken(
        &self,
        state: &AppState,
        api_id: &str,
    ) -> impl Future<Output = AdminResult<bool>> + Send {
        async move {
            let key = Key::new(api_id, Self::KIND, self.key());
            Ok(state.repo.store().get(&key).await?.is_some())
        }
    }
    /// Whether a list request's filters keep it.
    fn listed(&self, _query: &QueryParams) -> bool {
        true
    }
    /// Refuses a delete while something in the API still uses it.
    fn check_delete(
        &self,
        _state: &AppState,
        _api_id: &str,
    ) -> impl Future<Output = AdminResult<()>> + Send {
        async { Ok(()) }
    }
}

/// The routes of a kind's collection: Create and Get(s).
pub fn collection<T: Child>() -> MethodRouter<AppState> {
    post(create::<T>).get(list::<T>)
}

/// The routes of one of a kind: Get, Update and Delete.
pub fn item<T: Child>() -> MethodRouter<AppState> {
    get(get_one::<T>).patch(update::<T>).delete(delete::<T>)
}

async fn create<T: Child>(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<T::Input>,
) -> AdminResult<Response> {
    let child = T::create(input)?;
    retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        if child.taken(&state, &api_id).await? {
            return Err(AdminError::conflict(T::TAKEN));
        }
        let mut batch = Batch::for_api(&api);
        batch.create(Key::new(&api_id, T::KIND, child.key()), &child);
        state.repo.commit(batch).await.map(|_| ())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &child))
}

/// The one with `id` inside the API, or AWS's not-found for its kind.
pub(super) async fn read<T: Child>(
    state: &AppState,
    api_id: &str,
    id: &str,
) -> AdminResult<Versioned<T>> {
    state
        .repo
        .get::<T>(&Key::new(api_id, T::KIND, id))
        .await?
        .ok_or_else(|| T::not_found(id))
}

async fn get_one<T: Child>(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let child = read::<T>(&state, &api_id, &id).await?;
    Ok(json(StatusCode::OK, &child.value))
}

async fn list<T: Child>(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let items: Vec<T> = state
        .repo
        .list::<T>(&api_id, T::KIND)
        .await?
        .into_iter()
        .map(|c| c.value)
        .filter(|c| c.listed(&query))
        .collect();
    Ok(json(StatusCode::OK, &paginate(items, &query)?))
}

async fn update<T: Child>(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let child = state
        .repo
        .update_in_api(
            &api_id,
            T::KIND,
            &id,
            || T::not_found(&id),
            |c: &T| c.patched(&body.patch_operations),
        )
        .await?;
    Ok(json(StatusCode::OK, &child))
}

async fn delete<T: Child>(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let current = read::<T>(&state, &api_id, &id).await?;
        current.value.check_delete(&state, &api_id).await?;
        let mut batch = Batch::for_api(&api);
        batch.delete(Key::new(&api_id, T::KIND, &id), current.version);
        state.repo.commit(batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

impl Child for RequestValidator {
    type Input = CreateRequestValidator;
    const KIND: &'static str = VALIDATOR;
    const TAKEN: &'static str = "Request validator id collision; please retry";
    fn not_found(_: &str) -> AdminError {
        AdminError::not_found("Invalid Request Validator identifier specified")
    }
    fn key(&self) -> &str {
        &self.id
    }
    fn create(input: CreateRequestValidator) -> AdminResult<Self> {
        Ok(RequestValidator::create(ids::short_id(), input)?)
    }
    fn patched(&self, ops: &[PatchOperation]) -> AdminResult<Self> {
        Ok(RequestValidator::patched(self, ops)?)
    }
}

impl Child for Model {
    type Input = CreateModel;
    const KIND: &'static str = MODEL;
    const TAKEN: &'static str = "Model name already exists for this REST API";
    fn not_found(name: &str) -> AdminError {
        AdminError::not_found(format!("Invalid model name specified: {name}"))
    }
    fn key(&self) -> &str {
        &self.name
    }
    fn create(input: CreateModel) -> AdminResult<Self> {
        Ok(Model::create(ids::short_id(), input)?)
    }
    fn patched(&self, ops: &[PatchOperation]) -> AdminResult<Self> {
        Ok(Model::patched(self, ops)?)
    }
    async fn check_delete(&self, state: &AppState, api_id: &str) -> AdminResult<()> {
        match super::models::first_user(state, api_id, &self.name).await? {
            Some(user) => Err(AdminError::conflict(format!(
                "Cannot delete model '{}', is referenced in {user}",
                self.name
            ))),
            None => Ok(()),
        }
    }
}

impl Child for Authorizer {
    type Input = CreateAuthorizer;
    const KIND: &'static str = AUTHORIZER;
    const TAKEN: &'static str = "Authorizer id collision; please retry";
    fn not_found(_: &str) -> AdminError {
        AdminError::not_found("Invalid Authorizer identifier specified")
    }
    fn key(&self) -> &str {
        &self.id
    }
    fn create(input: CreateAuthorizer) -> AdminResult<Self> {
        Ok(Authorizer::create(ids::short_id(), input)?)
    }
    fn patched(&self, ops: &[PatchOperation]) -> AdminResult<Self> {
        Ok(Authorizer::patched(self, ops)?)
    }
    async fn check_delete(&self, state: &AppState, api_id: &str) -> AdminResult<()> {
        super::authorizers::check_unused(state, api_id, &self.id).await
    }
}

impl Child for DocumentationPart {
    type Input = CreateDocumentationPart;
    const KIND: &'static str = DOCUMENTATION_PART;
    const TAKEN: &'static str = "Documentation part already exists for the specified location";
    fn not_found(_: &str) -> AdminError {
        AdminError::not_found("Invalid Documentation part identifier specified")
    }
    fn key(&self) -> &str {
        &self.id
    }
    fn create(input: CreateDocumentationPart) -> AdminResult<Self> {
        Ok(DocumentationPart::create(ids::short_id(), input)?)
    }
    fn patched(&self, ops: &[PatchOperation]) -> AdminResult<Self> {
        Ok(DocumentationPart::patched(self, ops)?)
    }
    /// One part per location.
    async fn taken(&self, state: &AppState, api_id: &str) -> AdminResult<bool> {
        let parts = state
            .repo
            .list::<DocumentationPart>(api_id, DOCUMENTATION_PART)
            .await?;
        Ok(parts.iter().any(|p| p.value.location == self.location))
    }
    /// GetDocumentationParts filters by `type`, `path` and `name` (a substring of the name).
    fn listed(&self, query: &QueryParams) -> bool {
        let location = &self.location;
        query.get("type").is_none_or(|t| location.part_type == t)
            && query
                .get("path")
                .is_none_or(|p| location.path.as_deref() == Some(p))
            && query
                .get("name")
                .is_none_or(|n| location.name.as_deref().is_some_and(|m| m.contains(n)))
    }
}
