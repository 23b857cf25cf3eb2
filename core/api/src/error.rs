//! The one API error type, with exactly one mapping from each variant to an HTTP status and a
//! Discord JSON error code. Internal causes are logged here and never sent to the client.

use accord_model::error::codes;
use accord_model::{ErrorBody, ErrorTree};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or a token that is not valid (40001).
    #[error("401: Unauthorized")]
    Unauthorized,
    /// Something addressed by the route does not exist (100xx).
    #[error("{0}")]
    Unknown(Unknown),
    /// The body failed validation (50035) with per-field errors.
    #[error("Invalid Form Body")]
    InvalidForm(ErrorTree),
    /// The body is not valid JSON (50109).
    #[error("The request body contains invalid JSON.")]
    InvalidJson,
    /// The body is larger than the instance accepts (40005).
    #[error("Request entity too large")]
    TooLarge,
    /// The caller lacks a permission or instance right (50013).
    #[error("Missing Permissions")]
    MissingPermissions,
    /// The caller may not see the resource (50001).
    #[error("Missing Access")]
    MissingAccess,
    /// Bots may not use this route (20001).
    #[error("Bots cannot use this endpoint")]
    BotsForbidden,
    /// The caller is not the application's bot or owner (20012).
    #[error("You are not authorized to perform this action on this application")]
    NotAppAuthorized,
    /// The interaction already has its first response (40060).
    #[error("Interaction has already been acknowledged")]
    AlreadyAcknowledged,
    /// Another command of the application has that name and type in the scope (40041).
    #[error("An application command with that name already exists")]
    CommandNameExists,
    /// Only bots may use this route (20002).
    #[error("Only bots can use this endpoint")]
    OnlyBots,
    /// A configured maximum was reached (300xx).
    #[error("{} ({})", .0.message(), .1)]
    Maximum(Maximum, u32),
    /// The user is banned from the guild (40007).
    #[error("The user is banned from this guild.")]
    Banned,
    /// The action does not apply to this channel type (50024).
    #[error("Cannot execute action on this channel type")]
    WrongChannelType,
    /// The action does not apply to a DM channel (50003).
    #[error("Cannot execute action on a DM channel")]
    DmChannel,
    /// The guild refuses the action (the owner leaving it, for example) (50055).
    #[error("Invalid Guild")]
    InvalidGuild,
    /// Invalid recipients for a group DM (50033).
    #[error("Invalid Recipient(s)")]
    InvalidRecipients,
    /// The role cannot be used here (managed role assigned by hand, for example) (50028).
    #[error("Invalid Role")]
    InvalidRole,
    /// A bulk ban banned nobody (500000).
    #[error("Failed to ban users")]
    BulkBanFailed,
    /// A channel Community guilds require (rules, community updates) cannot be deleted (50074).
    #[error("Cannot delete a channel required for Community guilds")]
    CommunityChannel,
    /// A channel position request moves more than one channel to another parent (40009).
    #[error("Only one channel can have a parent_id modified at a time")]
    OneParentChange,
    /// The owner has as many applications as the instance allows (50011).
    #[error("OAuth2 application limit reached")]
    ApplicationLimit,
    /// The OAuth2 application has no bot user (50010).
    #[error("OAuth2 application does not have a bot")]
    ApplicationHasNoBot,
    /// A message with nothing in it (50006).
    #[error("Cannot send an empty message")]
    EmptyMessage,
    /// Messages cannot be sent in this channel type (50008).
    #[error("Cannot send messages in a non-text channel")]
    NonTextChannel,
    /// Only the author may edit this part of a message (50005).
    #[error("Cannot edit a message authored by another user")]
    NotAuthor,
    /// A bulk delete names a message older than two weeks (50034).
    #[error("A message provided was too old to bulk delete")]
    TooOldToBulkDelete,
    /// The action does not apply to a system message (50021).
    #[error("Cannot execute action on a system message")]
    SystemMessage,
    /// A webhook addressed with a token that is not its own (50027).
    #[error("Invalid Webhook Token")]
    InvalidWebhookToken,
    /// A reply without READ_MESSAGE_HISTORY (160002).
    #[error("Cannot reply without permission to read message history")]
    ReplyWithoutHistory,
    /// An archived thread cannot be changed this way (50083).
    #[error("Tried to perform an operation on an archived thread")]
    ArchivedThread,
    /// The thread is locked and the caller lacks MANAGE_THREADS (160005).
    #[error("Thread is locked")]
    ThreadLocked,
    /// The message already started a thread (160004).
    #[error("A thread has already been created for this message")]
    ThreadExists,
    /// The guild has as many active threads as allowed (160006).
    #[error("Maximum number of active threads reached")]
    MaxActiveThreads,
    /// Two tags of a forum or media channel with the same name (40061).
    #[error("Tag names must be unique")]
    TagNamesNotUnique,
    /// REQUIRE_TAG on a channel whose tags are all moderated (40066).
    #[error("There are no tags available that can be set by non-moderators")]
    NoUnmoderatedTags,
    /// A post without a tag in a channel with REQUIRE_TAG (40067).
    #[error("A tag is required to create a forum post in this channel")]
    TagRequired,
    /// Messages go into a forum's threads, not the forum (40058).
    #[error("Cannot send a message in a forum channel")]
    ForumMessage,
    /// A webhook in a forum or media channel needs `thread_name` or `thread_id` (220001).
    #[error("Webhooks posted to forum channels must have a thread_name or thread_id")]
    WebhookForumNeedsThread,
    /// `thread_name` and `thread_id` together (220002).
    #[error("Webhooks posted to forum channels cannot have both a thread_name and thread_id")]
    WebhookThreadBoth,
    /// `thread_name` outside a forum or media channel (220003).
    #[error("Webhooks can only create threads in forum channels")]
    WebhookThreadOutsideForum,
    /// Registration is closed (0).
    #[error("Registration is disabled on this instance.")]
    RegistrationClosed,
    /// No route matches the path (404, code 0).
    #[error("404: Not Found")]
    NotFound,
    /// The route exists but not for this method (405, code 0).
    #[error("405: Method Not Allowed")]
    MethodNotAllowed,
    /// The database (or another dependency) is not reachable (503, code 0).
    #[error("Service Unavailable")]
    Unavailable,
    /// A failure inside the server; the cause is logged, the client sees a generic 500.
    #[error("500: Internal Server Error")]
    Internal(String),
}

/// Which kind of thing was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unknown {
    /// 10002.
    #[error("Unknown Application")]
    Application,
    /// 10003.
    #[error("Unknown Channel")]
    Channel,
    /// 10004.
    #[error("Unknown Guild")]
    Guild,
    /// 10006.
    #[error("Unknown Invite")]
    Invite,
    /// 10007.
    #[error("Unknown Member")]
    Member,
    /// 10008.
    #[error("Unknown Message")]
    Message,
    /// 10009.
    #[error("Unknown Overwrite")]
    Overwrite,
    /// 10011.
    #[error("Unknown Role")]
    Role,
    /// 10013.
    #[error("Unknown User")]
    User,
    /// 10014.
    #[error("Unknown Emoji")]
    Emoji,
    /// 10015.
    #[error("Unknown Webhook")]
    Webhook,
    /// 10026.
    #[error("Unknown Ban")]
    Ban,
    /// 10060.
    #[error("Unknown Sticker")]
    Sticker,
    /// 10062.
    #[error("Unknown interaction")]
    Interaction,
    /// 10063.
    #[error("Unknown application command")]
    Command,
    /// 10066.
    #[error("Unknown application command permissions")]
    CommandPermissions,
    /// 10087.
    #[error("Unknown Tag")]
    Tag,
}

impl Unknown {
    fn code(self) -> u32 {
        match self {
            Unknown::Application => codes::UNKNOWN_APPLICATION,
            Unknown::Channel => codes::UNKNOWN_CHANNEL,
            Unknown::Guild => codes::UNKNOWN_GUILD,
            Unknown::Invite => codes::UNKNOWN_INVITE,
            Unknown::Member => codes::UNKNOWN_MEMBER,
            Unknown::Message => codes::UNKNOWN_MESSAGE,
            Unknown::Overwrite => 10009,
            Unknown::Role => codes::UNKNOWN_ROLE,
            Unknown::User => codes::UNKNOWN_USER,
            Unknown::Emoji => codes::UNKNOWN_EMOJI,
            Unknown::Webhook => codes::UNKNOWN_WEBHOOK,
            Unknown::Ban => codes::UNKNOWN_BAN,
            Unknown::Sticker => 10060,
            Unknown::Interaction => 10062,
            Unknown::Command => 10063,
            Unknown::CommandPermissions => 10066,
            Unknown::Tag => 10087,
        }
    }
}

/// Which configured maximum was reached; the message carries the configured number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maximum {
    /// 30001.
    Guilds,
    /// 30003.
    Pins,
    /// 30004.
    Recipients,
    /// 30005.
    Roles,
    /// 30007.
    Webhooks,
    /// 30008.
    Emojis,
    /// 30010.
    Reactions,
    /// 30013.
    Channels,
    /// 30015.
    Attachments,
    /// 30016.
    Invites,
    /// 30019.
    Members,
    /// 30032.
    ApplicationCommands,
    /// 30034.
    DailyCommandCreates,
    /// 30039.
    Stickers,
    /// 30060.
    Overwrites,
    /// 30048 (Discord's fixed 20 tags per forum or media channel).
    ForumTags,
}

impl Maximum {
    fn code(self) -> u32 {
        match self {
            Maximum::Guilds => 30001,
            Maximum::Pins => 30003,
            Maximum::Recipients => 30004,
            Maximum::Roles => 30005,
            Maximum::Webhooks => 30007,
            Maximum::Emojis => 30008,
            Maximum::Reactions => 30010,
            Maximum::Channels => 30013,
            Maximum::Attachments => 30015,
            Maximum::Invites => 30016,
            Maximum::Members => 30019,
            Maximum::ApplicationCommands => 30032,
            Maximum::DailyCommandCreates => 30034,
            Maximum::Stickers => 30039,
            Maximum::Overwrites => 30060,
            Maximum::ForumTags => 30048,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Maximum::Guilds => "Maximum number of guilds reached",
            Maximum::Pins => "Maximum number of pins reached for the channel",
            Maximum::Recipients => "Maximum number of recipients reached",
            Maximum::Roles => "Maximum number of guild roles reached",
            Maximum::Webhooks => "Maximum number of webhooks reached",
            Maximum::Emojis => "Maximum number of emojis reached",
            Maximum::Reactions => "Maximum number of reactions reached",
            Maximum::Channels => "Maximum number of guild channels reached",
            Maximum::Attachments => "Maximum number of attachments in a message reached",
            Maximum::Invites => "Maximum number of invites reached",
            Maximum::Members => "Maximum number of server members reached",
            Maximum::ApplicationCommands => "Maximum number of application commands reached",
            Maximum::DailyCommandCreates => {
                "Max number of daily application command creates has been reached"
            }
            Maximum::Stickers => "Maximum number of stickers reached",
            Maximum::Overwrites => "Maximum number of channel permission overwrites reached",
            Maximum::ForumTags => "Maximum number of tags in a forum channel has been reached",
        }
    }
}

impl ApiError {
    /// A 50035 error with one field error at `path`.
    pub fn field(path: &[&str], code: &str, message: impl Into<String>) -> Self {
        let mut tree = ErrorTree::new();
        tree.add(path, code, message);
        ApiError::InvalidForm(tree)
    }

    /// The status and JSON code of this error.
    pub fn status_and_code(&self) -> (StatusCode, u32) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED),
            ApiError::Unknown(u) => (StatusCode::NOT_FOUND, u.code()),
            ApiError::InvalidForm(_) => (StatusCode::BAD_REQUEST, codes::INVALID_FORM_BODY),
            ApiError::InvalidJson => (StatusCode::BAD_REQUEST, codes::INVALID_JSON),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, codes::ENTITY_TOO_LARGE),
            ApiError::MissingPermissions => (StatusCode::FORBIDDEN, codes::MISSING_PERMISSIONS),
            ApiError::MissingAccess => (StatusCode::FORBIDDEN, codes::MISSING_ACCESS),
            ApiError::BotsForbidden => (StatusCode::FORBIDDEN, codes::BOTS_CANNOT_USE),
            ApiError::OnlyBots => (StatusCode::FORBIDDEN, codes::ONLY_BOTS_CAN_USE),
            ApiError::NotAppAuthorized => (StatusCode::FORBIDDEN, 20012),
            ApiError::CommandNameExists => (StatusCode::BAD_REQUEST, 40041),
            ApiError::AlreadyAcknowledged => (StatusCode::BAD_REQUEST, 40060),
            ApiError::ApplicationLimit => (StatusCode::BAD_REQUEST, codes::APPLICATION_LIMIT),
            ApiError::ApplicationHasNoBot => (StatusCode::BAD_REQUEST, 50010),
            ApiError::Maximum(m, _) => (StatusCode::BAD_REQUEST, m.code()),
            ApiError::Banned => (StatusCode::FORBIDDEN, 40007),
            ApiError::WrongChannelType => (StatusCode::BAD_REQUEST, 50024),
            ApiError::DmChannel => (StatusCode::FORBIDDEN, 50003),
            ApiError::InvalidRecipients => (StatusCode::BAD_REQUEST, 50033),
            ApiError::InvalidGuild => (StatusCode::BAD_REQUEST, 50055),
            ApiError::InvalidRole => (StatusCode::BAD_REQUEST, 50028),
            ApiError::BulkBanFailed => (StatusCode::BAD_REQUEST, 500000),
            ApiError::CommunityChannel => (StatusCode::BAD_REQUEST, 50074),
            ApiError::OneParentChange => (StatusCode::BAD_REQUEST, 40009),
            ApiError::EmptyMessage => (StatusCode::BAD_REQUEST, 50006),
            ApiError::NonTextChannel => (StatusCode::BAD_REQUEST, 50008),
            ApiError::NotAuthor => (StatusCode::FORBIDDEN, 50005),
            ApiError::TooOldToBulkDelete => (StatusCode::BAD_REQUEST, 50034),
            ApiError::ReplyWithoutHistory => (StatusCode::FORBIDDEN, 160002),
            ApiError::InvalidWebhookToken => (StatusCode::UNAUTHORIZED, 50027),
            ApiError::SystemMessage => (StatusCode::BAD_REQUEST, 50021),
            ApiError::ArchivedThread => (StatusCode::BAD_REQUEST, 50083),
            ApiError::ThreadLocked => (StatusCode::FORBIDDEN, 160005),
            ApiError::ThreadExists => (StatusCode::BAD_REQUEST, 160004),
            ApiError::MaxActiveThreads => (StatusCode::BAD_REQUEST, 160006),
            ApiError::ForumMessage => (StatusCode::BAD_REQUEST, 40058),
            ApiError::TagNamesNotUnique => (StatusCode::BAD_REQUEST, 40061),
            ApiError::NoUnmoderatedTags => (StatusCode::BAD_REQUEST, 40066),
            ApiError::TagRequired => (StatusCode::BAD_REQUEST, 40067),
            ApiError::WebhookForumNeedsThread => (StatusCode::BAD_REQUEST, 220001),
            ApiError::WebhookThreadBoth => (StatusCode::BAD_REQUEST, 220002),
            ApiError::WebhookThreadOutsideForum => (StatusCode::BAD_REQUEST, 220003),
            ApiError::RegistrationClosed => (StatusCode::FORBIDDEN, codes::GENERAL),
            ApiError::NotFound => (StatusCode::NOT_FOUND, codes::GENERAL),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, codes::GENERAL),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, codes::GENERAL),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::GENERAL),
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> ErrorBody {
        let (_, code) = self.status_and_code();
        let errors = match self {
            ApiError::InvalidForm(tree) => Some(tree.clone()),
            _ => None,
        };
        ErrorBody {
            code,
            message: self.to_string(),
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let (status, _) = self.status_and_code();
        (status, Json(self.body())).into_response()
    }
}

impl From<accord_blobs::BlobError> for ApiError {
    fn from(e: accord_blobs::BlobError) -> Self {
        ApiError::Internal(format!("file storage: {e}"))
    }
}

impl From<accord_store::StoreError> for ApiError {
    fn from(e: accord_store::StoreError) -> Self {
        match e {
            accord_store::StoreError::Database(sqlx_err) if is_unavailable(&sqlx_err) => {
                tracing::error!(error = %sqlx_err, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn is_unavailable(e: &accord_store::sqlx::Error) -> bool {
    use accord_store::sqlx::Error as E;
    matches!(e, E::PoolTimedOut | E::PoolClosed | E::Io(_))
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_discords_status_and_code() {
        let cases = [
            (ApiError::Unauthorized, 401, 40001, "401: Unauthorized"),
            (ApiError::Unknown(Unknown::User), 404, 10013, "Unknown User"),
            (
                ApiError::Unknown(Unknown::Sticker),
                404,
                10060,
                "Unknown Sticker",
            ),
            (
                ApiError::Maximum(Maximum::Stickers, 5),
                400,
                30039,
                "Maximum number of stickers reached (5)",
            ),
            (
                ApiError::InvalidJson,
                400,
                50109,
                "The request body contains invalid JSON.",
            ),
            (ApiError::TooLarge, 413, 40005, "Request entity too large"),
            (
                ApiError::MissingPermissions,
                403,
                50013,
                "Missing Permissions",
            ),
            (
                ApiError::BotsForbidden,
                403,
                20001,
                "Bots cannot use this endpoint",
            ),
            (
                ApiError::OnlyBots,
                403,
                20002,
                "Only bots can use this endpoint",
            ),
            (ApiError::NotFound, 404, 0, "404: Not Found"),
            (
                ApiError::Maximum(Maximum::Roles, 250),
                400,
                30005,
                "Maximum number of guild roles reached (250)",
            ),
            (
                ApiError::Banned,
                403,
                40007,
                "The user is banned from this guild.",
            ),
            (
                ApiError::Internal("secret cause".into()),
                500,
                0,
                "500: Internal Server Error",
            ),
        ];
        for (err, status, code, message) in cases {
            let (s, c) = err.status_and_code();
            assert_eq!((s.as_u16(), c), (status, code), "{err:?}");
            let body = err.body();
            assert_eq!(body.message, message);
            assert!(!body.message.contains("secret"));
        }
        let form = ApiError::field(
            &["username"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
        let body = serde_json::to_value(form.body()).unwrap();
        assert_eq!(body["code"], 50035);
        assert_eq!(
            body["errors"]["username"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
    }
}
