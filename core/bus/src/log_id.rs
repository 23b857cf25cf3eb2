//! A position in the Redis event log: a stream entry id (`<milliseconds>-<sequence>`), ordered
//! as Redis orders them.

use std::fmt;
use std::str::FromStr;

/// A stream entry id. `LogId::ZERO` is before every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence within the millisecond.
    pub seq: u64,
}

impl LogId {
    /// Before every entry.
    pub const ZERO: LogId = LogId { ms: 0, seq: 0 };
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The text is not a stream entry id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a stream entry id: {0:?}")]
pub struct BadLogId(String);

impl FromStr for LogId {
    type Err = BadLogId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadLogId(s.to_owned());
        let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
        Ok(LogId {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prints_and_orders_like_redis() {
        let a: LogId = "1700000000000-0".parse().unwrap();
        let b: LogId = "1700000000000-11".parse().unwrap();
        let c: LogId = "1700000000001-2".parse().unwrap();
        assert!(LogId::ZERO < a && a < b && b < c);
        assert_eq!(b.to_string(), "1700000000000-11");
        for bad in ["", "1", "1-", "-1", "a-1", "1-2-3"] {
            assert!(bad.parse::<LogId>().is_err(), "{bad:?}");
        }
    }
}
