//! Signed attachment URLs end to end (`cdn.signed_urls`): message attachments carry Discord's
//! `ex`/`is`/`hm` parameters and load; stripped, tampered, expired and other clients' URLs get
//! the CDN's 404 "This content is no longer available."; `POST /attachments/refresh-urls` gives
//! working URLs (bound to the caller's address with `bind_ip`, through a trusted proxy too),
//! only for channels the caller can read, and refuses URLs that are not ours; with signing off, plain URLs keep working. Each runs on the
//! local disk and on S3.

mod common;

use accord_auth::signed_url::{self, UrlCheck};
use common::{Stack, Storage, error_body};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const UNAVAILABLE: &str = "This content is no longer available.";

fn now() -> u64 {
    accord_auth::now_ms() / 1000
}

/// The URL of the message's first attachment.
fn first_url(message: &Value) -> String {
    message["attachments"][0]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no attachment in {message}"))
        .to_owned()
}

/// `url` split into the path on the CDN and the query string.
fn split<'a>(s: &Stack, url: &'a str) -> (&'a str, &'a str) {
    let rest = url.strip_prefix(&s.cdn).expect("a URL of our CDN");
    rest.split_once('?').unwrap_or((rest, ""))
}

/// Fetches `url` (with extra headers) and checks the answer is the signature 404.
async fn assert_unavailable(s: &Stack, url: &str, headers: &[(&str, &str)]) {
    let resp = s.get(url, headers).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{url}");
    let body = error_body(resp).await;
    assert_eq!(body, json!({"code": 0, "message": UNAVAILABLE}), "{url}");
}

/// Fetches `url` and checks it answers `want` with 200.
async fn assert_serves(s: &Stack, url: &str, headers: &[(&str, &str)], want: &[u8]) {
    let resp = s.get(url, headers).await;
    assert_eq!(resp.status(), StatusCode::OK, "{url}");
    assert_eq!(resp.bytes().await.unwrap(), want, "{url}");
}

/// Asks the API to refresh `urls` (with extra headers); returns status and body.
async fn refresh(s: &Stack, urls: &[&str], headers: &[(&str, &str)]) -> (StatusCode, Value) {
    refresh_as(s, &s.token, urls, headers).await
}

/// [`refresh`] with another user's `token`.
async fn refresh_as(
    s: &Stack,
    token: &str,
    urls: &[&str],
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .post(format!("{}/api/v10/attachments/refresh-urls", s.api))
        .header("authorization", token)
        .json(&json!({ "attachment_urls": urls }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn signed_urls_guard_attachments(storage: Storage) {
    let s = Stack::start_with(storage, |c| c.cdn.signed_urls.enabled = true).await;
    let data = b"signed bytes".to_vec();
    let m = s.upload(&[("notes.txt", "text/plain", data.clone())]).await;

    // The URL carries Discord's parameters, proxy_url too, and it loads.
    let url = first_url(&m);
    let (path, query) = split(&s, &url);
    assert_eq!(
        path,
        format!(
            "/attachments/{}/{}/notes.txt",
            s.channel,
            m["attachments"][0]["id"].as_str().unwrap()
        )
    );
    let params: Vec<&str> = query.split('&').collect();
    assert!(
        params[0].starts_with("ex=")
            && params[1].starts_with("is=")
            && params[2].starts_with("hm="),
        "{url}"
    );
    assert_eq!(params[2].len(), 3 + 64, "{url}");
    let ex = u64::from_str_radix(&params[0][3..], 16).unwrap();
    let is = u64::from_str_radix(&params[1][3..], 16).unwrap();
    assert_eq!(ex - is, 86_400, "the default lifetime is a day");
    assert!(is.abs_diff(now()) < 60, "issued now: {is:x}");
    let proxy_url = m["attachments"][0]["proxy_url"].as_str().unwrap();
    assert!(proxy_url.contains("&hm="), "{proxy_url}");
    assert_serves(&s, &url, &[], &data).await;
    assert_serves(&s, proxy_url, &[], &data).await;
    // Other parameters do not get in the way.
    assert_serves(&s, &format!("{url}size=64"), &[], &data).await;
    // Reading the message back gives signed URLs as well.
    let (st, listed) = s
        .call(
            Method::GET,
            &format!(
                "/channels/{}/messages/{}",
                s.channel,
                m["id"].as_str().unwrap()
            ),
            Some(()),
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{listed}");
    assert_serves(&s, &first_url(&listed), &[], &data).await;

    // Without its signature, or with any part of it changed: Discord's 404.
    assert_unavailable(&s, &format!("{}{path}", s.cdn), &[]).await;
    assert_unavailable(&s, &format!("{}{path}?ex={ex:x}&is={is:x}&", s.cdn), &[]).await;
    let hm_at = url.find("hm=").unwrap() + 3;
    let mut tampered = url.clone().into_bytes();
    tampered[hm_at] = if tampered[hm_at] == b'a' { b'b' } else { b'a' };
    assert_unavailable(&s, &String::from_utf8(tampered).unwrap(), &[]).await;
    let extended = url.replacen(&format!("ex={ex:x}"), &format!("ex={:x}", ex + 86_400), 1);
    assert_unavailable(&s, &extended, &[]).await;
    // Another attachment's signature does not open this one.
    let other = s
        .upload(&[("other.txt", "text/plain", b"other".to_vec())])
        .await;
    let other_url = first_url(&other);
    let (other_path, _) = split(&s, &other_url);
    assert_unavailable(&s, &format!("{}{other_path}?{query}", s.cdn), &[]).await;
    assert_serves(&s, &other_url, &[], b"other").await;

    // Signed in the past and expired: 404; a URL signed now with the same key works.
    let key = &s.state.url_key;
    let expired = format!(
        "{}{path}?{}",
        s.cdn,
        signed_url::sign(key, path, now() - 1000, 10, None)
    );
    assert_unavailable(&s, &expired, &[]).await;
    let fresh = format!(
        "{}{path}?{}",
        s.cdn,
        signed_url::sign(key, path, now(), 60, None)
    );
    assert_serves(&s, &fresh, &[], &data).await;
    // HEAD is held to the same rule.
    let resp = s.request(Method::HEAD, &expired, &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Bound to another address: refused; bound to ours (loopback): served.
    let elsewhere = signed_url::sign(key, path, now(), 60, Some("203.0.113.5".parse().unwrap()));
    assert_unavailable(&s, &format!("{}{path}?{elsewhere}", s.cdn), &[]).await;
    // Forwarded-for headers are not believed from a peer that is not a trusted proxy.
    assert_unavailable(
        &s,
        &format!("{}{path}?{elsewhere}", s.cdn),
        &[("x-forwarded-for", "203.0.113.5")],
    )
    .await;
    let here = signed_url::sign(key, path, now(), 60, Some("127.0.0.1".parse().unwrap()));
    assert_serves(&s, &format!("{}{path}?{here}", s.cdn), &[], &data).await;

    // Refreshing the expired URL and a bare one gives working, unbound URLs, in order.
    let bare = format!("{}{path}", s.cdn);
    let (st, body) = refresh(&s, &[&expired, &bare], &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let list = body["refreshed_urls"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{body}");
    assert_eq!(list[0]["original"], expired.as_str());
    assert_eq!(list[1]["original"], bare.as_str());
    for entry in list {
        let refreshed = entry["refreshed"].as_str().unwrap();
        assert!(refreshed.starts_with(&format!("{bare}?ex=")), "{refreshed}");
        assert_serves(&s, refreshed, &[], &data).await;
        let (p, q) = split(&s, refreshed);
        assert_eq!(
            signed_url::verify(key, p, q, now(), None),
            UrlCheck::Valid,
            "unbound"
        );
    }

    // Not one of our attachment URLs: Discord's form error naming the entry.
    let foreign = "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=3&";
    let emoji = format!("{}/emojis/1.png", s.cdn);
    let (st, body) = refresh(&s, &[&url, foreign, &emoji], &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], 50035, "{body}");
    assert!(
        body["errors"]["attachment_urls"].get("0").is_none(),
        "{body}"
    );
    for i in ["1", "2"] {
        assert_eq!(
            body["errors"]["attachment_urls"][i]["_errors"][0]["code"], "URL_TYPE_INVALID_URL",
            "{body}"
        );
    }
    // At most 50 at once.
    let many = vec![url.as_str(); 51];
    let (st, body) = refresh(&s, &many, &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["errors"]["attachment_urls"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH",
        "{body}"
    );
    let (st, body) = refresh(&s, &many[..50], &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    // Signed-in callers only.
    let (st, body) = s
        .call(
            Method::POST,
            "/attachments/refresh-urls",
            None,
            json!({"attachment_urls": [url]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    s.stop().await;
}

async fn refreshed_urls_bound_to_the_caller(storage: Storage) {
    let s = Stack::start_with(storage, |c| {
        c.cdn.signed_urls.enabled = true;
        c.cdn.signed_urls.bind_ip = true;
        c.cdn.signed_urls.ttl_secs = 600;
        c.security.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let data = b"bound bytes".to_vec();
    let m = s.upload(&[("b.txt", "text/plain", data.clone())]).await;
    // Message URLs reach everyone who can read the message: never bound.
    let url = first_url(&m);
    assert_serves(&s, &url, &[("x-forwarded-for", "198.51.100.20")], &data).await;
    let (path, query) = split(&s, &url);
    let key = &s.state.url_key;
    assert_eq!(
        signed_url::verify(key, path, query, now(), None),
        UrlCheck::Valid
    );

    // Refreshed directly from loopback: bound to 127.0.0.1, with the configured lifetime.
    let (st, body) = refresh(&s, &[&url], &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let direct = body["refreshed_urls"][0]["refreshed"]
        .as_str()
        .unwrap()
        .to_owned();
    let (p, q) = split(&s, &direct);
    assert_eq!(
        signed_url::verify(key, p, q, now(), None),
        UrlCheck::Invalid,
        "bound"
    );
    assert_eq!(
        signed_url::verify(key, p, q, now(), Some("127.0.0.1".parse().unwrap())),
        UrlCheck::Valid
    );
    assert_eq!(
        signed_url::verify(key, p, q, now() + 601, Some("127.0.0.1".parse().unwrap())),
        UrlCheck::Expired
    );
    assert_serves(&s, &direct, &[], &data).await;
    // Through the (trusted) proxy for another client, it is not that client's.
    assert_unavailable(&s, &direct, &[("x-forwarded-for", "198.51.100.20")]).await;

    // Refreshed through the trusted proxy for a client: that client's URL only.
    let proxied = [("x-forwarded-for", "198.51.100.20")];
    let (st, body) = refresh(&s, &[&url], &proxied).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let forwarded = body["refreshed_urls"][0]["refreshed"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_serves(&s, &forwarded, &proxied, &data).await;
    assert_unavailable(&s, &forwarded, &[]).await;
    assert_unavailable(&s, &forwarded, &[("x-forwarded-for", "198.51.100.21")]).await;
    s.stop().await;
}

/// The `original` URLs of a refresh answer.
fn originals(body: &Value) -> Vec<String> {
    body["refreshed_urls"]
        .as_array()
        .unwrap_or_else(|| panic!("no refreshed_urls: {body}"))
        .iter()
        .map(|e| e["original"].as_str().unwrap().to_owned())
        .collect()
}

/// Refresh gives URLs only of channels the caller can read: nothing to a user outside the
/// guild, and to a member nothing of a channel hidden from them (no VIEW_CHANNEL) or whose
/// history they cannot read (no READ_MESSAGE_HISTORY).
async fn refresh_only_what_the_caller_can_read(storage: Storage) {
    let s = Stack::start_with(storage, |c| c.cdn.signed_urls.enabled = true).await;
    let g = s.guild.clone();
    let open = first_url(
        &s.upload(&[("open.txt", "text/plain", b"open".to_vec())])
            .await,
    );
    // Two more channels: one @everyone cannot see, one whose history it cannot read.
    let mut urls = vec![open.clone()];
    for (name, deny) in [("hidden", "1024"), ("no-history", "65536")] {
        let (st, channel) = s
            .call(
                Method::POST,
                &format!("/guilds/{g}/channels"),
                Some(()),
                json!({"name": name, "type": 0,
                       "permission_overwrites": [{"id": g, "type": 0, "deny": deny}]}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{channel}");
        let form = reqwest::multipart::Form::new()
            .text("payload_json", json!({"content": name}).to_string())
            .part(
                "files[0]",
                reqwest::multipart::Part::bytes(name.as_bytes().to_vec())
                    .file_name(format!("{name}.txt"))
                    .mime_str("text/plain")
                    .unwrap(),
            );
        let path = format!("/channels/{}/messages", channel["id"].as_str().unwrap());
        urls.push(first_url(&s.post_form(&path, form, StatusCode::OK).await));
    }
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    // The owner reads everything.
    let (st, body) = refresh(&s, &urls, &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(originals(&body), urls, "{body}");

    // Someone else, outside the guild: nothing.
    let (st, other) = s
        .call(
            Method::POST,
            "/auth/register",
            None,
            json!({"username": "outsider", "password": "correct horse", "email": "o@example.test"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{other}");
    let token = other["token"].as_str().unwrap().to_owned();
    let (st, body) = refresh_as(&s, &token, &urls, &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(originals(&body), Vec::<String>::new(), "{body}");
    // A URL naming a channel that does not exist: left out too.
    let (path, _) = split(&s, &open);
    let nowhere = format!(
        "{}/attachments/42/{}",
        s.cdn,
        &path["/attachments/".len()..].split_once('/').unwrap().1
    );
    let (st, body) = refresh_as(&s, &token, &[&nowhere], &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(originals(&body), Vec::<String>::new(), "{body}");

    // Once a member: the open channel only, and its URL works.
    let (st, invite) = s
        .call(
            Method::POST,
            &format!("/channels/{}/invites", s.channel),
            Some(()),
            json!({}),
        )
        .await;
    assert!(st.is_success(), "{invite}");
    let code = invite["code"].as_str().unwrap();
    let (st, joined) = s
        .call_as(
            Method::POST,
            &format!("/invites/{code}"),
            &token,
            Value::Null,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{joined}");
    let (st, body) = refresh_as(&s, &token, &urls, &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(originals(&body), std::slice::from_ref(&open), "{body}");
    let refreshed = body["refreshed_urls"][0]["refreshed"].as_str().unwrap();
    assert_serves(&s, refreshed, &[], b"open").await;
    s.stop().await;
}

async fn unsigned_when_disabled(storage: Storage) {
    let s = Stack::start(storage).await;
    let data = b"plain bytes".to_vec();
    let m = s.upload(&[("p.txt", "text/plain", data.clone())]).await;
    let url = first_url(&m);
    assert!(!url.contains('?'), "{url}");
    assert_serves(&s, &url, &[], &data).await;
    // Query strings, signed or not, change nothing.
    assert_serves(&s, &format!("{url}?ex=1&is=1&hm=00&"), &[], &data).await;
    // Refresh still answers, with the plain URL.
    let (st, body) = refresh(&s, &[&format!("{url}?ex=1&is=2&hm=3&")], &[]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        body["refreshed_urls"][0]["refreshed"],
        url.as_str(),
        "{body}"
    );
    let (st, body) = refresh(&s, &["https://example.com/attachments/1/2/a.png"], &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    s.stop().await;
}

on_both_storages!(
    signed_urls_guard_attachments,
    refreshed_urls_bound_to_the_caller,
    refresh_only_what_the_caller_can_read,
    unsigned_when_disabled,
);
