//! Route responses (`/routes/{routeId}/routeresponses`) and integration responses
//! (`/integrations/{integrationId}/integrationresponses`) of WebSocket APIs: documents that
//! belong to a route or an integration. One set of handlers serves both through [`Response`];
//! each change auto-deploys like any other change to the API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response as HttpResponse;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_model::ModelError;
use tollgate_model::layout::{V2_INTEGRATION_RESPONSE, V2_ROUTE_RESPONSE};
use tollgate_model::v2::{
    IntegrationResponse, IntegrationResponseInput, IntegrationResponseRecord, RouteResponse,
    RouteResponseInput, RouteResponseRecord,
};
use tollgate_store::Key;

use super::repo::{Change, Contents};
use crate::AppState;
use crate::apigateway::repo::{Versioned, retry};
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

/// A kind of response that belongs to a parent (a route or an integration).
pub trait Response: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    type Item: Serialize + Clone + Send + Sync + 'static;
    type Input: DeserializeOwned + Send + Sync + 'static;
    const KIND: &'static str;
    const LABEL: &'static str;
    fn wrap(parent_id: &str, item: Self::Item) -> Self;
    fn parent_id(&self) -> &str;
    fn item(&self) -> &Self::Item;
    fn id(&self) -> &str;
    fn key(&self) -> &str;
    fn create(input: &Self::Input, id: String) -> Result<Self::Item, ModelError>;
    fn updated(item: &Self::Item, input: &Self::Input) -> Result<Self::Item, ModelError>;
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>>;
    /// The parent must exist (a NotFoundException otherwise).
    fn check_parent(contents: &Contents, parent_id: &str) -> AdminResult<()>;
}

impl Response for RouteResponseRecord {
    type Item = RouteResponse;
    type Input = RouteResponseInput;
    const KIND: &'static str = V2_ROUTE_RESPONSE;
    const LABEL: &'static str = "route response";
    fn wrap(parent_id: &str, item: RouteResponse) -> Self {
        Self {
            route_id: parent_id.to_string(),
            route_response: item,
        }
    }
    fn parent_id(&self) -> &str {
        &self.route_id
    }
    fn item(&self) -> &RouteResponse {
        &self.route_response
    }
    fn id(&self) -> &str {
        &self.route_response.route_response_id
    }
    fn key(&self) -> &str {
        &self.route_response.route_response_key
    }
    fn create(input: &RouteResponseInput, id: String) -> Result<RouteResponse, ModelError> {
        RouteResponse::create(input, id)
    }
    fn updated(
        item: &RouteResponse,
        input: &RouteResponseInput,
    ) -> Result<RouteResponse, ModelError> {
        item.updated(input)
    }
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>> {
        &mut contents.route_responses
    }
    fn check_parent(contents: &Contents, parent_id: &str) -> AdminResult<()> {
        if contents
            .routes
            .iter()
            .any(|r| r.value.route_id == parent_id)
        {
            Ok(())
        } else {
            Err(AdminError::not_found(format!(
                "Invalid route identifier specified {parent_id}"
            )))
        }
    }
}

impl Response for IntegrationResponseRecord {
    type Item = IntegrationResponse;
    type Input = IntegrationResponseInput;
    const KIND: &'static str = V2_INTEGRATION_RESPONSE;
    const LABEL: &'static str = "integration response";
    fn wrap(parent_id: &str, item: IntegrationResponse) -> Self {
        Self {
            integration_id: parent_id.to_string(),
            integration_response: item,
        }
    }
    fn parent_id(&self) -> &str {
        &self.integration_id
    }
    fn item(&self) -> &IntegrationResponse {
        &self.integration_response
    }
    fn id(&self) -> &str {
        &self.integration_response.integration_response_id
    }
    fn key(&self) -> &str {
        &self.integration_response.integration_response_key
    }
    fn create(
        input: &IntegrationResponseInput,
        id: String,
    ) -> Result<IntegrationResponse, ModelError> {
        IntegrationResponse::create(input, id)
    }
    fn updated(
        item: &IntegrationResponse,
        input: &IntegrationResponseInput,
    ) -> Result<IntegrationResponse, ModelError> {
        item.updated(input)
    }
    fn all(contents: &mut Contents) -> &mut Vec<Versioned<Self>> {
        &mut contents.integration_responses
    }
    fn check_parent(contents: &Contents, parent_id: &str) -> AdminResult<()> {
        contents.integration(parent_id).map(|_| ())
    }
}

fn websocket_only(contents: &Contents) -> AdminResult<()> {
    if contents.api.value.protocol_type == "WEBSOCKET" {
        Ok(())
    } else {
        Err(AdminError::bad_request(
            "Route and integration responses are supported only for WEBSOCKET APIs",
        ))
    }
}

fn not_found<T: Response>(id: &str) -> AdminError {
    AdminError::not_found(format!("Invalid {} identifier specified {id}", T::LABEL))
}

fn position<T: Response>(contents: &mut Contents, parent: &str, id: &str) -> AdminResult<usize> {
    T::all(contents)
        .iter()
        .position(|r| r.value.parent_id() == parent && r.value.id() == id)
        .ok_or_else(|| not_found::<T>(id))
}

/// Keys are unique within one parent.
fn check_unique<T: Response>(contents: &mut Contents, record: &T) -> AdminResult<()> {
    let taken = T::all(contents).iter().any(|r| {
        r.value.parent_id() == record.parent_id()
            && r.value.key() == record.key()
            && r.value.id() != record.id()
    });
    if taken {
        return Err(AdminError::conflict(format!(
            "A {} with key {} already exists",
            T::LABEL,
            record.key()
        )));
    }
    Ok(())
}

pub async fn create<T: Response>(
    State(state): State<AppState>,
    Path((api_id, parent)): Path<(String, String)>,
    AwsJson(input): AwsJson<T::Input>,
) -> AdminResult<HttpResponse> {
    let created = retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        websocket_only(&contents)?;
        T::check_parent(&contents, &parent)?;
        let record = T::wrap(&parent, T::create(&input, tollgate_model::v2::child_id())?);
        check_unique(&mut contents, &record)?;
        T::all(&mut contents).push(Versioned {
            value: record.clone(),
            version: 0,
        });
        let mut change = Change::new(&contents, &contents.api.value);
        change
            .batch
            .create(Key::new(&api_id, T::KIND, record.id()), &record);
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await?;
        Ok(record.item().clone())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &created))
}

pub async fn get<T: Response>(
    State(state): State<AppState>,
    Path((api_id, parent, id)): Path<(String, String, String)>,
) -> AdminResult<HttpResponse> {
    let mut contents = Contents::read(&state.repo, &api_id).await?;
    T::check_parent(&contents, &parent)?;
    let at = position::<T>(&mut contents, &parent, &id)?;
    Ok(json(StatusCode::OK, T::all(&mut contents)[at].value.item()))
}

pub async fn list<T: Response>(
    State(state): State<AppState>,
    Path((api_id, parent)): Path<(String, String)>,
    query: QueryParams,
) -> AdminResult<HttpResponse> {
    let mut contents = Contents::read(&state.repo, &api_id).await?;
    T::check_parent(&contents, &parent)?;
    let items: Vec<T::Item> = T::all(&mut contents)
        .iter()
        .filter(|r| r.value.parent_id() == parent)
        .map(|r| r.value.item().clone())
        .collect();
    super::page(items, &query)
}

pub async fn update<T: Response>(
    State(state): State<AppState>,
    Path((api_id, parent, id)): Path<(String, String, String)>,
    AwsJson(input): AwsJson<T::Input>,
) -> AdminResult<HttpResponse> {
    let updated = retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        T::check_parent(&contents, &parent)?;
        let at = position::<T>(&mut contents, &parent, &id)?;
        let current = T::all(&mut contents)[at].clone();
        let next = T::wrap(&parent, T::updated(current.value.item(), &input)?);
        check_unique(&mut contents, &next)?;
        T::all(&mut contents)[at].value = next.clone();
        let mut change = Change::new(&contents, &contents.api.value);
        change
            .batch
            .put_versioned(Key::new(&api_id, T::KIND, &id), &next, current.version);
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await?;
        Ok(next.item().clone())
    })
    .await?;
    Ok(json(StatusCode::OK, &updated))
}

pub async fn delete<T: Response>(
    State(state): State<AppState>,
    Path((api_id, parent, id)): Path<(String, String, String)>,
) -> AdminResult<HttpResponse> {
    retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        T::check_parent(&contents, &parent)?;
        let at = position::<T>(&mut contents, &parent, &id)?;
        let current = T::all(&mut contents).remove(at);
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
