//! Accord's CDN: an HTTP server (axum) that serves uploaded files from the configured storage
//! (local disk or S3, `accord-blobs`) under Discord's URL scheme, so clients that build CDN URLs
//! themselves find them: `/attachments/{channel_id}/{attachment_id}/{filename}` and
//! `/emojis/{emoji_id}.{ext}`, and the default avatars `/embed/avatars/{n}.png` (drawn at startup).
//!
//! Every file answer carries the content type sniffed from its bytes (never its extension), an
//! entity tag (`If-None-Match` → 304), byte ranges (206/416), `Cache-Control: immutable` (these
//! URLs never change content), `X-Content-Type-Options: nosniff` and a sandboxing CSP;
//! anything but images, audio, video and plain text is sent as a download
//! (`Content-Disposition: attachment`), and HTML, XML and SVG are never rendered. Errors are
//! Discord-shaped JSON bodies.

mod assets;
mod defaults;
mod error;
mod media;
mod respond;
mod routes;
mod signed;

use std::future::Future;

use accord_blobs::Blobs;
use axum::Router;
use tower_http::trace::TraceLayer;

pub use error::CdnError;
pub use signed::SignedUrls;

/// What the handlers share (cheap to clone).
#[derive(Debug, Clone)]
pub struct CdnState {
    /// Where the files are.
    pub blobs: Blobs,
    /// Limits and slots for resizing and converting images.
    pub rendering: assets::Rendering,
    /// Signed attachment URLs (`cdn.signed_urls`); the key comes from [`CdnState::with_url_key`].
    pub signed_urls: SignedUrls,
}

impl CdnState {
    /// The state for serving `blobs` as `config` says.
    pub fn new(config: &accord_config::Config, blobs: Blobs) -> Self {
        let images = &config.cdn.images;
        let limits = accord_media::Limits {
            max_bytes: usize::try_from(images.max_upload_bytes).unwrap_or(usize::MAX),
            max_pixels: images.max_pixels,
            max_frames: images.max_frames,
            max_animation_pixels: images.max_animation_pixels,
        };
        Self {
            blobs,
            rendering: assets::Rendering::new(limits),
            signed_urls: SignedUrls::from_config(config),
        }
    }
}

/// The CDN's HTTP application.
pub fn router(state: CdnState) -> Router {
    routes::routes()
        .merge(assets::routes())
        .fallback(|| async { CdnError::NotFound })
        .method_not_allowed_fallback(|| async { CdnError::MethodNotAllowed })
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}

/// Serves the CDN on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: CdnState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address is what signed URLs bound to one client are checked against.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
