//! The io_uring WebSocket gateway. Empty until the gateway issue builds it: this crate exposes
//! nothing, so no part of Accord can mistake it for a working gateway.
