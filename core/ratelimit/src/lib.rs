//! Rate-limit counters shared by the REST API's limiter and the edge's throttle: a generic cell
//! rate algorithm charged over several keys at once, all or nothing ([`counters`]), kept in
//! this process ([`memory`]) or in Redis, atomically on Redis's clock ([`redis`]).

pub mod counters;
pub mod memory;
pub mod redis;
