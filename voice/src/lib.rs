//! Voice gateway and media. Empty until the voice issue builds it.
