//! One session's state, kept by the hub whether or not a connection is attached: who it is,
//! what it receives (intents, shard, guilds), its sequence counter and the replay buffer that
//! makes Resume exact.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use accord_model::{GuildId, Intents, UserId};
use bytes::Bytes;

use crate::frames::Framer;
use crate::outbox::{OutboxSender, outbox};

/// A dispatch as a session keeps it for replay and hands it to its connection. An event is
/// kept as its name and data, shared with every session that received the same view of it;
/// its frame (with this session's sequence number) is built when it is written, on the
/// connection's own thread, so a fan-out neither builds nor holds a frame per recipient.
///
/// Both variants are one pointer, so a queued or kept dispatch costs 24 bytes with its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// An event.
    Event(Arc<SharedEvent>),
    /// A frame built already (taken over from another gateway's record).
    Frame(Box<Bytes>),
}

/// An event as the sessions receiving it share it.
#[derive(Debug, PartialEq, Eq)]
pub struct SharedEvent {
    /// Its name (`t`).
    pub name: Arc<str>,
    /// Its JSON data (`d`).
    pub data: Arc<str>,
}

impl SharedEvent {
    /// An event named `name` with the JSON text `data`.
    pub fn new(name: impl Into<Arc<str>>, data: impl Into<Arc<str>>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            data: data.into(),
        })
    }
}

/// What the session hands its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Dispatch number `.0` to write.
    Dispatch(u64, Kept),
    /// Close the connection with this code; the session is over.
    Close(u16),
}

/// A session.
#[derive(Debug)]
pub struct SessionCore {
    /// Its id (READY's `session_id`).
    pub id: Arc<str>,
    /// The account.
    pub user: UserId,
    /// Whether the account is a bot (intents and MESSAGE_CONTENT apply).
    pub bot: bool,
    /// Intents (all for user accounts).
    pub intents: Intents,
    /// `[shard_id, num_shards]`.
    pub shard: [u32; 2],
    /// Encoding of its frames (a resume must use the same).
    pub framer: Framer,
    /// Guilds it receives events of (its guilds on its shard).
    pub guilds: HashSet<GuildId>,
    /// The identifying token's issue time and id (for revocations).
    pub token: (u64, String),
    /// Its presence.
    pub presence: crate::presence::Presence,
    /// The channels it can view, per guild.
    pub visible: crate::visibility::Visible,
    seq: u64,
    replay: VecDeque<(u64, Kept)>,
    replay_cap: usize,
    /// Highest sequence dropped from the replay buffer.
    floor: u64,
    out: Option<OutboxSender>,
    ready: bool,
    pending: Vec<Arc<SharedEvent>>,
    /// When the connection went away (None while attached).
    pub detached_at: Option<Instant>,
    /// Counts attachments: a connection detaches the session only if it is still the latest.
    generation: u64,
    /// Events of the log up to here are already in this session (it was taken over from
    /// another gateway that had seen them): they are not delivered again.
    pub log_floor: accord_bus::LogId,
}

/// Why a resume cannot happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeRefusal {
    /// The sequence is ahead of the session's (close 4007).
    InvalidSeq,
    /// Events after the sequence were dropped from the buffer (Invalid Session).
    TooOld,
}

impl SessionCore {
    /// A session that queues its events until [`SessionCore::start`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Arc<str>,
        user: UserId,
        bot: bool,
        intents: Intents,
        shard: [u32; 2],
        framer: Framer,
        replay_cap: usize,
        out: OutboxSender,
    ) -> Self {
        Self {
            id,
            user,
            bot,
            intents,
            shard,
            framer,
            guilds: HashSet::new(),
            token: (0, String::new()),
            presence: crate::presence::Presence::default(),
            visible: crate::visibility::Visible::default(),
            seq: 0,
            replay: VecDeque::new(),
            replay_cap: replay_cap.max(1),
            floor: 0,
            out: Some(out),
            ready: false,
            pending: Vec::new(),
            detached_at: None,
            generation: 1,
            log_floor: accord_bus::LogId::ZERO,
        }
    }

    /// A session taken over from another gateway: started, detached (waiting for the
    /// resume that asked for it), at sequence `seq`, with the dispatches after `floor` that
    /// the client may not have received.
    #[allow(clippy::too_many_arguments)]
    pub fn restored(
        id: Arc<str>,
        user: UserId,
        bot: bool,
        intents: Intents,
        shard: [u32; 2],
        framer: Framer,
        replay_cap: usize,
        seq: u64,
        floor: u64,
        replay: Vec<(u64, Bytes)>,
    ) -> Self {
        let (tx, _) = outbox(1);
        let mut core = Self::new(id, user, bot, intents, shard, framer, replay_cap, tx);
        core.out = None;
        core.ready = true;
        core.detached_at = Some(Instant::now());
        core.seq = seq;
        core.floor = floor;
        core.replay = replay
            .into_iter()
            .map(|(seq, frame)| (seq, Kept::Frame(Box::new(frame))))
            .collect();
        while core.replay.len() > core.replay_cap {
            if let Some((dropped, _)) = core.replay.pop_front() {
                core.floor = dropped;
            }
        }
        core
    }

    /// Whether READY went out (events before it are held back).
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// The highest sequence no longer replayable (a resume from below it is refused).
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// The dispatches kept for a resume, oldest first, as frames.
    pub fn replay(&self) -> impl Iterator<Item = (u64, Bytes)> + '_ {
        self.replay
            .iter()
            .map(|(seq, kept)| (*seq, self.framer.frame(*seq, kept)))
    }

    /// The current attachment's number (1 for the identifying connection).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Detaches the connection of attachment `generation`, unless a resume replaced it.
    pub fn detach_from(&mut self, generation: u64) {
        if self.generation == generation {
            self.detach();
        }
    }

    /// The last sequence number sent.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether a connection is attached.
    pub fn attached(&self) -> bool {
        self.out.is_some()
    }

    /// Sends READY and the initial dispatches, then whatever arrived meanwhile.
    pub fn start(&mut self, initial: Vec<(String, Arc<str>)>) {
        self.ready = true;
        for (name, d) in initial {
            self.push_shared(SharedEvent::new(name, d));
        }
        for event in std::mem::take(&mut self.pending) {
            self.push_shared(event);
        }
    }

    /// Sequences a dispatch, keeps it for replay and hands it to the connection. A connection
    /// whose queue is full is detached (its reader sees the queue close and ends with 4000);
    /// the session stays resumable.
    pub fn push(&mut self, name: &str, d: &str) {
        self.push_shared(SharedEvent::new(name, d));
    }

    /// [`SessionCore::push`] of an event the caller shares with other sessions (a fan-out
    /// hands every recipient the same one).
    pub fn push_shared(&mut self, event: Arc<SharedEvent>) {
        if !self.ready {
            self.pending.push(event);
            return;
        }
        self.seq += 1;
        let kept = Kept::Event(event);
        if self.replay.len() == self.replay_cap
            && let Some((dropped, _)) = self.replay.pop_front()
        {
            self.floor = dropped;
        }
        self.replay.push_back((self.seq, kept.clone()));
        if let Some(out) = &self.out
            && out.try_send(Out::Dispatch(self.seq, kept)).is_err()
        {
            self.detach();
        }
    }

    /// Tells the attached connection to close with `code` (the session is being ended).
    pub fn close(&mut self, code: u16) {
        if let Some(out) = self.out.take() {
            // A full queue closes the connection anyway when the sender drops.
            let _ = out.try_send(Out::Close(code));
        }
        self.detached_at = Some(Instant::now());
    }

    /// The client reported (in a heartbeat) that it received everything up to `seq`: those
    /// dispatches leave the replay buffer, since a resume never asks for them again.
    pub fn acknowledge(&mut self, seq: u64) {
        let seq = seq.min(self.seq);
        while self.replay.front().is_some_and(|(s, _)| *s <= seq) {
            if let Some((dropped, _)) = self.replay.pop_front() {
                self.floor = self.floor.max(dropped);
            }
        }
        if self.replay.is_empty() {
            self.replay.shrink_to_fit();
        }
    }

    /// Forgets the connection; the session waits for a resume.
    pub fn detach(&mut self) {
        self.out = None;
        self.detached_at = Some(Instant::now());
    }

    /// Attaches a new connection after a resume from `seq`: returns the dispatches it missed,
    /// in order, followed by RESUMED.
    pub fn resume(&mut self, seq: u64, out: OutboxSender) -> Result<Vec<Bytes>, ResumeRefusal> {
        if seq > self.seq {
            return Err(ResumeRefusal::InvalidSeq);
        }
        if seq < self.floor {
            return Err(ResumeRefusal::TooOld);
        }
        let mut frames: Vec<Bytes> = self
            .replay
            .iter()
            .filter(|(s, _)| *s > seq)
            .map(|(s, kept)| self.framer.frame(*s, kept))
            .collect();
        self.seq += 1;
        let resumed = Kept::Event(SharedEvent::new("RESUMED", "{}"));
        frames.push(self.framer.frame(self.seq, &resumed));
        self.replay.push_back((self.seq, resumed));
        self.out = Some(out);
        self.detached_at = None;
        self.generation += 1;
        Ok(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::OutboxReceiver;
    use crate::params::Encoding;

    fn core(cap: usize) -> (SessionCore, OutboxReceiver) {
        let (tx, rx) = outbox(4);
        let framer = Framer {
            encoding: Encoding::Json,
        };
        let c = SessionCore::new(
            "s".into(),
            UserId::new(1),
            true,
            Intents::all(),
            [0, 1],
            framer,
            cap,
            tx,
        );
        (c, rx)
    }

    /// The message inside a queued dispatch, as its connection builds it.
    fn frame(o: Out) -> Bytes {
        let framer = Framer {
            encoding: Encoding::Json,
        };
        match o {
            Out::Dispatch(seq, kept) => {
                Bytes::copy_from_slice(crate::frames::payload(&framer.frame(seq, &kept)))
            }
            Out::Close(c) => panic!("close {c}"),
        }
    }

    fn seq_of(frame: &Bytes) -> u64 {
        let v: serde_json::Value = serde_json::from_slice(crate::frames::payload(frame)).unwrap();
        v["s"].as_u64().unwrap()
    }

    #[test]
    fn events_wait_for_ready_then_follow_it() {
        let (mut c, mut rx) = core(10);
        c.push("EARLY", "{}");
        assert!(rx.try_recv().is_none());
        c.start(vec![("READY".into(), "{}".into())]);
        let ready: serde_json::Value =
            serde_json::from_slice(&frame(rx.try_recv().unwrap())).unwrap();
        assert_eq!(
            (ready["t"].as_str(), ready["s"].as_u64()),
            (Some("READY"), Some(1))
        );
        let early: serde_json::Value =
            serde_json::from_slice(&frame(rx.try_recv().unwrap())).unwrap();
        assert_eq!(
            (early["t"].as_str(), early["s"].as_u64()),
            (Some("EARLY"), Some(2))
        );
    }

    #[test]
    fn a_fan_out_shares_the_event_and_each_frame_has_its_own_sequence() {
        let (mut a, mut ra) = core(10);
        let (mut b, mut rb) = core(10);
        a.start(Vec::new());
        b.start(vec![("READY".into(), "{}".into())]);
        assert!(rb.try_recv().is_some(), "READY");
        let event = SharedEvent::new("MESSAGE_CREATE", r#"{"id":"1"}"#);
        a.push_shared(event.clone());
        b.push_shared(event.clone());
        // Kept for replay as the same event, not as a frame per session.
        for c in [&a, &b] {
            match &c.replay.back().unwrap().1 {
                Kept::Event(e) => assert!(Arc::ptr_eq(e, &event)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(std::mem::size_of::<Out>(), 24);
        for (rx, seq) in [(&mut ra, 1), (&mut rb, 2)] {
            let v: serde_json::Value =
                serde_json::from_slice(&frame(rx.try_recv().unwrap())).unwrap();
            assert_eq!(v["s"], seq);
            assert_eq!(v["t"], "MESSAGE_CREATE");
            assert_eq!(v["d"]["id"], "1");
        }
    }

    #[test]
    fn a_full_queue_detaches_and_resume_replays_in_order() {
        let (mut c, _rx) = core(100);
        c.start(Vec::new());
        for _ in 0..10 {
            c.push("E", "{}");
        }
        assert!(!c.attached(), "queue of 4 overflowed");
        let (tx, _rx2) = outbox(4);
        let frames = c.resume(3, tx).unwrap();
        let seqs: Vec<u64> = frames.iter().map(seq_of).collect();
        assert_eq!(seqs, (4..=11).collect::<Vec<_>>());
        assert!(c.attached());
    }

    #[test]
    fn heartbeats_prune_what_the_client_has() {
        let (mut c, _rx) = core(100);
        c.start(Vec::new());
        for _ in 0..5 {
            c.push("E", "{}");
        }
        c.acknowledge(3);
        c.acknowledge(99); // never past what was sent
        let (tx, _r) = outbox(4);
        assert_eq!(c.resume(2, outbox(4).0), Err(ResumeRefusal::TooOld));
        let frames = c.resume(5, tx).unwrap();
        assert_eq!(frames.iter().map(seq_of).collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn resume_refusals() {
        let (mut c, _rx) = core(3);
        c.start(Vec::new());
        for _ in 0..3 {
            c.push("E", "{}");
        }
        let (tx, _r) = outbox(4);
        assert_eq!(c.resume(9, outbox(4).0), Err(ResumeRefusal::InvalidSeq));
        c.push("E", "{}"); // drops seq 1
        assert_eq!(c.resume(0, outbox(4).0), Err(ResumeRefusal::TooOld));
        assert!(c.resume(1, tx).is_ok());
    }
}
