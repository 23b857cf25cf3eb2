//! The `[gateway.compression]` section: how `zlib-stream` and `zstd-stream` connections
//! compress, trading each connection's memory against the size of its messages.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Transport compression settings. The defaults hold a `zstd-stream` connection's context
/// under 64 KiB (about 58 KiB) with messages deep in a busy stream within 10% of the size
/// Discord's own tuning gives (zstd level 6 with `zstd_window_log = 18`, `zstd_hash_log = 16`,
/// `zstd_chain_log = 16`, `zstd_max_block_size = 0`), which takes about 1.3 MiB per
/// connection (see `benches/README.md`). A quiet `zlib-stream` connection (nothing sent for a
/// heartbeat interval) gives its deflate state back whatever these say; a quiet JSON
/// `zstd-stream` connection gives its context back while `zstd_share_when_quiet` is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayCompressionConfig {
    /// zlib compression level for `zlib-stream`, 0 (stored, no compression) to 9.
    pub zlib_level: u32,
    /// log2 of the deflate window for `zlib-stream`, 9 to 15 (how far back a message may
    /// refer).
    pub zlib_window_bits: u8,
    /// zstd compression level for `zstd-stream`, 1 to 22.
    pub zstd_level: i32,
    /// zstd `windowLog` for `zstd-stream`, 10 to 31: log2 of how far back a message may refer.
    /// Each step up doubles the context's buffers.
    pub zstd_window_log: u32,
    /// zstd `hashLog`, 6 to 30: log2 of the entries in the match finder's hash table.
    pub zstd_hash_log: u32,
    /// zstd `chainLog`, 6 to 30: log2 of the entries in the match finder's chain table.
    pub zstd_chain_log: u32,
    /// zstd's largest block in bytes for `zstd-stream`, 1024 to 131072, or 0 for zstd's own
    /// (128 KiB, or the window if that is smaller). The context's input, output, sequence and
    /// literal buffers are sized by it; a message longer than one block is split into several,
    /// which costs a little size.
    pub zstd_max_block_size: u32,
    /// Whether a quiet JSON `zstd-stream` connection (nothing sent for a heartbeat interval)
    /// gives its context back. Until it is busy again (4 or more messages in an interval) its
    /// messages are compressed alone, and a message to many quiet connections once per gateway
    /// thread for all of them: an idle connection holds no context (about 58 KiB at the
    /// defaults), and a fan-out to thousands costs a copy per connection instead of a
    /// compression, while each such message is larger (it cannot refer to earlier ones) and
    /// starts with 17 spaces of JSON whitespace. Off, every connection keeps its context as
    /// long as it lives.
    pub zstd_share_when_quiet: bool,
}

impl Default for GatewayCompressionConfig {
    fn default() -> Self {
        Self {
            zlib_level: 6,
            zlib_window_bits: 15,
            zstd_level: 6,
            zstd_window_log: 13,
            zstd_hash_log: 11,
            zstd_chain_log: 11,
            zstd_max_block_size: 1536,
            zstd_share_when_quiet: true,
        }
    }
}
