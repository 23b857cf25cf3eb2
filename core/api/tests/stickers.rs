//! Guild sticker routes: list, get (in the guild and by id alone), create (multipart uploads
//! checked by their bytes and kept in blob storage), modify and delete — with CREATE_/
//! MANAGE_GUILD_EXPRESSIONS, the sticker limit and GUILD_STICKERS_UPDATE, on both backends.

mod common;

use accord_bus::Audience;
use accord_model::GuildId;
use base64::Engine;
use common::expressions::GuildCtx;
use common::{Events, field_code, id_of};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
const CREATE_GUILD_EXPRESSIONS: u64 = 1 << 43;
const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

/// A complete, decodable 1×1 RGBA PNG.
fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        .unwrap()
}

/// The PNG with an animation control chunk (`acTL`) after its header: an APNG.
fn apng() -> Vec<u8> {
    let png = png();
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let mut out = png[..ihdr_end].to_vec();
    out.extend_from_slice(&[0, 0, 0, 8]);
    out.extend_from_slice(b"acTL");
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// A PNG signature and header claiming `w`×`h`, without pixel data.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 1, 2, 3, 4]);
    b.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
    b
}

/// A complete 1×1 GIF with one frame.
fn gif() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
        .unwrap()
}

/// A Create Guild Sticker form with the given text fields and file.
fn form(fields: &[(&str, &str)], file: Option<Vec<u8>>) -> Form {
    let mut f = Form::new();
    for (k, v) in fields {
        f = f.text(k.to_string(), v.to_string());
    }
    if let Some(bytes) = file {
        f = f.part("file", Part::bytes(bytes).file_name("sticker.png"));
    }
    f
}

fn good(file: Vec<u8>) -> Form {
    form(
        &[
            ("name", "wave"),
            ("description", "a friendly wave"),
            ("tags", "wave"),
        ],
        Some(file),
    )
}

/// The emoji/sticker harness (`common::expressions`) set up for /stickers.
type Ctx = GuildCtx;

async fn ctx(backend: &str, limit: u32) -> Ctx {
    GuildCtx::new(backend, "/stickers", |c| {
        c.rate_limits.enabled = false;
        c.limits.stickers_per_guild = limit;
    })
    .await
}

impl GuildCtx {
    async fn post(&self, token: &str, form: Form) -> (StatusCode, Value) {
        let url = self.s.url(&format!("/guilds/{}/stickers", self.guild));
        let resp = self
            .s
            .http
            .post(url)
            .header("authorization", token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }
    fn stored(&self) -> Vec<String> {
        match std::fs::read_dir(self.data.join("attachments/stickers")) {
            Ok(dir) => dir
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
    fn blob(&self, id: &str) -> Option<Vec<u8>> {
        std::fs::read(self.data.join("attachments/stickers").join(id)).ok()
    }
    async fn no_post(&self, token: &str, form: Form, want: (u16, u64)) -> Value {
        let before = self.list().await;
        let files = self.stored().len();
        let mut events = Events::new(&self.s);
        let (st, got) = self.post(token, form).await;
        assert_eq!(
            (st.as_u16(), got["code"].as_u64()),
            (want.0, Some(want.1)),
            "{got}"
        );
        events.expect(&[]);
        assert_eq!(self.list().await, before);
        assert_eq!(self.stored().len(), files, "no file stored");
        got
    }
}

async fn lifecycle(backend: &str) {
    let c = ctx(backend, 5).await;
    let bytes = png();
    let mut events = Events::new(&c.s);
    let (st, s) = c.post(&c.owner, good(bytes.clone())).await;
    assert_eq!(st, StatusCode::CREATED, "{s}");
    let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "available",
            "description",
            "format_type",
            "guild_id",
            "id",
            "name",
            "tags",
            "type",
            "user"
        ]
    );
    assert_eq!(s["name"], "wave");
    assert_eq!(s["description"], "a friendly wave");
    assert_eq!(s["tags"], "wave");
    assert_eq!(s["type"], 2);
    assert_eq!(s["format_type"], 1);
    assert_eq!(s["available"], true);
    assert_eq!(s["guild_id"], c.guild);
    assert_eq!(s["user"]["id"], c.s.user_id(&c.owner).await);
    let id = id_of(&s);
    assert_eq!(c.blob(&id).unwrap(), bytes, "stored file bytes");
    let got = events.expect(&["GUILD_STICKERS_UPDATE"]);
    let guild: GuildId = c.guild.parse().unwrap();
    assert_eq!(got[0].1, Audience::Guild(guild));
    assert_eq!(got[0].2["guild_id"], c.guild);
    assert_eq!(got[0].2.as_object().unwrap().len(), 2);
    let sent = got[0].2["stickers"].as_array().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["id"], id);
    assert!(sent[0].get("user").is_none());

    // GET one, list, by id alone, and the guild object.
    let (st, one) = c
        .call(GET, &format!("/stickers/{id}"), &c.owner, Value::Null)
        .await;
    assert_eq!((st, one.clone()), (StatusCode::OK, s.clone()));
    assert_eq!(c.list().await, vec![s.clone()]);
    let (st, by_id) =
        c.s.call(GET, &format!("/stickers/{id}"), Some(&c.owner), None)
            .await;
    assert_eq!((st, by_id), (StatusCode::OK, s.clone()));
    let (_, g) =
        c.s.call(GET, &format!("/guilds/{}", c.guild), Some(&c.owner), None)
            .await;
    assert_eq!(g["stickers"][0]["id"], id);
    assert!(g["stickers"][0].get("user").is_none());

    // A plain member sees the sticker without its uploader; GUILD_CREATE carries it.
    events.drain();
    let plain = c.member("plain", 0).await;
    let create = events
        .drain()
        .into_iter()
        .find(|(n, _, _)| n == "GUILD_CREATE");
    let create = create.expect("GUILD_CREATE for the new member").2;
    assert_eq!(create["stickers"].as_array().unwrap().len(), 1, "{create}");
    assert_eq!(create["stickers"][0]["id"], id);
    let (st, seen) = c
        .call(GET, &format!("/stickers/{id}"), &plain, Value::Null)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(seen.get("user").is_none(), "{seen}");
    let (st, seen) =
        c.s.call(GET, &format!("/stickers/{id}"), Some(&plain), None)
            .await;
    assert_eq!(st, StatusCode::OK);
    assert!(seen.get("user").is_none(), "{seen}");

    // Someone outside the guild: Unknown Sticker, as for a sticker that does not exist.
    let outsider = c.s.register("outsider", "correct horse battery").await;
    for path in [format!("/stickers/{id}"), "/stickers/123".to_owned()] {
        let (st, b) = c.s.call(GET, &path, Some(&outsider), None).await;
        assert_eq!((st.as_u16(), b["code"].clone()), (404, json!(10060)), "{b}");
    }

    // A GIF is format 4, an APNG format 2; no description is null.
    let (st, a) = c
        .post(
            &c.owner,
            form(&[("name", "dance"), ("tags", "dancer")], Some(gif())),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(
        (a["format_type"].clone(), a["description"].clone()),
        (json!(4), Value::Null)
    );
    let (st, p) = c.post(&c.owner, good(apng())).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(p["format_type"], 2);
    events.drain();

    // Modify name, description and tags; a null description clears it.
    let body = json!({"name": "wave again", "description": null, "tags": "hand"});
    let (st, m) = c
        .call(PATCH, &format!("/stickers/{id}"), &c.owner, body)
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(
        (
            m["name"].clone(),
            m["description"].clone(),
            m["tags"].clone()
        ),
        (json!("wave again"), Value::Null, json!("hand"))
    );
    let got = events.expect(&["GUILD_STICKERS_UPDATE"]);
    assert_eq!(got[0].2["stickers"].as_array().unwrap().len(), 3);
    assert_eq!(got[0].2["stickers"][0]["name"], "wave again");
    let (st, m) = c
        .call(
            PATCH,
            &format!("/stickers/{id}"),
            &c.owner,
            json!({"description": "hello"}),
        )
        .await;
    assert_eq!(
        (st, m["description"].clone()),
        (StatusCode::OK, json!("hello"))
    );
    assert_eq!(m["name"], "wave again");
    events.drain();

    // Delete removes the row and the stored file.
    let (st, _) = c
        .call(DELETE, &format!("/stickers/{id}"), &c.owner, Value::Null)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let got = events.expect(&["GUILD_STICKERS_UPDATE"]);
    assert_eq!(got[0].2["stickers"].as_array().unwrap().len(), 2);
    assert!(c.blob(&id).is_none());
    c.no(
        GET,
        &format!("/stickers/{id}"),
        &c.owner,
        Value::Null,
        (404, 10060),
    )
    .await;
    let (st, b) =
        c.s.call(GET, &format!("/stickers/{id}"), Some(&c.owner), None)
            .await;
    assert_eq!((st.as_u16(), b["code"].clone()), (404, json!(10060)));
    c.s.stop().await;
}

async fn refusals(backend: &str) {
    let c = ctx(backend, 1).await;
    let long_tags = "t".repeat(201);
    let cases: Vec<(Form, &str, &str)> = vec![
        (
            form(&[("name", "x"), ("tags", "t")], Some(png())),
            "name",
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            form(&[("name", &"n".repeat(31)), ("tags", "t")], Some(png())),
            "name",
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            form(&[("tags", "t")], Some(png())),
            "name",
            "BASE_TYPE_REQUIRED",
        ),
        (
            form(
                &[("name", "ok"), ("description", "d"), ("tags", "t")],
                Some(png()),
            ),
            "description",
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            form(&[("name", "ok")], Some(png())),
            "tags",
            "BASE_TYPE_REQUIRED",
        ),
        (
            form(&[("name", "ok"), ("tags", &long_tags)], Some(png())),
            "tags",
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            form(&[("name", "ok"), ("tags", "t")], None),
            "file",
            "BASE_TYPE_REQUIRED",
        ),
        (
            good(b"MZ not an image at all".to_vec()),
            "file",
            "IMAGE_INVALID",
        ),
        (
            good(br#"{"v":"5.5.2","fr":60,"layers":[]}"#.to_vec()),
            "file",
            "IMAGE_INVALID",
        ),
        (
            good(b"\xff\xd8\xff\xe0 a jpeg".to_vec()),
            "file",
            "IMAGE_INVALID",
        ),
        (good(vec![0x89; 600 * 1024]), "file", "BINARY_TYPE_MAX_SIZE"),
        (
            good(png_header(100_000, 100_000)),
            "file",
            "IMAGE_TOO_LARGE",
        ),
        (good(png_header(400, 400)), "file", "IMAGE_TOO_LARGE"),
    ];
    for (f, field, code) in cases {
        let got = c.no_post(&c.owner, f, (400, 50035)).await;
        assert_eq!(field_code(&got, &[field]), Some(code), "{got}");
    }
    // Not multipart at all.
    let (st, b) = c
        .call(
            POST,
            "/stickers",
            &c.owner,
            json!({"name": "ok", "tags": "t"}),
        )
        .await;
    assert_eq!((st.as_u16(), b["code"].clone()), (400, json!(50035)), "{b}");
    assert!(c.stored().is_empty());

    // No permission.
    let plain = c.member("plain", 0).await;
    c.no_post(&plain, good(png()), (403, 50013)).await;

    // A creator may edit their own sticker, not someone else's.
    let creator = c.member("creator", CREATE_GUILD_EXPRESSIONS).await;
    let (st, mine) = c.post(&creator, good(png())).await;
    assert_eq!(st, StatusCode::CREATED, "{mine}");
    let path = format!("/stickers/{}", id_of(&mine));
    c.no(PATCH, &path, &plain, json!({"name": "nope"}), (403, 50013))
        .await;
    c.no(DELETE, &path, &plain, Value::Null, (403, 50013)).await;
    for bad in [
        json!({"name": "a"}),
        json!({"description": "d"}),
        json!({"tags": long_tags}),
    ] {
        c.no(PATCH, &path, &creator, bad, (400, 50035)).await;
    }
    let (st, b) = c
        .call(PATCH, &path, &creator, json!({"name": "still mine"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let manager = c.member("manager", MANAGE_GUILD_EXPRESSIONS).await;
    let (st, one) = c.call(GET, &path, &manager, Value::Null).await;
    assert_eq!(
        (st, one["user"]["id"].clone()),
        (StatusCode::OK, json!(c.s.user_id(&creator).await))
    );

    // The limit (1 here) is reached.
    let got = c.no_post(&c.owner, good(png()), (400, 30039)).await;
    assert_eq!(got["message"], "Maximum number of stickers reached (1)");

    // Unknown sticker.
    c.no(GET, "/stickers/123", &c.owner, Value::Null, (404, 10060))
        .await;
    c.no(
        PATCH,
        "/stickers/123",
        &c.owner,
        json!({"name": "zz"}),
        (404, 10060),
    )
    .await;
    c.no(DELETE, "/stickers/123", &c.owner, Value::Null, (404, 10060))
        .await;
    c.no(GET, "/stickers/nope", &c.owner, Value::Null, (404, 10060))
        .await;

    // The manager may delete someone else's sticker, and its file goes with it.
    let (st, _) = c.call(DELETE, &path, &manager, Value::Null).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(c.stored().is_empty());
    c.s.stop().await;
}

both_backends!(lifecycle, refusals);
