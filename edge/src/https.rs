//! What the edge answers itself around HTTPS: the HTTP→HTTPS redirect of the plain listener
//! (`edge.tls.redirect_http`), the ACME HTTP-01 answers, and the `Strict-Transport-Security`
//! value of the HTTPS listener (`[edge.tls.hsts]`), which [`crate::downstream`] adds to every
//! response, the edge's own answers (403, 429, 502...) as well as the upstreams'.

use accord_config::EdgeHstsConfig;
use bytes::Bytes;
use pingora::Result;
use pingora::http::{RequestHeader, ResponseHeader};

use crate::downstream::Downstream;

/// The path prefix of ACME HTTP-01 challenges, never redirected.
pub const HTTP_CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// The `Strict-Transport-Security` value for `config`; `None` when `max_age_secs` is 0.
pub fn hsts_value(config: &EdgeHstsConfig) -> Option<String> {
    if config.max_age_secs == 0 {
        return None;
    }
    let mut value = format!("max-age={}", config.max_age_secs);
    if config.include_subdomains {
        value.push_str("; includeSubDomains");
    }
    if config.preload {
        value.push_str("; preload");
    }
    Some(value)
}

/// The `https://` URL of `req` with `port` (left out when 443); `None` without a usable
/// `Host`.
pub fn https_url(req: &RequestHeader, port: u16) -> Option<String> {
    let host = req
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.host())?
        .trim();
    // Strip the port: `[::1]:80` keeps its brackets, `example.com:80` loses `:80`.
    let name = match host.rfind(']') {
        Some(end) => &host[..=end],
        None => host.split(':').next().unwrap_or_default(),
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:_".contains(&b));
    if !valid {
        return None;
    }
    let target = req.uri.path_and_query().map_or("/", |p| p.as_str());
    let target = if target.starts_with('/') { target } else { "/" };
    Some(if port == 443 {
        format!("https://{name}{target}")
    } else {
        format!("https://{name}:{port}{target}")
    })
}

/// Answers with a permanent redirect (308, method and body kept) to the HTTPS URL of the
/// request, or 400 when the request names no usable host.
pub async fn redirect(session: &mut Downstream, port: u16) -> Result<()> {
    let Some(location) = https_url(session.req_header(), port) else {
        return crate::errors::respond_json(session, 400, "400: Bad Request", 0).await;
    };
    let mut resp = ResponseHeader::build(308, Some(3))?;
    resp.insert_header("location", location)?;
    resp.insert_header("content-length", "0")?;
    session.write_response_header(Box::new(resp), true).await
}

/// Answers an ACME HTTP-01 challenge request with its key authorization (200), or 404 when
/// the token is not pending.
pub async fn acme_answer(session: &mut Downstream, answer: Option<String>) -> Result<()> {
    let Some(body) = answer else {
        return crate::errors::respond_json(session, 404, "404: Not Found", 0).await;
    };
    let mut resp = ResponseHeader::build(200, Some(2))?;
    resp.insert_header("content-type", "application/octet-stream")?;
    resp.insert_header("content-length", body.len().to_string())?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from(body)), true)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, host: Option<&str>) -> RequestHeader {
        let mut req = RequestHeader::build("GET", uri.as_bytes(), None).unwrap();
        if let Some(host) = host {
            req.insert_header("host", host).unwrap();
        }
        req
    }

    #[test]
    fn redirect_urls_keep_host_path_and_query() {
        assert_eq!(
            https_url(&req("/a/b?c=1&d", Some("chat.example:80")), 443).as_deref(),
            Some("https://chat.example/a/b?c=1&d")
        );
        assert_eq!(
            https_url(&req("/", Some("chat.example")), 8443).as_deref(),
            Some("https://chat.example:8443/")
        );
        assert_eq!(
            https_url(&req("/x", Some("[::1]:3000")), 3443).as_deref(),
            Some("https://[::1]:3443/x")
        );
        assert_eq!(https_url(&req("/", None), 443), None);
        assert_eq!(https_url(&req("/", Some("evil.example/x")), 443), None);
        assert_eq!(https_url(&req("/", Some("a@b")), 443), None);
    }

    #[test]
    fn hsts_values() {
        let mut c = EdgeHstsConfig::default();
        assert_eq!(hsts_value(&c), None);
        c.max_age_secs = 600;
        assert_eq!(hsts_value(&c).as_deref(), Some("max-age=600"));
        c.include_subdomains = true;
        c.preload = true;
        assert_eq!(
            hsts_value(&c).as_deref(),
            Some("max-age=600; includeSubDomains; preload")
        );
    }
}
