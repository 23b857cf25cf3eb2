//! Voice gateway and media. Empty: no issue has asked for voice yet.
