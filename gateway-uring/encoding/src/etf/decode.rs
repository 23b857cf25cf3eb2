//! The ETF decoder for client payloads: untrusted bytes in, the JSON value their JSON form
//! would give out, or an [`EtfError`] the gateway answers by closing with 4002.
//!
//! Every length is checked against the bytes that are left before anything is allocated for
//! it, nesting is bounded by [`MAX_DEPTH`], and the whole input must be one term.

use serde_json::{Map, Number, Value};

use super::{EtfError, tag};

/// How deeply lists and maps may nest in a client payload. Gateway commands nest a handful of
/// levels; the limit keeps the recursive decoder's stack use small and fixed.
pub const MAX_DEPTH: usize = 64;

/// Decodes a client payload into the same JSON value its JSON form would give.
pub fn decode(bytes: &[u8]) -> Result<serde_json::Value, EtfError> {
    let mut reader = Reader { bytes, pos: 0 };
    let version = reader.u8()?;
    if version != tag::VERSION {
        return Err(error(format!("version byte {version}, expected 131")));
    }
    let value = reader.term(0)?;
    if reader.pos != bytes.len() {
        let extra = bytes.len() - reader.pos;
        return Err(error(format!("{extra} bytes after the term")));
    }
    Ok(value)
}

fn error(message: impl Into<String>) -> EtfError {
    EtfError(message.into())
}

/// A cursor over the payload.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], EtfError> {
        if len > self.remaining() {
            return Err(error(format!(
                "needs {len} bytes at offset {}, {} left",
                self.pos,
                self.remaining()
            )));
        }
        let slice = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EtfError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, EtfError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<usize, EtfError> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn u32(&mut self) -> Result<usize, EtfError> {
        usize::try_from(u32::from_be_bytes(self.array()?)).map_err(|_| error("length too large"))
    }

    /// A count of things that each take at least `min_bytes` more bytes: refused when the
    /// input cannot hold that many, so no allocation follows an absurd claim.
    fn count(&mut self, min_bytes: usize) -> Result<usize, EtfError> {
        let count = self.u32()?;
        if count.saturating_mul(min_bytes) > self.remaining() {
            return Err(error(format!(
                "claims {count} elements with {} bytes left",
                self.remaining()
            )));
        }
        Ok(count)
    }

    fn term(&mut self, depth: usize) -> Result<Value, EtfError> {
        let tag = self.u8()?;
        match tag {
            tag::SMALL_INTEGER => Ok(Value::from(self.u8()?)),
            tag::INTEGER => Ok(Value::from(i32::from_be_bytes(self.array()?))),
            tag::NEW_FLOAT => {
                let f = f64::from_be_bytes(self.array()?);
                Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| error("float is not finite"))
            }
            tag::SMALL_BIG => {
                let digits = usize::from(self.u8()?);
                self.big(digits)
            }
            tag::LARGE_BIG => {
                let digits = self.u32()?;
                self.big(digits)
            }
            tag::ATOM | tag::ATOM_UTF8 => {
                let len = self.u16()?;
                self.atom(len, tag == tag::ATOM_UTF8)
            }
            tag::SMALL_ATOM | tag::SMALL_ATOM_UTF8 => {
                let len = usize::from(self.u8()?);
                self.atom(len, tag == tag::SMALL_ATOM_UTF8)
            }
            tag::BINARY => {
                let len = self.u32()?;
                let bytes = self.take(len)?;
                let s =
                    std::str::from_utf8(bytes).map_err(|_| error("binary is not UTF-8 text"))?;
                Ok(Value::String(s.to_owned()))
            }
            tag::STRING => {
                // A list of bytes. erlpack clients send text as binaries, but Erlang writes
                // short byte lists this way: text when it is UTF-8, otherwise the numbers.
                let len = self.u16()?;
                let bytes = self.take(len)?;
                Ok(match std::str::from_utf8(bytes) {
                    Ok(s) => Value::String(s.to_owned()),
                    Err(_) => Value::Array(bytes.iter().map(|&b| Value::from(b)).collect()),
                })
            }
            tag::NIL => Ok(Value::Array(Vec::new())),
            tag::LIST => {
                let depth = nest(depth)?;
                // Each element is at least one byte, and the tail one more.
                let len = self.count(1)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.term(depth)?);
                }
                match self.u8()? {
                    tag::NIL => Ok(Value::Array(items)),
                    other => Err(error(format!("improper list: tail has tag {other}"))),
                }
            }
            tag::MAP => {
                let depth = nest(depth)?;
                // A key is at least a BINARY_EXT header (5 bytes), a value at least 1 byte.
                let arity = self.count(6)?;
                let mut map = Map::new();
                for _ in 0..arity {
                    let key = self.key()?;
                    let value = self.term(depth)?;
                    map.insert(key, value);
                }
                Ok(Value::Object(map))
            }
            other => Err(error(format!("unsupported term tag {other}"))),
        }
    }

    /// A map key: only binaries, since JSON keys are strings and clients must send them so.
    fn key(&mut self) -> Result<String, EtfError> {
        match self.u8()? {
            tag::BINARY => {
                let len = self.u32()?;
                let bytes = self.take(len)?;
                std::str::from_utf8(bytes)
                    .map(str::to_owned)
                    .map_err(|_| error("map key is not UTF-8 text"))
            }
            tag::ATOM | tag::ATOM_UTF8 | tag::SMALL_ATOM | tag::SMALL_ATOM_UTF8 => {
                Err(error("map key is an atom; keys must be binaries"))
            }
            other => Err(error(format!(
                "map key has tag {other}; keys must be binaries"
            ))),
        }
    }

    /// An atom's name: `nil`, `true` and `false` are JSON's literals, any other atom becomes
    /// its name as a string. The non-UTF-8 atom tags are Latin-1.
    fn atom(&mut self, len: usize, utf8: bool) -> Result<Value, EtfError> {
        let bytes = self.take(len)?;
        let name: String = if utf8 {
            std::str::from_utf8(bytes)
                .map_err(|_| error("UTF-8 atom is not UTF-8"))?
                .to_owned()
        } else {
            bytes.iter().map(|&b| char::from(b)).collect()
        };
        Ok(match name.as_str() {
            "nil" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(name),
        })
    }

    /// A bignum's sign and `digits` little-endian bytes; it must fit a JSON integer (`u64`
    /// when positive, `i64` when negative). High zero digits are allowed.
    fn big(&mut self, digits: usize) -> Result<Value, EtfError> {
        let negative = match self.u8()? {
            0 => false,
            1 => true,
            other => return Err(error(format!("bignum sign byte {other}"))),
        };
        let bytes = self.take(digits)?;
        let (low, high) = bytes.split_at(digits.min(8));
        if high.iter().any(|&b| b != 0) {
            return Err(error("integer does not fit 64 bits"));
        }
        let mut le = [0u8; 8];
        le[..low.len()].copy_from_slice(low);
        let magnitude = u64::from_le_bytes(le);
        if !negative {
            return Ok(Value::from(magnitude));
        }
        if magnitude == 0 {
            return Ok(Value::from(0u64));
        }
        // -(magnitude) fits i64 down to -2^63.
        0i64.checked_sub_unsigned(magnitude)
            .map(Value::from)
            .ok_or_else(|| error("negative integer does not fit 64 bits"))
    }
}

/// One more level of nesting, refused past [`MAX_DEPTH`].
fn nest(depth: usize) -> Result<usize, EtfError> {
    if depth >= MAX_DEPTH {
        return Err(error(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    Ok(depth + 1)
}
