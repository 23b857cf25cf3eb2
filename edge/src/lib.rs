//! The Pingora edge proxy. Empty until the edge issue builds it: nothing here pretends to proxy.
