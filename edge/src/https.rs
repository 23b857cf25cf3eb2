//! What the edge answers itself around HTTPS: the HTTP→HTTPS redirect of the plain listener
//! (`edge.tls.redirect_http`), and the `Strict-Transport-Security` header added to every
//! response of the HTTPS listener (`[edge.tls.hsts]`) by a downstream module, so it is on the
//! edge's own answers (403, 429, 502...) as well as on the upstreams'.

use std::any::Any;

use accord_config::EdgeHstsConfig;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::Result;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::modules::http::{HttpModule, HttpModuleBuilder, Module};
use pingora::proxy::Session;

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

/// Builds the module adding `Strict-Transport-Security` to every response.
pub struct HstsBuilder(pub String);

impl HttpModuleBuilder for HstsBuilder {
    fn init(&self) -> Module {
        Box::new(Hsts(self.0.clone()))
    }
}

/// Adds `Strict-Transport-Security` to a response (replacing an upstream's own).
struct Hsts(String);

#[async_trait]
impl HttpModule for Hsts {
    async fn response_header_filter(
        &mut self,
        resp: &mut ResponseHeader,
        _end_of_stream: bool,
    ) -> Result<()> {
        resp.insert_header("strict-transport-security", self.0.as_str())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
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
pub async fn redirect(session: &mut Session, port: u16) -> Result<()> {
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
pub async fn acme_answer(session: &mut Session, answer: Option<String>) -> Result<()> {
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
