//! `/channels/*`.
