//! Discord-style JSON answers (`{"message", "code"}`) for requests the edge cannot proxy:
//! 502 when no upstream address can be reached or the upstream breaks the exchange, 504 when
//! it times out, 413/431 for the limits of `[edge.limits]`, 408 for a client too slow to send
//! its request, instead of Pingora's default empty pages.

use crate::downstream::Downstream;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::{Error, ErrorSource, ErrorType, Result};

/// Discord's JSON error code for a request body that is too large ("Request entity too large").
pub const ENTITY_TOO_LARGE_CODE: u32 = 40005;

/// The status, message and JSON code answering error `e`; status 0 when the client's
/// connection is already gone (nothing can be sent).
pub fn classify(e: &Error) -> (u16, &'static str, u32) {
    use ErrorType::{
        ConnectTimedout, ConnectionClosed, HTTPStatus, ReadError, ReadTimedout,
        TLSHandshakeTimedout, WriteError, WriteTimedout,
    };
    match (e.etype(), e.esource()) {
        (HTTPStatus(code), _) => (*code, status_message(*code), status_code(*code)),
        (
            ConnectTimedout | ReadTimedout | WriteTimedout | TLSHandshakeTimedout,
            ErrorSource::Upstream,
        ) => (504, status_message(504), 0),
        (_, ErrorSource::Upstream) => (502, status_message(502), 0),
        (ReadError | WriteError | ConnectionClosed | WriteTimedout, ErrorSource::Downstream) => {
            (0, "", 0)
        }
        (ReadTimedout, ErrorSource::Downstream) => (408, status_message(408), 0),
        (_, ErrorSource::Downstream) => (400, status_message(400), 0),
        (_, ErrorSource::Internal | ErrorSource::Unset) => (500, status_message(500), 0),
    }
}

/// Discord's `"NNN: Reason"` message for the statuses the edge answers with itself.
pub fn status_message(status: u16) -> &'static str {
    match status {
        400 => "400: Bad Request",
        403 => "403: Forbidden",
        404 => "404: Not Found",
        408 => "408: Request Timeout",
        413 => "Request entity too large",
        429 => "You are being rate limited.",
        431 => "431: Request Header Fields Too Large",
        502 => "502: Bad Gateway",
        503 => "503: Service Unavailable",
        504 => "504: Gateway Timeout",
        _ => "500: Internal Server Error",
    }
}

/// The JSON `code` sent with `status`.
fn status_code(status: u16) -> u32 {
    if status == 413 {
        ENTITY_TOO_LARGE_CODE
    } else {
        0
    }
}

/// Writes a Discord-style JSON error (`{"message", "code"}`) and ends the response.
pub async fn respond_json(
    session: &mut Downstream,
    status: u16,
    message: &str,
    code: u32,
) -> Result<()> {
    let body = serde_json::json!({ "message": message, "code": code }).to_string();
    respond(session, status, &[], body).await
}

/// Writes a JSON response with extra `headers` and ends it.
pub async fn respond(
    session: &mut Downstream,
    status: u16,
    headers: &[(&'static str, String)],
    body: String,
) -> Result<()> {
    let mut resp = ResponseHeader::build(status, Some(2 + headers.len()))?;
    for (name, value) in headers {
        resp.insert_header(*name, value.as_str())?;
    }
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from(body)), true)
        .await
}

/// The edge's `fail_to_proxy`: the JSON answer for `e` when no response has been started yet
/// (once the upstream's head went out, the connection can only be closed). The client's
/// connection is not reused. Returns the status answered (or already sent), 0 when nothing
/// could be.
pub async fn fail_to_proxy(session: &mut Downstream, e: &Error) -> u16 {
    let (status, message, code) = classify(e);
    match session.response_written() {
        // A `100 Continue` is no answer: the JSON one can still follow it.
        Some(resp) if !resp.status.is_informational() => resp.status.as_u16(),
        _ if status > 0 => {
            session.set_keepalive(None);
            if let Err(err) = respond_json(session, status, message, code).await {
                tracing::debug!("edge: cannot send the {status} answer: {err}");
            } else if matches!(status, 413 | 431) {
                crate::limits::linger(session).await;
            }
            status
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(etype: ErrorType, source: ErrorSource) -> Box<Error> {
        let mut e = Error::new(etype);
        match source {
            ErrorSource::Upstream => e.as_up(),
            ErrorSource::Downstream => e.as_down(),
            _ => {}
        }
        e
    }

    #[test]
    fn upstream_failures_are_502_timeouts_504_and_dead_clients_nothing() {
        use ErrorSource::{Downstream, Unset, Upstream};
        let cases = [
            (ErrorType::ConnectRefused, Upstream, 502, 0),
            (ErrorType::ConnectionClosed, Upstream, 502, 0),
            (ErrorType::ReadTimedout, Upstream, 504, 0),
            (ErrorType::ConnectTimedout, Upstream, 504, 0),
            (ErrorType::HTTPStatus(502), Unset, 502, 0),
            (
                ErrorType::HTTPStatus(413),
                Downstream,
                413,
                ENTITY_TOO_LARGE_CODE,
            ),
            (ErrorType::ReadTimedout, Downstream, 408, 0),
            (ErrorType::ReadError, Downstream, 0, 0),
            (ErrorType::InvalidHTTPHeader, Downstream, 400, 0),
            (ErrorType::InternalError, Unset, 500, 0),
        ];
        for (etype, source, status, code) in cases {
            let e = err(etype.clone(), source.clone());
            let (s, m, c) = classify(&e);
            assert_eq!((s, c), (status, code), "{etype:?} from {source:?}");
            assert_eq!(m.is_empty(), status == 0, "{etype:?}");
        }
        assert_eq!(status_message(504), "504: Gateway Timeout");
    }
}
