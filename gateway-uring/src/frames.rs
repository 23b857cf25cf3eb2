//! Gateway messages as bytes: the `{op, d, s, t}` envelope in JSON (the `d` of a dispatch is
//! serialised once by the publisher and spliced in, so every session shares it) or in ETF.
//! A dispatch comes out as a whole WebSocket frame (header included): an uncompressed
//! connection writes it as it is, a compressing one compresses [`payload`].

use accord_gateway_encoding::etf;
use accord_gateway_transport::codec::{self, HEADROOM, OP_BINARY, OP_TEXT};
use accord_model::OpCode;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::core::Kept;
use crate::params::Encoding;

/// Builds envelopes in one encoding.
#[derive(Debug, Clone, Copy)]
pub struct Framer {
    /// The connection's encoding.
    pub encoding: Encoding,
}

impl Framer {
    /// A non-dispatch message (`s` and `t` null).
    pub fn op(&self, op: OpCode, d: &Value) -> Bytes {
        match self.encoding {
            Encoding::Json => {
                let mut out = Vec::with_capacity(48);
                out.extend_from_slice(b"{\"op\":");
                out.extend_from_slice((op as u8).to_string().as_bytes());
                out.extend_from_slice(b",\"d\":");
                // Writing a Value into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut out, d);
                out.extend_from_slice(b",\"s\":null,\"t\":null}");
                out.into()
            }
            Encoding::Etf => {
                etf::encode(&json!({"op": op as u8, "d": d, "s": null, "t": null})).into()
            }
        }
    }

    /// A dispatch with sequence `seq`, event `name` and the JSON text `d`, as a whole
    /// WebSocket frame (text for JSON, binary for ETF). The JSON one is built in a single
    /// allocation of its exact size, its frame header written in front in place.
    pub fn dispatch(&self, seq: u64, name: &str, d: &str) -> Bytes {
        match self.encoding {
            Encoding::Json => {
                const OPEN: &[u8] = b"{\"op\":0,\"s\":";
                const NAME: &[u8] = b",\"t\":\"";
                const DATA: &[u8] = b"\",\"d\":";
                let mut digits = [0u8; 20];
                let seq = decimal(seq, &mut digits);
                let len =
                    OPEN.len() + seq.len() + NAME.len() + name.len() + DATA.len() + d.len() + 1;
                let mut out = Vec::with_capacity(HEADROOM + len);
                out.resize(HEADROOM, 0);
                out.extend_from_slice(OPEN);
                out.extend_from_slice(seq);
                out.extend_from_slice(NAME);
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(DATA);
                out.extend_from_slice(d.as_bytes());
                out.push(b'}');
                codec::seal(out, OP_TEXT)
            }
            Encoding::Etf => {
                let d: Value = serde_json::from_str(d).unwrap_or(Value::Null);
                codec::encode_binary(&etf::encode(&json!({"op": 0, "s": seq, "t": name, "d": d})))
            }
        }
    }

    /// The frame of dispatch `seq` as a session keeps it (see [`Kept`]).
    pub fn frame(&self, seq: u64, kept: &Kept) -> Bytes {
        match kept {
            Kept::Event(event) => self.dispatch(seq, &event.name, &event.data),
            Kept::Frame(frame) => Bytes::clone(frame),
        }
    }

    /// Decodes a client message into its JSON value (JSON through simd-json, which parses in
    /// place: client payloads are at most 4 KiB, so the copy is cheap).
    pub fn decode(&self, bytes: &[u8]) -> Option<Value> {
        match self.encoding {
            Encoding::Json => {
                let mut owned = bytes.to_vec();
                simd_json::serde::from_slice(&mut owned).ok()
            }
            Encoding::Etf => etf::decode(bytes).ok(),
        }
    }
}

/// `n` in decimal, written at the end of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// The message inside a frame made by [`Framer::dispatch`] (what a compressing connection
/// compresses).
pub fn payload(frame: &[u8]) -> &[u8] {
    &frame[codec::header_len(frame)..]
}

/// Whether a frame made by [`Framer::dispatch`] is a binary one.
pub fn is_binary(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x0f == OP_BINARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_client_json_and_refuses_garbage() {
        let f = Framer {
            encoding: Encoding::Json,
        };
        let v = f
            .decode(br#"{"op":2,"d":{"token":"t","intents":513,"shard":[0,1],"x":1.5,"n":null}}"#)
            .unwrap();
        assert_eq!(
            v,
            json!({"op": 2, "d": {"token": "t", "intents": 513, "shard": [0, 1], "x": 1.5, "n": null}})
        );
        assert!(f.decode(b"{not json").is_none());
        assert!(f.decode(b"").is_none());
        assert!(f.decode(b"{\"op\":1} trailing").is_none());
    }

    #[test]
    fn json_envelopes() {
        let f = Framer {
            encoding: Encoding::Json,
        };
        let hello: Value =
            serde_json::from_slice(&f.op(OpCode::Hello, &json!({"heartbeat_interval": 41250})))
                .unwrap();
        assert_eq!(
            hello,
            json!({"op": 10, "d": {"heartbeat_interval": 41250}, "s": null, "t": null})
        );
        let frame = f.dispatch(7, "MESSAGE_CREATE", r#"{"id":"1"}"#);
        assert_eq!(frame[0], 0x80 | OP_TEXT, "a final text frame");
        assert!(!is_binary(&frame));
        let d: Value = serde_json::from_slice(payload(&frame)).unwrap();
        assert_eq!(
            d,
            json!({"op": 0, "s": 7, "t": "MESSAGE_CREATE", "d": {"id": "1"}})
        );
        assert_eq!(usize::from(frame[1]), payload(&frame).len());
        // Long payloads take the 16-bit length form; the frame is exactly header + payload.
        let long = format!("{{\"content\":\"{}\"}}", "x".repeat(5000));
        let frame = f.dispatch(u64::MAX, "MESSAGE_CREATE", &long);
        assert_eq!(frame[1], 126);
        assert_eq!(frame.len(), 4 + payload(&frame).len());
        let d: Value = serde_json::from_slice(payload(&frame)).unwrap();
        assert_eq!(d["s"], json!(u64::MAX));
        assert_eq!(d["d"]["content"].as_str().unwrap().len(), 5000);
    }
}
