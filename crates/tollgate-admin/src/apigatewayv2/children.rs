//! Routes, integrations and authorizers: documents inside an API, created with a generated
//! id, read, listed with `nextToken`/`maxResults`, merged on update, deleted. One set of
//! handlers serves the three through [`Child`]; each change auto-deploys (see [`super::repo`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_model::ModelError;
use tollgate_model::layout::{V2_AUTHORIZER, V2_INTEGRATION, V2_MODEL, V2_ROUTE};
use tollgate_model::v2::{
    Authorizer, AuthorizerInput, Integration, IntegrationInput, Model, ModelInput, Route,
    RouteInput,
};
use tollgate_store::Key;

use super::repo::{Change, Contents};
use crate::AppState;
use crate::apigateway::repo::{Versioned, retry};
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

/// A kind of document inside an HTTP API.
pub trait Child: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    type Input: DeserializeOwned + Send + Sync + 'static;
    const KIND: &'static str;
    /// How AWS names it in messages (`Invalid route identifier specified`).
    const LABEL: &'static str;
    fn id(&self) -> &str;
    /// Made in an API of `protocol` (`HTTP` or `WEBSOCKET`).
    fn create(protocol: &str, input: &Self::Input, id: String) -> Result<Self, ModelError>;
    fn updated(&self, protocol: &str, input: &Self::Input) -> Result<Self, ModelError>;
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>>;
    /// Checks against the rest of the API, with `self` already in `contents`.
    fn check(&self, _contents: &Contents) -> AdminResult<()> {
        Ok(())
    }
    /// Whether it may be deleted (nothing refers to it).
    fn check_delete(&self, _contents: &Contents) -> AdminResult<()> {
        Ok(())
    }
}

impl Child for Route {
    type Input = RouteInput;
    const KIND: &'static str = V2_ROUTE;
    const LABEL: &'static str = "route";
    fn id(&self) -> &str {
        &self.route_id
    }
    fn create(_: &str, input: &RouteInput, id: String) -> Result<Self, ModelError> {
        Route::create(input, id)
    }
    fn updated(&self, _: &str, input: &RouteInput) -> Result<Self, ModelError> {
        Route::updated(self, input)
    }
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>> {
        &mut contents.routes
    }
    fn check(&self, contents: &Contents) -> AdminResult<()> {
        contents.check_route(self)
    }
}

impl Child for Integration {
    type Input = IntegrationInput;
    const KIND: &'static str = V2_INTEGRATION;
    const LABEL: &'static str = "integration";
    fn id(&self) -> &str {
        &self.integration_id
    }
    fn create(protocol: &str, input: &IntegrationInput, id: String) -> Result<Self, ModelError> {
        Integration::create_for(protocol, input, id)
    }
    fn updated(&self, protocol: &str, input: &IntegrationInput) -> Result<Self, ModelError> {
        Integration::updated_for(self, protocol, input)
    }
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>> {
        &mut contents.integrations
    }
}

impl Child for Authorizer {
    type Input = AuthorizerInput;
    const KIND: &'static str = V2_AUTHORIZER;
    const LABEL: &'static str = "authorizer";
    fn id(&self) -> &str {
        &self.authorizer_id
    }
    fn create(protocol: &str, input: &AuthorizerInput, id: String) -> Result<Self, ModelError> {
        Authorizer::create_for(protocol, input, id)
    }
    fn updated(&self, protocol: &str, input: &AuthorizerInput) -> Result<Self, ModelError> {
        Authorizer::updated_for(self, protocol, input)
    }
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>> {
        &mut contents.authorizers
    }
    fn check(&self, contents: &Contents) -> AdminResult<()> {
        // A route using it must still find the type it expects.
        for route in contents
            .routes
            .iter()
            .filter(|r| r.value.authorizer_id.as_deref() == Some(&self.authorizer_id))
        {
            contents.check_route(&route.value)?;
        }
        Ok(())
    }
    fn check_delete(&self, contents: &Contents) -> AdminResult<()> {
        match contents
            .routes
            .iter()
            .find(|r| r.value.authorizer_id.as_deref() == Some(&self.authorizer_id))
        {
            Some(route) => Err(AdminError::bad_request(format!(
                "Cannot delete authorizer '{}', is referenced in route: {}",
                self.name, route.value.route_key
            ))),
            None => Ok(()),
        }
    }
}

impl Child for Model {
    type Input = ModelInput;
    const KIND: &'static str = V2_MODEL;
    const LABEL: &'static str = "model";
    fn id(&self) -> &str {
        &self.model_id
    }
    fn create(_: &str, input: &ModelInput, id: String) -> Result<Self, ModelError> {
        Model::create(input, id)
    }
    fn updated(&self, _: &str, input: &ModelInput) -> Result<Self, ModelError> {
        Model::updated(self, input)
    }
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>> {
        &mut contents.models
    }
    fn check(&self, contents: &Contents) -> AdminResult<()> {
        if contents
            .models
            .iter()
            .any(|m| m.value.name == self.name && m.value.model_id != self.model_id)
        {
            return Err(AdminError::conflict(format!(
                "Model name already exists for this API: {}",
                self.name
            )));
        }
        Ok(())
    }
}

fn not_found<T: Child>(id: &str) -> AdminError {
    AdminError::not_found(format!("Invalid {} identifier specified {id}", T::LABEL))
}

fn position<T: Child>(contents: &mut Contents, id: &str) -> AdminResult<usize> {
    T::all(contents)
        .iter()
        .position(|c| c.value.id() == id)
        .ok_or_else(|| not_found::<T>(id))
}

pub async fn create<T: Child>(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<T::Input>,
) -> AdminResult<Response> {
    let created = retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        let protocol = contents.api.value.protocol_type.clone();
        let item = T::create(&protocol, &input, tollgate_model::v2::child_id())?;
        T::all(&mut contents).push(Versioned {
            value: item.clone(),
            version: 0,
        });
        item.check(&contents)?;
        let mut change = Change::new(&contents, &contents.api.value);
        change
            .batch
            .create(Key::new(&api_id, T::KIND, item.id()), &item);
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await?;
        Ok(item)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &created))
}

pub async fn get<T: Child>(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    super::repo::api(&state.repo, &api_id).await?;
    let item = state
        .repo
        .get::<T>(&Key::new(&api_id, T::KIND, &id))
        .await?
        .ok_or_else(|| not_found::<T>(&id))?;
    Ok(json(StatusCode::OK, &item.value))
}

pub async fn list<T: Child>(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    super::repo::api(&state.repo, &api_id).await?;
    let items: Vec<T> = state
        .repo
        .list::<T>(&api_id, T::KIND)
        .await?
        .into_iter()
        .map(|c| c.value)
        .collect();
    super::page(items, &query)
}

pub async fn update<T: Child>(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
    AwsJson(input): AwsJson<T::Input>,
) -> AdminResult<Response> {
    let updated = retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        let at = position::<T>(&mut contents, &id)?;
        let current = T::all(&mut contents)[at].clone();
        let protocol = contents.api.value.protocol_type.clone();
        let next = current.value.updated(&protocol, &input)?;
        T::all(&mut contents)[at].value = next.clone();
        next.check(&contents)?;
        let mut change = Change::new(&contents, &contents.api.value);
        change
            .batch
            .put_versioned(Key::new(&api_id, T::KIND, &id), &next, current.version);
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await?;
        Ok(next)
    })
    .await?;
    Ok(json(StatusCode::OK, &updated))
}

pub async fn delete<T: Child>(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        let at = position::<T>(&mut contents, &id)?;
        let current = T::all(&mut contents).remove(at);
        current.value.check_delete(&contents)?;
        let mut change = Change::new(&contents, &contents.api.value);
        change
            .batch
            .delete(Key::new(&api_id, T::KIND, &id), current.version);
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
