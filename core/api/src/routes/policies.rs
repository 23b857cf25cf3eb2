//! `GET /policies/instance` and `/policies/instance/domains`: what the instance is and where its
//! API, gateway and CDN live (read by clients that connect to several instances).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Public facts about the instance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstancePolicies {
    /// The instance's name.
    pub instance_name: String,
    /// Its description.
    pub instance_description: String,
    /// Registration mode: `open`, `closed` or `invite_only`.
    pub registration: String,
    /// Whether registering needs an e-mail address.
    pub require_email: bool,
    /// Whether registering needs a date of birth.
    pub require_date_of_birth: bool,
    /// Minimum age (0 = none).
    pub min_age: u8,
}

/// Where the services are.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDomains {
    /// The CDN's base URL.
    pub cdn: String,
    /// The gateway's URL.
    pub gateway: String,
    /// The API version clients should use.
    pub default_api_version: String,
    /// The API's base URL (with `/api`).
    pub api_endpoint: String,
}

/// Instance information.
#[utoipa::path(get, path = "/policies/instance", tag = "instance", responses((status = 200, body = InstancePolicies)))]
pub async fn instance(State(state): State<AppState>) -> axum::Json<InstancePolicies> {
    let c = &state.config;
    let registration = serde_json::to_value(c.register.mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    axum::Json(InstancePolicies {
        instance_name: c.instance.name.clone(),
        instance_description: c.instance.description.clone(),
        registration,
        require_email: c.register.require_email,
        require_date_of_birth: c.register.require_date_of_birth,
        min_age: c.register.min_age,
    })
}

/// Service locations.
#[utoipa::path(get, path = "/policies/instance/domains", tag = "instance", responses((status = 200, body = InstanceDomains)))]
pub async fn domains(State(state): State<AppState>) -> axum::Json<InstanceDomains> {
    let c = &state.config;
    axum::Json(InstanceDomains {
        cdn: c.cdn_public_url(),
        gateway: c.gateway_public_url(),
        default_api_version: "10".to_owned(),
        api_endpoint: format!("{}/api", c.api_public_url()),
    })
}
