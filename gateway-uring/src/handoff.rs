//! Sessions that outlive their gateway process (Redis bus only). Each session's state is
//! checkpointed to a Redis record when its client heartbeats (and for all sessions on a
//! graceful shutdown): who it is, what it receives, its sequence, the event-log position its
//! state reflects, and the dispatches the client has not acknowledged. A client that resumes
//! on another gateway process finds no local session; that gateway claims the record, rebuilds
//! the session, and derives the dispatches since the checkpoint from the event log with the
//! same routing as live delivery, so the resume replays exactly what the client missed.
//!
//! Record layout: `ACS1`, a little-endian `u32` header length, the JSON header, then each
//! kept dispatch as `u64` sequence, `u32` length and the frame's bytes.

use std::collections::HashMap;
use std::sync::Arc;

use accord_bus::LogId;
use accord_model::{ChannelId, GuildId, Intents, UserId};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::SessionCore;
use crate::frames::Framer;
use crate::params::Encoding;
use crate::presence::Presence;

/// Record format 2: the replayed dispatches are whole WebSocket frames (header included, see
/// `Framer::dispatch`); format 1 held bare messages and is refused rather than misread.
const MAGIC: &[u8; 4] = b"ACS2";

/// What a record says about a session besides its frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    user: UserId,
    bot: bool,
    intents: u64,
    shard: [u32; 2],
    etf: bool,
    token_issued_ms: u64,
    token_id: String,
    status: String,
    activities: Value,
    guilds: Vec<GuildId>,
    visible: HashMap<GuildId, Vec<ChannelId>>,
    seq: u64,
    floor: u64,
    position: String,
}

/// A decoded record.
#[derive(Debug)]
pub struct Snapshot {
    /// The session, detached, ready to be resumed.
    pub core: SessionCore,
    /// The event-log position its state reflects.
    pub position: LogId,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable session record: {0}")]
pub struct BadRecord(String);

/// Encodes `core` as of log position `position`.
pub fn encode(core: &SessionCore, position: LogId) -> Vec<u8> {
    let header = Header {
        user: core.user,
        bot: core.bot,
        intents: core.intents.bits(),
        shard: core.shard,
        etf: core.framer.encoding == Encoding::Etf,
        token_issued_ms: core.token.0,
        token_id: core.token.1.clone(),
        status: core.presence.status.clone(),
        activities: core.presence.activities.clone(),
        guilds: core.guilds.iter().copied().collect(),
        visible: core.visible.iter().map(|(g, c)| (g, c.to_vec())).collect(),
        seq: core.seq(),
        floor: core.floor(),
        position: position.to_string(),
    };
    // Serialising plain data into a Vec cannot fail.
    let head = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(8 + head.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    for (seq, frame) in core.replay() {
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

/// The next `n` bytes of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], BadRecord> {
    if rest.len() < n {
        return Err(BadRecord("truncated".into()));
    }
    let (a, b) = rest.split_at(n);
    *rest = b;
    Ok(a)
}

/// Decodes a record into session `id` with a replay buffer of `replay_cap`.
pub fn decode(id: &str, data: &[u8], replay_cap: usize) -> Result<Snapshot, BadRecord> {
    let bad = |what: &str| BadRecord(what.to_owned());
    let mut rest = data.strip_prefix(MAGIC).ok_or_else(|| bad("magic"))?;
    let len = u32::from_le_bytes(take(&mut rest, 4)?.try_into().map_err(|_| bad("length"))?);
    let header: Header = serde_json::from_slice(take(&mut rest, len as usize)?)
        .map_err(|e| BadRecord(e.to_string()))?;
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let seq = u64::from_le_bytes(take(&mut rest, 8)?.try_into().map_err(|_| bad("seq"))?);
        let len = u32::from_le_bytes(take(&mut rest, 4)?.try_into().map_err(|_| bad("length"))?);
        frames.push((seq, Bytes::copy_from_slice(take(&mut rest, len as usize)?)));
    }
    let position: LogId = header
        .position
        .parse()
        .map_err(|e: accord_bus::BadLogId| BadRecord(e.to_string()))?;
    let framer = Framer {
        encoding: if header.etf {
            Encoding::Etf
        } else {
            Encoding::Json
        },
    };
    let mut core = SessionCore::restored(
        Arc::from(id),
        header.user,
        header.bot,
        Intents::from_bits_truncate(header.intents),
        header.shard,
        framer,
        replay_cap,
        header.seq,
        header.floor,
        frames,
    );
    core.token = (header.token_issued_ms, header.token_id);
    core.presence = Presence {
        status: header.status,
        activities: header.activities,
        at: std::time::Instant::now(),
    };
    core.guilds = header.guilds.into_iter().collect();
    for (g, c) in header.visible {
        core.visible.insert(g, c);
    }
    core.log_floor = position;
    Ok(Snapshot { core, position })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_with_its_unacknowledged_frames() {
        let (tx, _rx) = crate::outbox::outbox(64);
        let mut core = SessionCore::new(
            "abc".into(),
            UserId::new(7),
            true,
            Intents::GUILDS | Intents::GUILD_MESSAGES,
            [1, 2],
            Framer {
                encoding: Encoding::Etf,
            },
            16,
            tx,
        );
        core.token = (123, "tok".into());
        core.guilds.insert(GuildId::new(5));
        core.visible.insert(GuildId::new(5), [ChannelId::new(9)]);
        core.presence = Presence::parse(&serde_json::json!({"status": "dnd"})).unwrap();
        core.start(vec![("READY".into(), "{}".into())]);
        for _ in 0..4 {
            core.push("E", r#"{"x":1}"#);
        }
        core.acknowledge(2);
        let position = LogId { ms: 10, seq: 3 };
        let data = encode(&core, position);

        let snap = decode("abc", &data, 16).unwrap();
        assert_eq!(snap.position, position);
        let back = snap.core;
        assert_eq!(&*back.id, "abc");
        assert_eq!(
            (back.user, back.bot, back.intents, back.shard),
            (core.user, true, core.intents, [1, 2])
        );
        assert_eq!(back.framer.encoding, Encoding::Etf);
        assert_eq!(back.token, core.token);
        assert_eq!(back.guilds, core.guilds);
        assert_eq!(back.visible, core.visible);
        assert_eq!(back.presence.status, "dnd");
        assert_eq!((back.seq(), back.floor()), (5, 2));
        assert_eq!(back.log_floor, position);
        assert!(!back.attached() && back.is_ready());
        let kept: Vec<_> = back.replay().collect();
        let want: Vec<_> = core.replay().collect();
        assert_eq!(kept, want);
        assert_eq!(kept.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [3, 4, 5]);

        assert!(decode("abc", &data[..data.len() - 3], 16).is_err());
        assert!(decode("abc", b"nope", 16).is_err());
    }
}
