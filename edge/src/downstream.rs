//! The client's side of one request: Pingora's HTTP session (HTTP/1.1 or HTTP/2) and what the
//! edge adds to every response head it writes — the HTTPS listener's
//! `Strict-Transport-Security` — so the edge's own answers (403, 429, 502...) carry it as well
//! as the upstreams'.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bytes::Bytes;
use pingora::Result;
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;

/// One request's client session.
pub struct Downstream {
    session: ServerSession,
    /// The `Strict-Transport-Security` value of every response (HTTPS listener only).
    hsts: Option<Arc<str>>,
}

impl Downstream {
    /// Wraps `session`; `hsts` is added to every response head written through it.
    pub fn new(session: ServerSession, hsts: Option<Arc<str>>) -> Self {
        Self { session, hsts }
    }

    /// The session, once the request is over (to reuse its connection).
    pub fn into_inner(self) -> ServerSession {
        self.session
    }

    /// Writes a response head (an informational one is passed as it is), adding
    /// `Strict-Transport-Security` on the HTTPS listener; with `end_of_stream` the response
    /// has no body and is finished.
    pub async fn write_response_header(
        &mut self,
        mut resp: Box<ResponseHeader>,
        end_of_stream: bool,
    ) -> Result<()> {
        if let Some(hsts) = &self.hsts
            && !resp.status.is_informational()
        {
            resp.insert_header("strict-transport-security", hsts.as_ref())?;
        }
        self.session.write_response_header(resp).await?;
        if end_of_stream {
            self.session.finish_body().await?;
        }
        Ok(())
    }

    /// Writes a piece of the response body; `None` with `end_of_stream` ends the body.
    pub async fn write_response_body(
        &mut self,
        body: Option<Bytes>,
        end_of_stream: bool,
    ) -> Result<()> {
        match body {
            Some(data) => self.session.write_response_body(data, end_of_stream).await,
            None if end_of_stream => self.session.finish_body().await,
            None => Ok(()),
        }
    }
}

impl Deref for Downstream {
    type Target = ServerSession;

    fn deref(&self) -> &ServerSession {
        &self.session
    }
}

impl DerefMut for Downstream {
    fn deref_mut(&mut self) -> &mut ServerSession {
        &mut self.session
    }
}
