//! Sans-I/O RFC 6455 frame codec for the server side: a decoder that turns bytes received from a
//! client into whole messages, and encoders for the (unmasked) frames the server sends.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::WsError;

/// Frame opcode: continuation of a fragmented message.
pub const OP_CONTINUATION: u8 = 0x0;
/// Frame opcode: text message (UTF-8).
pub const OP_TEXT: u8 = 0x1;
/// Frame opcode: binary message.
pub const OP_BINARY: u8 = 0x2;
/// Frame opcode: connection close.
pub const OP_CLOSE: u8 = 0x8;
/// Frame opcode: ping.
pub const OP_PING: u8 = 0x9;
/// Frame opcode: pong.
pub const OP_PONG: u8 = 0xA;

/// Largest payload of a control frame (close, ping, pong).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A complete message or control frame decoded from the client's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message; the payload is valid UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping with its application data.
    Ping(Bytes),
    /// A pong with its application data.
    Pong(Bytes),
    /// A close frame: `None` when it carried no payload, else the code and the reason.
    Close(Option<(u16, String)>),
}

/// A frame header parsed from the front of the buffer.
#[derive(Debug, Clone, Copy)]
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Bytes taken by the header, including the masking key.
    header_len: usize,
    payload_len: usize,
}

/// The text/binary message being reassembled from fragments.
#[derive(Debug)]
struct Partial {
    opcode: u8,
    data: BytesMut,
}

/// Incremental decoder of client frames.
///
/// Append received bytes to a [`BytesMut`] and call [`Decoder::decode`] until it returns
/// `Ok(None)` (more bytes needed). After an error the stream is unusable: the caller must close
/// the connection.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    partial: Option<Partial>,
}

fn protocol(msg: &str) -> WsError {
    WsError::Protocol(msg.to_owned())
}

/// Whether a close code may appear in a close frame on the wire (RFC 6455 §7.4).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

impl Decoder {
    /// A decoder refusing messages (after reassembly) longer than `max_message` bytes.
    pub fn new(max_message: usize) -> Decoder {
        Decoder {
            max_message,
            partial: None,
        }
    }

    /// Decodes the next complete message from the front of `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete frame yet (consumed fragments of a
    /// message are kept inside the decoder). Control frames are returned even in the middle of
    /// a fragmented message.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, WsError> {
        loop {
            let Some(header) = self.parse_header(buf)? else {
                return Ok(None);
            };
            let total = header.header_len + header.payload_len;
            if buf.len() < total {
                buf.reserve(total - buf.len());
                return Ok(None);
            }
            buf.advance(header.header_len);
            let mut payload = buf.split_to(header.payload_len);
            unmask(&mut payload, header.mask);
            if let Some(message) = self.on_frame(header, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// Validates the header at the front of `buf`; `None` when it is not complete yet.
    fn parse_header(&self, buf: &[u8]) -> Result<Option<Header>, WsError> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (buf[0], buf[1]);
        let fin = b0 & 0x80 != 0;
        if b0 & 0x70 != 0 {
            return Err(protocol("reserved bits set"));
        }
        let opcode = b0 & 0x0F;
        let control = opcode >= 0x8;
        match opcode {
            OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
            _ => return Err(protocol("unknown opcode")),
        }
        if b1 & 0x80 == 0 {
            return Err(protocol("client frame not masked"));
        }
        if control && !fin {
            return Err(protocol("fragmented control frame"));
        }
        match (opcode, &self.partial) {
            (OP_CONTINUATION, None) => return Err(protocol("continuation without a message")),
            (OP_TEXT | OP_BINARY, Some(_)) => {
                return Err(protocol("new message inside a fragmented one"));
            }
            _ => {}
        }
        let len7 = usize::from(b1 & 0x7F);
        let (payload_len, len_bytes) = match len7 {
            126 => {
                if buf.len() < 4 {
                    return Ok(None);
                }
                let len = u16::from_be_bytes([buf[2], buf[3]]);
                if len < 126 {
                    return Err(protocol("non-minimal length"));
                }
                (u64::from(len), 2)
            }
            127 => {
                if buf.len() < 10 {
                    return Ok(None);
                }
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&buf[2..10]);
                let len = u64::from_be_bytes(raw);
                if len >> 63 != 0 {
                    return Err(protocol("length with the most significant bit set"));
                }
                if len <= u64::from(u16::MAX) {
                    return Err(protocol("non-minimal length"));
                }
                (len, 8)
            }
            n => (n as u64, 0),
        };
        if control && payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(protocol("control frame too long"));
        }
        if !control {
            let already = self.partial.as_ref().map_or(0, |p| p.data.len()) as u64;
            if already.saturating_add(payload_len) > self.max_message as u64 {
                return Err(WsError::TooLarge);
            }
        }
        let mask_at = 2 + len_bytes;
        if buf.len() < mask_at + 4 {
            return Ok(None);
        }
        let mask = [
            buf[mask_at],
            buf[mask_at + 1],
            buf[mask_at + 2],
            buf[mask_at + 3],
        ];
        Ok(Some(Header {
            fin,
            opcode,
            mask,
            header_len: mask_at + 4,
            // Data frames were checked against `max_message` (a usize) and control frames
            // against 125, so this fits.
            payload_len: payload_len as usize,
        }))
    }

    /// Handles one unmasked frame; returns a message once one is complete.
    fn on_frame(&mut self, header: Header, payload: BytesMut) -> Result<Option<Message>, WsError> {
        match header.opcode {
            OP_PING => Ok(Some(Message::Ping(payload.freeze()))),
            OP_PONG => Ok(Some(Message::Pong(payload.freeze()))),
            OP_CLOSE => parse_close(&payload).map(|c| Some(Message::Close(c))),
            OP_CONTINUATION => {
                let partial = self
                    .partial
                    .as_mut()
                    .ok_or_else(|| protocol("continuation without a message"))?;
                partial.data.extend_from_slice(&payload);
                if header.fin {
                    let done = self.partial.take().map(|p| (p.opcode, p.data));
                    match done {
                        Some((opcode, data)) => finish(opcode, data).map(Some),
                        None => Ok(None),
                    }
                } else {
                    Ok(None)
                }
            }
            opcode if header.fin => finish(opcode, payload).map(Some),
            opcode => {
                self.partial = Some(Partial {
                    opcode,
                    data: payload,
                });
                Ok(None)
            }
        }
    }
}

/// Turns a reassembled data message into a [`Message`], checking text for UTF-8.
fn finish(opcode: u8, data: BytesMut) -> Result<Message, WsError> {
    if opcode == OP_TEXT {
        if std::str::from_utf8(&data).is_err() {
            return Err(protocol("text message is not valid UTF-8"));
        }
        Ok(Message::Text(data.freeze()))
    } else {
        Ok(Message::Binary(data.freeze()))
    }
}

/// Parses a close frame's payload: empty, or a valid code followed by a UTF-8 reason.
fn parse_close(payload: &[u8]) -> Result<Option<(u16, String)>, WsError> {
    match payload {
        [] => Ok(None),
        [_] => Err(protocol("close payload of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                return Err(protocol("invalid close code"));
            }
            let reason =
                std::str::from_utf8(reason).map_err(|_| protocol("close reason is not UTF-8"))?;
            Ok(Some((code, reason.to_owned())))
        }
    }
}

/// XORs `data` with the 4-byte masking key (masking and unmasking are the same operation).
pub fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let mut chunks = data.chunks_exact_mut(4);
    for chunk in &mut chunks {
        for (byte, key) in chunk.iter_mut().zip(mask) {
            *byte ^= key;
        }
    }
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask) {
        *byte ^= key;
    }
}

/// Appends one unmasked frame with FIN set (the form every server frame takes here).
pub fn encode_frame(dst: &mut BytesMut, opcode: u8, payload: &[u8]) {
    dst.reserve(payload.len() + 10);
    dst.put_u8(0x80 | opcode);
    put_len(dst, payload.len(), 0);
    dst.extend_from_slice(payload);
}

/// Writes the length byte(s) with the smallest encoding; `mask_bit` is 0x80 or 0.
pub(crate) fn put_len(dst: &mut BytesMut, len: usize, mask_bit: u8) {
    if len < 126 {
        dst.put_u8(mask_bit | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        dst.put_u8(mask_bit | 126);
        dst.put_u16(short);
    } else {
        dst.put_u8(mask_bit | 127);
        dst.put_u64(len as u64);
    }
}

/// Room a caller leaves in front of a payload for [`seal`]: the longest header of an unmasked
/// frame (2 bytes, 8 of extended length).
pub const HEADROOM: usize = 10;

/// Turns `buf` — [`HEADROOM`] bytes of room followed by a payload — into one unmasked frame
/// with `opcode`: the header is written into the room right before the payload and the unused
/// front of the room is skipped, so a message built this way becomes a frame with no copy and
/// no second allocation (a fan-out builds one per recipient).
///
/// # Panics
/// If `buf` is shorter than [`HEADROOM`].
pub fn seal(mut buf: Vec<u8>, opcode: u8) -> Bytes {
    let len = buf.len() - HEADROOM;
    let mut head = [0u8; HEADROOM];
    head[0] = 0x80 | opcode;
    let n = if len < 126 {
        head[1] = len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        head[1] = 126;
        head[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    let start = HEADROOM - n;
    buf[start..HEADROOM].copy_from_slice(&head[..n]);
    // Taken over without a copy (and without a second allocation when the buffer is full to
    // its capacity); the unused front of the room is skipped.
    let mut frame = Bytes::from(buf);
    frame.advance(start);
    frame
}

/// The header's length of an unmasked frame as [`seal`] and the `encode_*` functions write it
/// (what precedes the payload).
pub fn header_len(frame: &[u8]) -> usize {
    match frame.get(1).map(|b| b & 0x7f) {
        Some(126) => 4,
        Some(127) => 10,
        _ => 2,
    }
}

/// A text frame.
pub fn encode_text(payload: &[u8]) -> Bytes {
    one_frame(OP_TEXT, payload)
}

/// A binary frame.
pub fn encode_binary(payload: &[u8]) -> Bytes {
    one_frame(OP_BINARY, payload)
}

/// A ping frame (payload truncated to 125 bytes).
pub fn encode_ping(payload: &[u8]) -> Bytes {
    one_frame(OP_PING, &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)])
}

/// A pong frame (payload truncated to 125 bytes).
pub fn encode_pong(payload: &[u8]) -> Bytes {
    one_frame(OP_PONG, &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)])
}

/// A close frame with `code` and `reason`; the reason is cut (on a character boundary) so the
/// payload stays within 125 bytes. `None` gives an empty close frame.
pub fn encode_close(close: Option<(u16, &str)>) -> Bytes {
    let mut payload = Vec::with_capacity(MAX_CONTROL_PAYLOAD);
    if let Some((code, reason)) = close {
        payload.extend_from_slice(&code.to_be_bytes());
        let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        payload.extend_from_slice(&reason.as_bytes()[..end]);
    }
    one_frame(OP_CLOSE, &payload)
}

fn one_frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut dst = BytesMut::with_capacity(payload.len() + 10);
    encode_frame(&mut dst, opcode, payload);
    dst.freeze()
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
