//! The attachment object (developers/resources/message.mdx, "Attachment Object") and its flags.

use serde::{Deserialize, Serialize};

use crate::id::AttachmentId;
use crate::serde_util::nullable;
use crate::timestamp::Timestamp;
use crate::user::User;

flags! {
    /// Flags on an attachment.
    pub struct AttachmentFlags: integer {
        /// A clip from a stream.
        const IS_CLIP = 1 << 0;
        /// The thumbnail of a media channel thread.
        const IS_THUMBNAIL = 1 << 1;
        /// Edited with the remix feature (deprecated).
        const IS_REMIX = 1 << 2;
        /// Marked as a spoiler.
        const IS_SPOILER = 1 << 3;
        /// An animated image.
        const IS_ANIMATED = 1 << 5;
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// The attachment's id.
    pub id: AttachmentId,
    /// The file name.
    pub filename: String,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Alt text (up to 1024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Source URL.
    pub url: String,
    /// Proxied URL.
    pub proxy_url: String,
    /// Height, for images and videos.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub height: Option<Option<u32>>,
    /// Width, for images and videos.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub width: Option<Option<u32>>,
    /// Thumbhash placeholder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Placeholder version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder_version: Option<u32>,
    /// Whether the attachment is removed after a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    /// Duration of an audio or video file, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Base64 sampled waveform (voice messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<String>,
    /// Attachment flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<AttachmentFlags>,
    /// For clips, the users in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_participants: Option<Vec<User>>,
    /// For clips, when the clip was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_created_at: Option<Timestamp>,
    /// For clips, the application in the stream, kept as raw JSON.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub application: Option<Option<serde_json::Value>>,
}
