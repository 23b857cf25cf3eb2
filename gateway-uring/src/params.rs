//! The connection's query string: `v` (9 or 10), `encoding` (`json` or `etf`) and `compress`
//! (`zlib-stream` or `zstd-stream`).

use accord_gateway_encoding::CompressKind;
use accord_model::CloseCode;

/// Payload encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// JSON text.
    #[default]
    Json,
    /// Erlang External Term Format.
    Etf,
}

/// What the client asked for in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// API version.
    pub version: u8,
    /// Payload encoding.
    pub encoding: Encoding,
    /// Transport compression.
    pub compress: CompressKind,
}

impl Params {
    /// Parses the raw query string. A missing `v` means 10 (clients always send it; browsers
    /// probing the port do not); an unsupported version closes with 4012, an unknown encoding
    /// or compression with 4002.
    pub fn parse(query: &str) -> Result<Self, CloseCode> {
        let mut params = Params {
            version: 10,
            encoding: Encoding::Json,
            compress: CompressKind::None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "v" => {
                    params.version = match value {
                        "9" => 9,
                        "10" => 10,
                        _ => return Err(CloseCode::InvalidApiVersion),
                    }
                }
                "encoding" => {
                    params.encoding = match value {
                        "json" => Encoding::Json,
                        "etf" => Encoding::Etf,
                        _ => return Err(CloseCode::DecodeError),
                    }
                }
                "compress" => {
                    params.compress = match value {
                        "" => CompressKind::None,
                        other => CompressKind::parse(other).ok_or(CloseCode::DecodeError)?,
                    }
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_clients_send() {
        let p = Params::parse("v=10&encoding=json&compress=zlib-stream").unwrap();
        assert_eq!(p.version, 10);
        assert_eq!(p.encoding, Encoding::Json);
        assert_eq!(p.compress, CompressKind::ZlibStream);
        let p = Params::parse("encoding=etf&v=9&compress=zstd-stream").unwrap();
        assert_eq!((p.version, p.encoding), (9, Encoding::Etf));
        assert_eq!(p.compress, CompressKind::ZstdStream);
        assert_eq!(Params::parse("").unwrap().version, 10);
    }

    #[test]
    fn refuses_what_it_cannot_speak() {
        assert_eq!(Params::parse("v=8"), Err(CloseCode::InvalidApiVersion));
        assert_eq!(Params::parse("v=abc"), Err(CloseCode::InvalidApiVersion));
        assert_eq!(
            Params::parse("v=10&encoding=xml"),
            Err(CloseCode::DecodeError)
        );
        assert_eq!(
            Params::parse("v=10&compress=gzip"),
            Err(CloseCode::DecodeError)
        );
    }
}
