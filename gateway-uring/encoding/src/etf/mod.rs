//! ETF (Erlang External Term Format) as Discord's `encoding=etf` uses it: the encoder for what
//! the gateway sends and the re-export of the decoder for what clients send.
//!
//! The mapping between JSON and terms is erlpack's: `null` is the atom `nil`, booleans are the
//! atoms `true` and `false`, strings are binaries, objects are maps with binary keys, arrays
//! are proper lists, integers take the smallest integer term that holds them and floats are
//! IEEE doubles.

mod decode;

pub use decode::{MAX_DEPTH, decode};

use serde_json::{Number, Value};

/// A payload the client sent that is not ETF Accord accepts.
#[derive(Debug, thiserror::Error)]
#[error("invalid ETF: {0}")]
pub struct EtfError(pub String);

/// The tags of the term types Accord reads or writes.
pub(crate) mod tag {
    /// The version byte every external term starts with.
    pub const VERSION: u8 = 131;
    /// IEEE 754 double, 8 bytes big-endian.
    pub const NEW_FLOAT: u8 = 70;
    /// Unsigned 8-bit integer.
    pub const SMALL_INTEGER: u8 = 97;
    /// Signed 32-bit integer, big-endian.
    pub const INTEGER: u8 = 98;
    /// Atom, 16-bit length, Latin-1 (deprecated by Erlang, still sent by some encoders).
    pub const ATOM: u8 = 100;
    /// The empty list.
    pub const NIL: u8 = 106;
    /// A list of bytes, 16-bit length.
    pub const STRING: u8 = 107;
    /// A list, 32-bit length, followed by its tail.
    pub const LIST: u8 = 108;
    /// A byte string, 32-bit length.
    pub const BINARY: u8 = 109;
    /// A bignum with an 8-bit digit count, a sign byte and little-endian digits.
    pub const SMALL_BIG: u8 = 110;
    /// A bignum with a 32-bit digit count.
    pub const LARGE_BIG: u8 = 111;
    /// Atom, 8-bit length, Latin-1: what the encoder writes.
    pub const SMALL_ATOM: u8 = 115;
    /// A map, 32-bit arity, followed by key/value pairs.
    pub const MAP: u8 = 116;
    /// Atom, 16-bit length, UTF-8.
    pub const ATOM_UTF8: u8 = 118;
    /// Atom, 8-bit length, UTF-8.
    pub const SMALL_ATOM_UTF8: u8 = 119;
}

/// Encodes a JSON value as ETF (version byte 131 first).
///
/// # Panics
///
/// If a string, array or object is 4 GiB or longer: ETF lengths are 32-bit.
pub fn encode(value: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    encode_into(value, &mut out);
    out
}

/// Appends the ETF form of `value` (version byte 131 first) to `out`; panics as [`encode`].
pub fn encode_into(value: &serde_json::Value, out: &mut Vec<u8>) {
    out.push(tag::VERSION);
    write_term(value, out);
}

fn write_term(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => write_atom("nil", out),
        Value::Bool(true) => write_atom("true", out),
        Value::Bool(false) => write_atom("false", out),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_binary(s, out),
        Value::Array(items) => {
            if !items.is_empty() {
                out.push(tag::LIST);
                write_len(items.len(), out);
                for item in items {
                    write_term(item, out);
                }
            }
            // The tail of a proper list, and the whole of an empty one.
            out.push(tag::NIL);
        }
        Value::Object(map) => {
            out.push(tag::MAP);
            write_len(map.len(), out);
            for (key, value) in map {
                write_binary(key, out);
                write_term(value, out);
            }
        }
    }
}

/// The atoms written are Accord's own ASCII names, so SMALL_ATOM_EXT (Latin-1) holds them.
fn write_atom(name: &str, out: &mut Vec<u8>) {
    out.push(tag::SMALL_ATOM);
    out.push(u8::try_from(name.len()).expect("atom names are short"));
    out.extend_from_slice(name.as_bytes());
}

fn write_binary(s: &str, out: &mut Vec<u8>) {
    out.push(tag::BINARY);
    write_len(s.len(), out);
    out.extend_from_slice(s.as_bytes());
}

/// A 32-bit length. JSON values the gateway sends stay far below 4 GiB per string or
/// collection; a larger one is a bug upstream, not something to truncate silently.
fn write_len(len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(len).expect("ETF lengths are 32-bit");
    out.extend_from_slice(&len.to_be_bytes());
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(u) = n.as_u64() {
        if let Ok(small) = u8::try_from(u) {
            out.push(tag::SMALL_INTEGER);
            out.push(small);
        } else if let Ok(int) = i32::try_from(u) {
            out.push(tag::INTEGER);
            out.extend_from_slice(&int.to_be_bytes());
        } else {
            write_big(false, u, out);
        }
    } else if let Some(i) = n.as_i64() {
        // Negative: as_u64 took every non-negative integer.
        if let Ok(int) = i32::try_from(i) {
            out.push(tag::INTEGER);
            out.extend_from_slice(&int.to_be_bytes());
        } else {
            write_big(true, i.unsigned_abs(), out);
        }
    } else {
        // serde_json numbers are integers or finite floats.
        let f = n.as_f64().unwrap_or(0.0);
        out.push(tag::NEW_FLOAT);
        out.extend_from_slice(&f.to_be_bytes());
    }
}

/// SMALL_BIG_EXT: digit count, sign (1 = negative), magnitude in little-endian bytes.
fn write_big(negative: bool, magnitude: u64, out: &mut Vec<u8>) {
    let digits = magnitude.to_le_bytes();
    let count = 8 - magnitude.leading_zeros() as usize / 8;
    out.push(tag::SMALL_BIG);
    out.push(u8::try_from(count).expect("at most 8 digits"));
    out.push(u8::from(negative));
    out.extend_from_slice(&digits[..count]);
}
