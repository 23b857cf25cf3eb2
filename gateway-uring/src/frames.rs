//! Gateway messages as bytes: the `{op, d, s, t}` envelope in JSON (the `d` of a dispatch is
//! serialised once by the publisher and spliced in, so every session shares it) or in ETF.

use accord_gateway_encoding::etf;
use accord_model::OpCode;
use bytes::Bytes;
use serde_json::{Value, json};

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

    /// A dispatch with sequence `seq`, event `name` and the JSON text `d`.
    pub fn dispatch(&self, seq: u64, name: &str, d: &str) -> Bytes {
        match self.encoding {
            Encoding::Json => {
                let mut out = Vec::with_capacity(d.len() + name.len() + 40);
                out.extend_from_slice(b"{\"op\":0,\"s\":");
                out.extend_from_slice(seq.to_string().as_bytes());
                out.extend_from_slice(b",\"t\":\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\",\"d\":");
                out.extend_from_slice(d.as_bytes());
                out.push(b'}');
                out.into()
            }
            Encoding::Etf => {
                let d: Value = serde_json::from_str(d).unwrap_or(Value::Null);
                etf::encode(&json!({"op": 0, "s": seq, "t": name, "d": d})).into()
            }
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
        let d: Value =
            serde_json::from_slice(&f.dispatch(7, "MESSAGE_CREATE", r#"{"id":"1"}"#)).unwrap();
        assert_eq!(
            d,
            json!({"op": 0, "s": 7, "t": "MESSAGE_CREATE", "d": {"id": "1"}})
        );
    }
}
