//! The gateway's framing (developers/events/gateway-events.mdx, "Payload Structure";
//! developers/topics/opcodes-and-status-codes.mdx): opcodes, close codes and the
//! `{op, d, s, t}` envelope.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

/// A gateway opcode. There is no opcode 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum OpCode {
    /// An event was dispatched (server to client).
    Dispatch = 0,
    /// Keep-alive; the client sends it, the server may ask for one.
    Heartbeat = 1,
    /// Starts a new session.
    Identify = 2,
    /// Updates the client's presence.
    PresenceUpdate = 3,
    /// Joins, moves between or leaves voice channels.
    VoiceStateUpdate = 4,
    /// Resumes a disconnected session.
    Resume = 6,
    /// The client should reconnect and resume (server to client).
    Reconnect = 7,
    /// Asks for guild members.
    RequestGuildMembers = 8,
    /// The session is invalid; `d` says whether it may be resumed (server to client).
    InvalidSession = 9,
    /// First message on a connection, with `heartbeat_interval` (server to client).
    Hello = 10,
    /// Acknowledges a heartbeat (server to client).
    HeartbeatAck = 11,
    /// Asks for the soundboard sounds of guilds.
    RequestSoundboardSounds = 31,
    /// Asks for ephemeral channel data.
    RequestChannelInfo = 43,
}

impl OpCode {
    /// Every opcode, in numeric order.
    pub const ALL: [OpCode; 13] = [
        OpCode::Dispatch,
        OpCode::Heartbeat,
        OpCode::Identify,
        OpCode::PresenceUpdate,
        OpCode::VoiceStateUpdate,
        OpCode::Resume,
        OpCode::Reconnect,
        OpCode::RequestGuildMembers,
        OpCode::InvalidSession,
        OpCode::Hello,
        OpCode::HeartbeatAck,
        OpCode::RequestSoundboardSounds,
        OpCode::RequestChannelInfo,
    ];

    /// The opcode with this number, if there is one.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|op| *op as u8 == value)
    }

    /// Whether a client may send this opcode ("Send" in Discord's table; Heartbeat goes both ways).
    pub const fn client_may_send(self) -> bool {
        matches!(
            self,
            OpCode::Heartbeat
                | OpCode::Identify
                | OpCode::PresenceUpdate
                | OpCode::VoiceStateUpdate
                | OpCode::Resume
                | OpCode::RequestGuildMembers
                | OpCode::RequestSoundboardSounds
                | OpCode::RequestChannelInfo
        )
    }
}

impl TryFrom<u8> for OpCode {
    type Error = u8;
    fn try_from(value: u8) -> Result<Self, u8> {
        Self::from_u8(value).ok_or(value)
    }
}

/// A gateway close code. There is no 4006.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u16)]
pub enum CloseCode {
    /// Unknown error.
    UnknownError = 4000,
    /// Unknown opcode, or an invalid payload for an opcode.
    UnknownOpcode = 4001,
    /// A payload that could not be decoded (also one over 4096 bytes).
    DecodeError = 4002,
    /// A payload sent before identifying, or the session was invalidated.
    NotAuthenticated = 4003,
    /// The token in Identify is wrong.
    AuthenticationFailed = 4004,
    /// More than one Identify.
    AlreadyAuthenticated = 4005,
    /// The sequence sent when resuming was invalid.
    InvalidSeq = 4007,
    /// Payloads sent too quickly.
    RateLimited = 4008,
    /// The session timed out.
    SessionTimedOut = 4009,
    /// An invalid shard in Identify.
    InvalidShard = 4010,
    /// The session would hold too many guilds: sharding is required.
    ShardingRequired = 4011,
    /// An invalid gateway version.
    InvalidApiVersion = 4012,
    /// An invalid intent value.
    InvalidIntents = 4013,
    /// An intent the application has not been allowed.
    DisallowedIntents = 4014,
}

impl CloseCode {
    /// Every close code, in numeric order.
    pub const ALL: [CloseCode; 14] = [
        CloseCode::UnknownError,
        CloseCode::UnknownOpcode,
        CloseCode::DecodeError,
        CloseCode::NotAuthenticated,
        CloseCode::AuthenticationFailed,
        CloseCode::AlreadyAuthenticated,
        CloseCode::InvalidSeq,
        CloseCode::RateLimited,
        CloseCode::SessionTimedOut,
        CloseCode::InvalidShard,
        CloseCode::ShardingRequired,
        CloseCode::InvalidApiVersion,
        CloseCode::InvalidIntents,
        CloseCode::DisallowedIntents,
    ];

    /// The numeric code for the WebSocket close frame.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The close code with this number, if Discord defines it.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether a client should reconnect after this close ("Reconnect" column of Discord's
    /// table): false for 4004 and 4010–4014.
    pub const fn reconnectable(self) -> bool {
        !matches!(
            self,
            CloseCode::AuthenticationFailed
                | CloseCode::InvalidShard
                | CloseCode::ShardingRequired
                | CloseCode::InvalidApiVersion
                | CloseCode::InvalidIntents
                | CloseCode::DisallowedIntents
        )
    }

    /// The short reason Discord's table gives, suitable for the close frame.
    pub const fn reason(self) -> &'static str {
        match self {
            CloseCode::UnknownError => "Unknown error",
            CloseCode::UnknownOpcode => "Unknown opcode",
            CloseCode::DecodeError => "Decode error",
            CloseCode::NotAuthenticated => "Not authenticated",
            CloseCode::AuthenticationFailed => "Authentication failed",
            CloseCode::AlreadyAuthenticated => "Already authenticated",
            CloseCode::InvalidSeq => "Invalid seq",
            CloseCode::RateLimited => "Rate limited",
            CloseCode::SessionTimedOut => "Session timed out",
            CloseCode::InvalidShard => "Invalid shard",
            CloseCode::ShardingRequired => "Sharding required",
            CloseCode::InvalidApiVersion => "Invalid API version",
            CloseCode::InvalidIntents => "Invalid intent(s)",
            CloseCode::DisallowedIntents => "Disallowed intent(s)",
        }
    }
}

impl TryFrom<u16> for CloseCode {
    type Error = u16;
    fn try_from(value: u16) -> Result<Self, u16> {
        Self::from_code(value).ok_or(value)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.reason())
    }
}

/// The envelope of every gateway message: `{op, d, s, t}`.
///
/// `s` (sequence) and `t` (event name) are set only for Dispatch; otherwise they are written as
/// `null`, never left out. On input they may be missing; `d` is required unless `D` is an
/// `Option`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayPayload<D = serde_json::Value> {
    /// The opcode.
    pub op: OpCode,
    /// The event data.
    pub d: D,
    /// The sequence number, for Dispatch.
    #[serde(default)]
    pub s: Option<u64>,
    /// The event name, for Dispatch (`MESSAGE_CREATE`).
    #[serde(default)]
    pub t: Option<Cow<'static, str>>,
}

impl<D> GatewayPayload<D> {
    /// A non-dispatch payload: `s` and `t` null.
    pub fn new(op: OpCode, d: D) -> Self {
        Self {
            op,
            d,
            s: None,
            t: None,
        }
    }

    /// A Dispatch (op 0) with its event name and sequence number.
    pub fn dispatch(t: impl Into<Cow<'static, str>>, s: u64, d: D) -> Self {
        Self {
            op: OpCode::Dispatch,
            d,
            s: Some(s),
            t: Some(t.into()),
        }
    }
}

/// The data of Hello (op 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Milliseconds between heartbeats.
    pub heartbeat_interval: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn opcodes_are_integers() {
        assert_eq!(
            serde_json::to_value(OpCode::HeartbeatAck).unwrap(),
            json!(11)
        );
        assert_eq!(
            serde_json::from_value::<OpCode>(json!(43)).unwrap(),
            OpCode::RequestChannelInfo
        );
        assert!(serde_json::from_value::<OpCode>(json!(5)).is_err());
        let numbers: Vec<u8> = OpCode::ALL.iter().map(|op| *op as u8).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 31, 43]);
        for op in OpCode::ALL {
            assert_eq!(OpCode::try_from(op as u8), Ok(op));
        }
        assert_eq!(OpCode::from_u8(5), None);
        assert!(OpCode::Heartbeat.client_may_send());
        assert!(!OpCode::Dispatch.client_may_send());
        assert!(!OpCode::Hello.client_may_send());
    }

    #[test]
    fn close_codes_follow_the_table() {
        let codes: Vec<u16> = CloseCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            [
                4000, 4001, 4002, 4003, 4004, 4005, 4007, 4008, 4009, 4010, 4011, 4012, 4013, 4014
            ]
        );
        let not_reconnectable: Vec<u16> = CloseCode::ALL
            .iter()
            .filter(|c| !c.reconnectable())
            .map(|c| c.code())
            .collect();
        assert_eq!(not_reconnectable, [4004, 4010, 4011, 4012, 4013, 4014]);
        assert_eq!(CloseCode::from_code(4006), None);
        assert_eq!(CloseCode::try_from(4014), Ok(CloseCode::DisallowedIntents));
        assert_eq!(CloseCode::InvalidSeq.to_string(), "4007 Invalid seq");
    }

    #[test]
    fn envelope_writes_null_s_and_t() {
        let hello = GatewayPayload::new(
            OpCode::Hello,
            Hello {
                heartbeat_interval: 41_250,
            },
        );
        assert_eq!(
            serde_json::to_value(&hello).unwrap(),
            json!({"op": 10, "d": {"heartbeat_interval": 41250}, "s": null, "t": null})
        );
        let invalid = GatewayPayload::new(OpCode::InvalidSession, false);
        assert_eq!(
            serde_json::to_string(&invalid).unwrap(),
            r#"{"op":9,"d":false,"s":null,"t":null}"#
        );
    }

    #[test]
    fn envelope_matches_the_docs_example() {
        // developers/events/gateway-events.mdx, "Example Gateway Event Payload".
        let example = json!({"op": 0, "d": {}, "s": 42, "t": "GATEWAY_EVENT_NAME"});
        let parsed: GatewayPayload = serde_json::from_value(example.clone()).unwrap();
        assert_eq!(
            parsed,
            GatewayPayload::dispatch("GATEWAY_EVENT_NAME", 42, json!({}))
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), example);
    }

    #[test]
    fn envelope_accepts_missing_s_and_t() {
        // The docs' Hello and Reconnect examples leave s and t out.
        let reconnect: GatewayPayload = serde_json::from_str(r#"{"op": 7, "d": null}"#).unwrap();
        assert_eq!(
            reconnect,
            GatewayPayload::new(OpCode::Reconnect, Value::Null)
        );
        let heartbeat: GatewayPayload = serde_json::from_str(r#"{"op": 1, "d": null}"#).unwrap();
        assert_eq!(heartbeat.d, Value::Null);
        assert!(serde_json::from_str::<GatewayPayload>(r#"{"op": 1}"#).is_err());
        let optional: GatewayPayload<Option<u64>> = serde_json::from_str(r#"{"op": 1}"#).unwrap();
        assert_eq!(optional.d, None);
        let typed: GatewayPayload<Option<Hello>> =
            serde_json::from_str(r#"{"op": 10, "d": {"heartbeat_interval": 45000}}"#).unwrap();
        assert_eq!(
            typed.d,
            Some(Hello {
                heartbeat_interval: 45_000
            })
        );
        assert!(serde_json::from_str::<GatewayPayload>(r#"{"op": 5, "d": null}"#).is_err());
        assert!(serde_json::from_str::<GatewayPayload>(r#"{"d": null}"#).is_err());
    }
}
