//! Applications that receive interactions over HTTP (`interactions_endpoint_url`): each
//! interaction is POSTed there as JSON signed with the application's Ed25519 key
//! (`X-Signature-Ed25519` over `X-Signature-Timestamp` + body; the public half is the
//! application's `verify_key`), and the answer is read as the interaction's callback. Setting the
//! URL verifies it as Discord does: a signed PING must get a PONG, and a PING with a bad
//! signature must be refused with 401. Addresses are checked where the connection is made (the
//! remote-image resolver), so non-public ones are refused unless
//! `interactions.endpoint_allow_private_addresses` is on.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use accord_model::{ApplicationId, Interaction, InteractionId, InteractionType, Permissions};
use accord_store::ApplicationRecord;
use bytes::Bytes;
use ed25519_dalek::{Signer, SigningKey};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::{ApiError, ApiResult};
use crate::services::remote_images::{PublicOnly, check_url};
use crate::state::AppState;

/// Largest answer read from an endpoint.
const MAX_ANSWER_BYTES: usize = 1 << 20;

type EndpointClient = Client<HttpsConnector<HttpConnector<PublicOnly>>, Full<Bytes>>;

static CLIENTS: OnceLock<[Result<EndpointClient, String>; 2]> = OnceLock::new();

fn build(allow_private: bool) -> Result<EndpointClient, String> {
    let mut http = HttpConnector::new_with_resolver(PublicOnly::new(allow_private));
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| format!("cannot load the system's trusted certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

fn client(allow_private: bool) -> Result<&'static EndpointClient, String> {
    let clients = CLIENTS.get_or_init(|| [build(false), build(true)]);
    clients[usize::from(allow_private)]
        .as_ref()
        .map_err(Clone::clone)
}

/// An endpoint's answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Bytes,
}

/// POSTs `body` to `url` signed with `key` (or, with `tamper`, with a signature that does not
/// verify), within the configured time.
pub async fn post(
    state: &AppState,
    url: &str,
    key: &SigningKey,
    body: Vec<u8>,
    tamper: bool,
) -> Result<Answer, String> {
    let allow_private = state.config.interactions.endpoint_allow_private_addresses;
    let uri = check_url(url, allow_private).map_err(|e| e.to_string())?;
    let client = client(allow_private)?;
    let timestamp = (accord_auth::now_ms() / 1000).to_string();
    let mut signed = timestamp.clone().into_bytes();
    signed.extend_from_slice(&body);
    let mut signature = key.sign(&signed).to_bytes();
    if tamper {
        signature[0] ^= 0xff;
    }
    let req = http::Request::post(uri)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            "Discord-Interactions/1.0 (+https://discord.com)",
        )
        .header("x-signature-ed25519", hex::encode(signature))
        .header("x-signature-timestamp", timestamp)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let limit = Duration::from_secs(state.config.interactions.endpoint_timeout_secs);
    let work = async {
        let resp = client.request(req).await.map_err(|e| {
            if format!("{e:?}").contains("no public address") {
                "the host has no public address".to_owned()
            } else {
                e.to_string()
            }
        })?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > MAX_ANSWER_BYTES {
                    return Err("the answer is too large".to_owned());
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(Answer {
            status,
            body: Bytes::from(out),
        })
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

/// The application's signing key.
pub async fn signing_key(state: &AppState, app: ApplicationId) -> ApiResult<SigningKey> {
    let hex_key = state
        .store
        .application_signing_key(app)
        .await?
        .ok_or(ApiError::Unknown(crate::error::Unknown::Application))?;
    let bytes: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::Internal(format!("application {app}: bad signing key")))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Checks `url` as the interactions endpoint of `app`: a signed PING must be answered 200 with
/// `{"type": 1}`, and a PING with a bad signature refused with 401.
pub async fn verify(state: &AppState, app: &ApplicationRecord, url: &str) -> ApiResult<()> {
    let invalid = |why: String| {
        tracing::info!("application {}: endpoint {url} not accepted: {why}", app.id);
        ApiError::field(
            &["interactions_endpoint_url"],
            "APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID",
            "The specified interactions endpoint url could not be verified.",
        )
    };
    check_url(
        url,
        state.config.interactions.endpoint_allow_private_addresses,
    )
    .map_err(|e| invalid(e.to_string()))?;
    let key = signing_key(state, app.application_id()).await?;
    let ping = |id: InteractionId| {
        serde_json::to_vec(&Interaction {
            id,
            application_id: app.application_id(),
            kind: InteractionType::Ping,
            data: None,
            guild_id: None,
            guild: None,
            channel: None,
            channel_id: None,
            member: None,
            user: None,
            token: hex::encode(rand::random::<[u8; 32]>()),
            version: 1,
            message: None,
            app_permissions: Permissions::empty(),
            locale: None,
            guild_locale: None,
            entitlements: Vec::new(),
            authorizing_integration_owners: BTreeMap::new(),
            context: None,
            attachment_size_limit: state.config.limits.attachment_size_bytes,
        })
        .map_err(|e| ApiError::Internal(e.to_string()))
    };
    let answer = post(state, url, &key, ping(state.ids.next())?, false)
        .await
        .map_err(invalid)?;
    let pong =
        serde_json::from_slice::<serde_json::Value>(&answer.body).is_ok_and(|v| v["type"] == 1);
    if answer.status != 200 || !pong {
        return Err(invalid(format!(
            "a signed PING got {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        )));
    }
    let answer = post(state, url, &key, ping(state.ids.next())?, true)
        .await
        .map_err(invalid)?;
    if answer.status != 401 {
        return Err(invalid(format!(
            "a PING with a bad signature got {} instead of 401",
            answer.status
        )));
    }
    Ok(())
}
