//! Shared by the transport's WebSocket tests: reading the next message a client receives.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for one message.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The next text, binary or close message (pings and pongs skipped).
pub async fn next_message<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
) -> Message {
    loop {
        let message = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .expect("no timeout")
            .expect("stream open")
            .expect("no error");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}
