//! One client connection, on the gateway thread that accepted it: Hello, heartbeats and their
//! deadline, the client event limit, Identify/Resume (run on the tokio side, which reads the
//! database), and writing the session's dispatches through the connection's compressor.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use accord_gateway_encoding::{CompressKind, CompressSettings, Compressor};
use accord_gateway_transport::codec::{self, HEADROOM, OP_BINARY};
use accord_gateway_transport::{Conn, Incoming, WsError, WsReader, WsWriter};
use accord_model::{CloseCode, OpCode};
use bytes::Bytes;
use monoio::time::Instant;
use serde_json::{Value, json};

use crate::core::Out as SessionOut;
use crate::frames::Framer;
use crate::hub::{Hub, lock};
use crate::identify::{self, ConcurrencyGate, IdentifyData, Refusal, ResumeData, SessionSettings};
use crate::members;
use crate::outbox::OutboxReceiver;
use crate::params::{Encoding, Params};
use crate::route;

/// What every connection of a thread shares.
pub struct ThreadCtx {
    /// The process's sessions.
    pub hub: Arc<Hub>,
    /// Identify concurrency.
    pub gate: Arc<ConcurrencyGate>,
    /// The tokio runtime that runs database work.
    pub tokio: tokio::runtime::Handle,
    /// Session settings.
    pub settings: SessionSettings,
    /// Hello's heartbeat interval.
    pub heartbeat_interval: Duration,
    /// Slack past the interval before a silent client is dropped.
    pub heartbeat_grace: Duration,
    /// How compressed connections compress (checked at start: every kind accepts it).
    pub compression: CompressSettings,
}

/// How the connection ended, for the session.
enum End {
    /// The client closed with 1000/1001 (or we invalidated it): the session ends.
    Final,
    /// Anything else: the session stays resumable.
    Resumable,
}

struct Out {
    writer: WsWriter,
    compressor: Compressor,
    framer: Framer,
}

impl Out {
    async fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
        match self.compressor.kind() {
            CompressKind::None if self.framer.encoding == Encoding::Json => {
                self.writer.send_text(payload).await
            }
            CompressKind::None => self.writer.send_binary(payload).await,
            _ => {
                // Compressed straight into the frame's buffer, its header sealed in front.
                let mut frame = Vec::with_capacity(HEADROOM + payload.len() / 2 + 64);
                frame.resize(HEADROOM, 0);
                self.compressor.compress(payload, &mut frame)?;
                self.writer.send_frame(codec::seal(frame, OP_BINARY)).await
            }
        }
    }

    /// Gives back what a quiet connection does not need: the compressor's state (zlib-stream
    /// goes on with the gateway thread's shared state until the connection is busy again).
    fn idle(&mut self) {
        self.compressor.idle();
    }

    /// Writes a dispatch frame (see [`Framer::dispatch`]): as it is without compression, its
    /// payload compressed otherwise.
    async fn send_frame(&mut self, frame: Bytes) -> std::io::Result<()> {
        match self.compressor.kind() {
            CompressKind::None => self.writer.send_frame(frame).await,
            _ => self.send(crate::frames::payload(&frame)).await,
        }
    }

    async fn op(&mut self, op: OpCode, d: &Value) -> std::io::Result<()> {
        let frame = self.framer.op(op, d);
        self.send(&frame).await
    }

    async fn close(&self, code: CloseCode) {
        let _ = self.writer.close(code.code(), code.reason()).await;
    }
}

/// How a connection ends whose write failed: if the failure is the client's close (already
/// answered by the transport, and still to be read), that close decides; otherwise the session
/// stays resumable.
async fn after_write_failure(reader: &mut WsReader) -> End {
    let wait = Duration::from_millis(200);
    // Boxed: a monoio `Sleep` (640 bytes, 128-aligned) inline here would be room every
    // connection's task keeps for its whole life, for a path taken once at its end.
    while let Ok(msg) = Box::pin(monoio::time::timeout(wait, reader.next())).await {
        match msg {
            Ok(Incoming::Close(code)) => {
                return if matches!(code, Some(1000 | 1001)) {
                    End::Final
                } else {
                    End::Resumable
                };
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    End::Resumable
}

async fn next_event(rx: &mut Option<OutboxReceiver>) -> Option<SessionOut> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Answers op 31 (`soundboard`) or op 43: this server has no soundboard sounds and no voice
/// channel statuses, so each of the session's guilds asked about gets an empty list.
async fn empty_lists(hub: Arc<Hub>, id: Arc<str>, soundboard: bool, d: Value) {
    let Some(s) = hub.get(&id) else { return };
    let guilds = lock(&s).guilds.clone();
    let key = if soundboard { "guild_ids" } else { "guild_id" };
    let asked = d.get(key).map(route::snowflakes).unwrap_or_default();
    for g in asked {
        if !guilds.contains(&accord_model::GuildId::new(g)) {
            continue;
        }
        let g = g.to_string();
        let (name, payload) = if soundboard {
            (
                "SOUNDBOARD_SOUNDS",
                json!({"guild_id": g, "soundboard_sounds": []}),
            )
        } else {
            ("CHANNEL_INFO", json!({"guild_id": g, "channels": []}))
        };
        hub.send_to(&id, name, &payload).await;
    }
}

/// Serves one upgraded connection until it ends.
pub async fn serve(conn: Box<Conn>, ctx: Rc<ThreadCtx>) {
    let Conn {
        mut reader,
        writer,
        query,
        ..
    } = *conn;
    let params = Params::parse(&query);
    drop(query);
    let params = match params {
        Ok(p) => p,
        Err(code) => {
            let _ = writer.close(code.code(), code.reason()).await;
            return;
        }
    };
    let framer = Framer {
        encoding: params.encoding,
    };
    let compressor = match Compressor::with_settings(params.compress, ctx.compression) {
        Ok(c) if params.encoding == Encoding::Json => c.json(),
        Ok(c) => c,
        Err(e) => {
            // Only allocation can fail here (the settings were checked at start).
            tracing::error!(error = %e, "cannot set up the connection's compression");
            let code = CloseCode::UnknownError;
            let _ = writer.close(code.code(), code.reason()).await;
            return;
        }
    };
    let mut out = Out {
        writer,
        compressor,
        framer,
    };

    // Client messages are read by the session loop itself (`WsReader::next` is cancel-safe),
    // not by a task of their own feeding a channel: each would cost every connection its own
    // allocation (a task, and a channel with its first block of slots).
    let interval = ctx.heartbeat_interval;
    if out
        .op(
            OpCode::Hello,
            &json!({"heartbeat_interval": interval.as_millis() as u64}),
        )
        .await
        .is_err()
    {
        return;
    }
    let grace = ctx.heartbeat_grace;
    let mut deadline = Instant::now() + interval + grace;
    let alarm = crate::clock::Alarm::new();
    // Halfway through the grace the server asks for a heartbeat (op 1) once.
    let mut probed = false;
    // Dispatches sent since the last heartbeat: none in a whole interval lets the connection
    // drop its compression state; `BUSY` or more make it keep one of its own again (a zlib
    // state costs ~600 µs to build on new memory and 368 KiB to hold, and pays off in
    // smaller messages only for a connection that keeps receiving).
    const BUSY: u32 = 4;
    let mut sent: u32 = 0;
    let mut recent = crate::event_window::EventWindow::new();
    let mut session: Option<(Arc<str>, u64)> = None;
    let mut events: Option<OutboxReceiver> = None;

    let end = loop {
        if crate::clock::stopping() {
            // Op 7: the client reconnects and resumes elsewhere.
            let _ = out.op(OpCode::Reconnect, &Value::Null).await;
            out.close(CloseCode::UnknownError).await;
            break End::Resumable;
        }
        monoio::select! {
            msg = reader.next() => {
                let payload = match msg {
                    Ok(Incoming::Text(b) | Incoming::Binary(b)) => b,
                    Ok(Incoming::Close(code)) => {
                        break if matches!(code, Some(1000 | 1001)) { End::Final } else { End::Resumable };
                    }
                    Err(WsError::TooLarge) => {
                        out.close(CloseCode::DecodeError).await;
                        break End::Resumable;
                    }
                    Err(WsError::Protocol(_)) => {
                        let _ = out.writer.close(1002, "protocol error").await;
                        break End::Resumable;
                    }
                    Err(WsError::Io(_)) => break End::Resumable,
                };
                // The client event limit.
                if !recent.admit() {
                    out.close(CloseCode::RateLimited).await;
                    break End::Resumable;
                }
                let Some(value) = framer.decode(&payload) else {
                    out.close(CloseCode::DecodeError).await;
                    break End::Resumable;
                };
                let op = value.get("op").and_then(Value::as_u64);
                let d = value.get("d").cloned().unwrap_or(Value::Null);
                match op {
                    Some(1) => {
                        deadline = Instant::now() + interval + grace;
                        if let (Some((id, _)), Some(seq)) = (&session, d.as_u64())
                            && let Some(s) = ctx.hub.get(id)
                        {
                            lock(&s).acknowledge(seq);
                            ctx.hub.checkpoint(id);
                        }
                        probed = false;
                        if out.op(OpCode::HeartbeatAck, &Value::Null).await.is_err() {
                            break after_write_failure(&mut reader).await;
                        }
                        match sent {
                            0 => out.idle(),
                            BUSY.. => out.compressor.keep_history(),
                            _ => {}
                        }
                        sent = 0;
                    }
                    Some(2) => {
                        if session.is_some() {
                            out.close(CloseCode::AlreadyAuthenticated).await;
                            break End::Resumable;
                        }
                        let Ok(data) = serde_json::from_value::<IdentifyData>(d) else {
                            out.close(CloseCode::DecodeError).await;
                            break End::Final;
                        };
                        let job = ctx.tokio.spawn(identify::identify(
                            ctx.hub.clone(), ctx.gate.clone(), ctx.settings, framer, data,
                        ));
                        match job.await {
                            Ok(Ok((id, rx))) => {
                                session = Some((id, 1));
                                events = Some(rx);
                            }
                            Ok(Err(Refusal::Close(code))) => {
                                out.close(code).await;
                                break End::Final;
                            }
                            Ok(Err(Refusal::InvalidSession(resumable))) => {
                                if out.op(OpCode::InvalidSession, &json!(resumable)).await.is_err() {
                                    break End::Final;
                                }
                            }
                            Err(_) => {
                                out.close(CloseCode::UnknownError).await;
                                break End::Final;
                            }
                        }
                    }
                    Some(6) => {
                        if session.is_some() {
                            out.close(CloseCode::AlreadyAuthenticated).await;
                            break End::Resumable;
                        }
                        let Ok(data) = serde_json::from_value::<ResumeData>(d) else {
                            out.close(CloseCode::DecodeError).await;
                            break End::Final;
                        };
                        let job = ctx.tokio.spawn(identify::resume(ctx.hub.clone(), ctx.settings, framer, data));
                        let outcome = job.await.unwrap_or(Err(Refusal::Close(CloseCode::UnknownError)));
                        match outcome {
                            Ok(identify::Resumed { id, generation, events: rx, missed }) => {
                                session = Some((id, generation));
                                events = Some(rx);
                                let mut failed = false;
                                for frame in missed {
                                    if out.send_frame(frame).await.is_err() {
                                        failed = true;
                                        break;
                                    }
                                }
                                if failed {
                                    break End::Resumable;
                                }
                            }
                            Err(Refusal::Close(code)) => {
                                out.close(code).await;
                                break End::Final;
                            }
                            Err(Refusal::InvalidSession(resumable)) => {
                                if out.op(OpCode::InvalidSession, &json!(resumable)).await.is_err() {
                                    break End::Final;
                                }
                            }
                        }
                    }
                    Some(3 | 4 | 8 | 31 | 43) if session.is_none() => {
                        out.close(CloseCode::NotAuthenticated).await;
                        break End::Final;
                    }
                    Some(8) => {
                        if let Some((id, _)) = &session {
                            ctx.tokio.spawn(members::request(ctx.hub.clone(), id.clone(), d));
                        }
                    }
                    Some(3) => {
                        let (Some((id, _)), Some(p)) = (&session, crate::presence::Presence::parse(&d)) else {
                            out.close(CloseCode::UnknownOpcode).await;
                            break End::Resumable;
                        };
                        if let Some(s) = ctx.hub.get(id) {
                            let user = {
                                let mut core = lock(&s);
                                core.presence = p;
                                core.user
                            };
                            ctx.hub.presence_changed(user);
                        }
                    }
                    Some(4) => {
                        if let Some((id, _)) = &session {
                            ctx.tokio.spawn(crate::voice::update(ctx.hub.clone(), id.clone(), d));
                        }
                    }
                    Some(31 | 43) => {
                        if let Some((id, _)) = &session {
                            ctx.tokio.spawn(empty_lists(ctx.hub.clone(), id.clone(), op == Some(31), d));
                        }
                    }
                    _ => {
                        out.close(CloseCode::UnknownOpcode).await;
                        break End::Resumable;
                    }
                }
            }
            frame = next_event(&mut events) => {
                match frame {
                    Some(SessionOut::Dispatch(seq, kept)) => {
                        sent = sent.saturating_add(1);
                        let frame = out.framer.frame(seq, &kept);
                        drop(kept);
                        if out.send_frame(frame).await.is_err() {
                            break after_write_failure(&mut reader).await;
                        }
                    }
                    Some(SessionOut::Close(code)) => {
                        let reason = CloseCode::from_code(code).map_or("", CloseCode::reason);
                        let _ = out.writer.close(code, reason).await;
                        break End::Final;
                    }
                    None => {
                        // The session dropped this connection (it fell too far behind).
                        out.close(CloseCode::UnknownError).await;
                        break End::Resumable;
                    }
                }
            }
            _ = alarm.at(if probed { deadline } else { deadline - grace / 2 }) => {
                if crate::clock::stopping() {
                    // The loop's top sends op 7.
                    continue;
                }
                if probed {
                    out.close(CloseCode::SessionTimedOut).await;
                    break End::Resumable;
                }
                probed = true;
                if out.op(OpCode::Heartbeat, &Value::Null).await.is_err() {
                    break after_write_failure(&mut reader).await;
                }
            }
        }
    };

    if let Some((id, generation)) = session
        && let Some(s) = ctx.hub.get(&id)
    {
        let mut core = lock(&s);
        if core.generation() == generation {
            match end {
                End::Final => {
                    drop(core);
                    ctx.hub.remove(&id);
                }
                End::Resumable => core.detach_from(generation),
            }
        }
    }
}
