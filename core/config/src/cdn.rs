//! The `[cdn]` section and its sub-sections: where the content server listens, how it signs
//! attachment URLs, what images it accepts, and where uploads are stored (local disk or S3).
//!
//! Every field's `///` comment is copied into the generated sample file (`accord config sample`),
//! so it is written for the person running the server, not for the programmer.

use std::net::SocketAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lenient;
use crate::sections::local;

/// The content server for avatars, icons, emojis and attachments, and where uploads are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CdnConfig {
    /// Address and port the CDN listens on.
    #[serde(deserialize_with = "lenient::socket_addr")]
    pub listen: SocketAddr,
    /// The URL clients load media from, as seen from outside, e.g. `https://cdn.chat.example.com`.
    /// Must be an absolute `http://` or `https://` URL. When unset, `http://<listen>` is used.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"https://cdn.chat.example.com")]
    pub public_url: Option<String>,
    /// Where uploaded files (attachments, emoji images) are stored. Every process that runs the
    /// API or the CDN must use the same storage: with several machines, that means `s3` (or a
    /// shared file system).
    pub storage: StorageKind,
    /// Directory of `local` storage. When unset, `<data_dir>/attachments`.
    #[schemars(example = &"/var/lib/accord/uploads")]
    pub local_dir: Option<PathBuf>,
    /// S3-compatible object storage, used when `storage = "s3"`.
    pub s3: S3Config,
    /// Limits on uploaded images (avatars, icons, banners, splashes, role icons, emojis) and on
    /// the resized and converted copies the CDN makes of them.
    pub images: ImageLimitsConfig,
    /// Expiring attachment URLs, as Discord's (`?ex=...&is=...&hm=...`), renewed by clients
    /// with `POST /attachments/refresh-urls`. Signed with a key derived from the token secret
    /// (`security.token_secret`, or the one generated in the database), so API and CDN agree
    /// with no secret of their own.
    pub signed_urls: SignedUrlsConfig,
}

impl Default for CdnConfig {
    fn default() -> Self {
        Self {
            listen: local(3003),
            public_url: None,
            storage: StorageKind::Local,
            local_dir: None,
            s3: S3Config::default(),
            images: ImageLimitsConfig::default(),
            signed_urls: SignedUrlsConfig::default(),
        }
    }
}

/// Expiring attachment URLs. When enabled, the API gives out attachment URLs carrying Discord's
/// `ex` (expiry), `is` (issue time) and `hm` (signature) parameters, the CDN answers a request
/// for an attachment without a valid, unexpired signature with 404, and clients get fresh URLs
/// from `POST /attachments/refresh-urls`. The signing key is derived from the token secret
/// (`security.token_secret`, or the one generated in the database), so the API and CDN
/// processes of one instance agree on it; changing that secret invalidates every signed URL.
/// `POST /attachments/refresh-urls` re-signs only attachments of channels the caller can read.
/// URLs cannot be bound to a user: clients load attachments without credentials (image tags,
/// media players, links opened in a browser), so the CDN has no user to check them against;
/// binding to the caller's address (`bind_ip`) is what is offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignedUrlsConfig {
    /// Sign attachment URLs and refuse unsigned or expired ones at the CDN. Emojis, avatars and
    /// other images stay public.
    pub enabled: bool,
    /// How long a signed URL works, in seconds (at least 1; Discord uses a day).
    pub ttl_secs: u64,
    /// Bind the URLs given out by `POST /attachments/refresh-urls` to the caller's IP address,
    /// so they work only for requests from that address (URLs in message objects stay unbound:
    /// they reach everyone who can read the message). There is no binding to a user: the CDN
    /// is fetched without credentials, so it could not tell who asks.
    pub bind_ip: bool,
}

impl Default for SignedUrlsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            ttl_secs: 86_400,
            bind_ip: false,
        }
    }
}

/// Limits on uploaded images. An image past any of them is refused when it is uploaded (a
/// Discord-style 400 naming the field), and never decoded by the CDN: the checks read only the
/// image's header, so a small file claiming huge dimensions (a "decompression bomb") costs
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ImageLimitsConfig {
    /// Largest upload in bytes of an avatar, banner, icon, splash or role icon (emojis have
    /// Discord's own 256 KiB limit).
    pub max_upload_bytes: u64,
    /// Most pixels (width × height) of one frame.
    pub max_pixels: u64,
    /// Most frames of an animated GIF, WebP or APNG.
    pub max_frames: u32,
    /// Most pixels over all frames of an animation (width × height × frames).
    pub max_animation_pixels: u64,
}

impl Default for ImageLimitsConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 10 * 1024 * 1024,
            max_pixels: 4096 * 4096,
            max_frames: 512,
            max_animation_pixels: 256 * 1024 * 1024,
        }
    }
}

/// Where uploaded files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// Files on this machine's disk, under `cdn.local_dir`.
    #[default]
    Local,
    /// An S3-compatible object store (AWS S3, MinIO, Garage, Ceph, Cloudflare R2, ...), set up
    /// in `[cdn.s3]`.
    S3,
}

/// S3-compatible object storage for uploads (used when `cdn.storage = "s3"`). Settings left unset
/// here are taken from the usual `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT`, ...), and on AWS
/// from the instance's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// The bucket's name. Required with `cdn.storage = "s3"`; the bucket must exist.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"accord-uploads")]
    pub bucket: Option<String>,
    /// The bucket's region. Most S3-compatible servers accept any value here.
    #[serde(deserialize_with = "lenient::string")]
    pub region: String,
    /// The server's URL, for anything other than AWS itself, e.g. `http://127.0.0.1:9000` for a
    /// local MinIO. Must be an absolute `http://` or `https://` URL; plain `http://` is allowed
    /// only because it is written here. When unset, AWS's endpoint of `region` is used.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"https://s3.example.com")]
    pub endpoint: Option<String>,
    /// Access key id. Prefer the environment variable `ACCORD_CDN__S3__ACCESS_KEY_ID` (or
    /// `AWS_ACCESS_KEY_ID`) over writing it in the file.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub access_key_id: Option<String>,
    /// Secret access key. Prefer the environment variable `ACCORD_CDN__S3__SECRET_ACCESS_KEY`
    /// (or `AWS_SECRET_ACCESS_KEY`) over writing it in the file.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub secret_access_key: Option<String>,
    /// Address objects as `https://<bucket>.<endpoint>/<key>` (virtual-hosted style) instead of
    /// `https://<endpoint>/<bucket>/<key>` (path style, which MinIO and most self-hosted servers
    /// expect).
    pub virtual_hosted_style: bool,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: None,
            region: "us-east-1".into(),
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            virtual_hosted_style: false,
        }
    }
}
