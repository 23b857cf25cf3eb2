//! Guild emoji routes: list, get, create (data-URI images checked by their bytes and kept in blob
//! storage), modify and delete — with CREATE_/MANAGE_GUILD_EXPRESSIONS, the emoji limit and
//! GUILD_EMOJIS_UPDATE, on both backends.

mod common;

use std::path::Path;

use accord_bus::Audience;
use accord_model::GuildId;
use base64::Engine;
use common::expressions::GuildCtx;
use common::{Events, field_code, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
const CREATE_GUILD_EXPRESSIONS: u64 = 1 << 43;
const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&[
        0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6,
    ]);
    b
}

fn uri(mime: &str, bytes: &[u8]) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("data:{mime};base64,{data}")
}

/// The emoji/sticker harness (`common::expressions`) set up for /emojis.
type Ctx = GuildCtx;

async fn ctx(backend: &str, limit: u32) -> Ctx {
    GuildCtx::new(backend, "/emojis", |c| {
        c.limits.emojis_per_guild = limit;
    })
    .await
}

impl GuildCtx {
    fn blob(&self, id: &str) -> Option<Vec<u8>> {
        std::fs::read(Path::new(&self.data).join("attachments/emojis").join(id)).ok()
    }
}

async fn lifecycle(backend: &str) {
    let c = ctx(backend, 50).await;
    let bytes = png();
    let mut events = Events::new(&c.s);
    let body = json!({"name": "party_1", "image": uri("image/png", &bytes)});
    let (st, e) = c.call(POST, "/emojis", &c.owner, body).await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "animated",
            "available",
            "id",
            "managed",
            "name",
            "require_colons",
            "roles",
            "user"
        ]
    );
    assert_eq!(e["name"], "party_1");
    assert_eq!(e["animated"], false);
    assert_eq!(e["roles"], json!([]));
    assert_eq!(
        (e["managed"].clone(), e["available"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(e["require_colons"], true);
    assert_eq!(e["user"]["id"], c.s.user_id(&c.owner).await);
    let id = id_of(&e);
    assert_eq!(c.blob(&id).unwrap(), bytes, "stored image bytes");
    let got = events.expect(&["GUILD_EMOJIS_UPDATE"]);
    let guild: GuildId = c.guild.parse().unwrap();
    assert_eq!(got[0].1, Audience::Guild(guild));
    assert_eq!(got[0].2["guild_id"], c.guild);
    assert_eq!(got[0].2["emojis"].as_array().unwrap().len(), 1);
    assert_eq!(got[0].2["emojis"][0]["id"], id);
    assert_eq!(got[0].2.as_object().unwrap().len(), 2);

    // GET one, list, and the guild object.
    let (st, one) = c
        .call(GET, &format!("/emojis/{id}"), &c.owner, Value::Null)
        .await;
    assert_eq!((st, one.clone()), (StatusCode::OK, e.clone()));
    assert_eq!(c.list().await, vec![e.clone()]);
    let (_, g) =
        c.s.call(GET, &format!("/guilds/{}", c.guild), Some(&c.owner), None)
            .await;
    assert_eq!(g["emojis"][0]["id"], id);
    assert!(g["emojis"][0].get("user").is_none());

    // A plain member sees the emoji without its creator.
    events.drain();
    let plain = c.member("plain", 0).await;
    let create = events
        .drain()
        .into_iter()
        .find(|(n, _, _)| n == "GUILD_CREATE");
    let create = create.expect("GUILD_CREATE for the new member").2;
    assert_eq!(create["emojis"].as_array().unwrap().len(), 1, "{create}");
    assert_eq!(create["emojis"][0]["id"], id);
    let (st, seen) = c
        .call(GET, &format!("/emojis/{id}"), &plain, Value::Null)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(seen.get("user").is_none(), "{seen}");

    // A GIF is animated; an animated WebP too.
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let (st, a) = c
        .call(
            POST,
            "/emojis",
            &c.owner,
            json!({"name": "dance", "image": uri("image/gif", &gif)}),
        )
        .await;
    assert_eq!(
        (st, a["animated"].clone()),
        (StatusCode::CREATED, json!(true)),
        "{a}"
    );
    let mut webp = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00".to_vec();
    webp.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let (st, w) = c
        .call(
            POST,
            "/emojis",
            &c.owner,
            json!({"name": "spin", "image": uri("image/webp", &webp)}),
        )
        .await;
    assert_eq!(
        (st, w["animated"].clone()),
        (StatusCode::CREATED, json!(true)),
        "{w}"
    );
    events.drain();

    // Modify name and roles.
    let body = json!({"name": "renamed", "roles": [c.guild]});
    let (st, m) = c
        .call(PATCH, &format!("/emojis/{id}"), &c.owner, body)
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(
        (m["name"].clone(), m["roles"].clone()),
        (json!("renamed"), json!([c.guild]))
    );
    let got = events.expect(&["GUILD_EMOJIS_UPDATE"]);
    assert_eq!(got[0].2["emojis"].as_array().unwrap().len(), 3);

    // Delete removes the row and the stored image.
    let (st, _) = c
        .call(DELETE, &format!("/emojis/{id}"), &c.owner, Value::Null)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let got = events.expect(&["GUILD_EMOJIS_UPDATE"]);
    assert_eq!(got[0].2["emojis"].as_array().unwrap().len(), 2);
    assert!(c.blob(&id).is_none());
    c.no(
        GET,
        &format!("/emojis/{id}"),
        &c.owner,
        Value::Null,
        (404, 10014),
    )
    .await;
    c.s.stop().await;
}

async fn refusals(backend: &str) {
    let c = ctx(backend, 1).await;
    let good = uri("image/png", &png());
    let bad = |body: Value, field: &str, code: &str| (body, field.to_owned(), code.to_owned());
    let cases = [
        bad(
            json!({"name": "x", "image": good}),
            "name",
            "BASE_TYPE_BAD_LENGTH",
        ),
        bad(
            json!({"name": "no-dash", "image": good}),
            "name",
            "STRING_TYPE_REGEX",
        ),
        bad(json!({"image": good}), "name", "BASE_TYPE_REQUIRED"),
        bad(json!({"name": "ok"}), "image", "BASE_TYPE_REQUIRED"),
        bad(
            json!({"name": "ok", "image": "not a uri"}),
            "image",
            "IMAGE_INVALID",
        ),
        bad(
            json!({"name": "ok", "image": "data:text/plain;base64,aGk="}),
            "image",
            "IMAGE_INVALID",
        ),
        bad(
            json!({"name": "ok", "image": "data:image/png;base64,!!!"}),
            "image",
            "IMAGE_INVALID",
        ),
        bad(
            json!({"name": "ok", "image": uri("image/png", b"MZ not an image at all")}),
            "image",
            "IMAGE_INVALID",
        ),
        bad(
            json!({"name": "ok", "image": uri("image/png", &vec![0xFF; 300 * 1024])}),
            "image",
            "BINARY_TYPE_MAX_SIZE",
        ),
        bad(
            json!({"name": "ok", "image": good, "roles": ["123"]}),
            "roles",
            "INVALID_ROLE",
        ),
    ];
    for (body, field, code) in cases {
        let got = c.no(POST, "/emojis", &c.owner, body, (400, 50035)).await;
        assert_eq!(
            field_code(&got, &[&field]).or(field_code(&got, &[&field, "0"])),
            Some(code.as_str()),
            "{got}"
        );
    }
    assert!(
        !c.data.join("attachments/emojis").exists()
            || std::fs::read_dir(c.data.join("attachments/emojis"))
                .unwrap()
                .count()
                == 0
    );

    // No permission.
    let plain = c.member("plain", 0).await;
    c.no(
        POST,
        "/emojis",
        &plain,
        json!({"name": "ok", "image": good}),
        (403, 50013),
    )
    .await;

    // A creator may edit their own emoji, not someone else's.
    let creator = c.member("creator", CREATE_GUILD_EXPRESSIONS).await;
    let (st, mine) = c
        .call(
            POST,
            "/emojis",
            &creator,
            json!({"name": "mine", "image": good}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{mine}");
    let path = format!("/emojis/{}", id_of(&mine));
    c.no(PATCH, &path, &plain, json!({"name": "nope"}), (403, 50013))
        .await;
    c.no(DELETE, &path, &plain, Value::Null, (403, 50013)).await;
    c.no(PATCH, &path, &creator, json!({"name": "a"}), (400, 50035))
        .await;
    let (st, b) = c
        .call(PATCH, &path, &creator, json!({"name": "still_mine"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let manager = c.member("manager", MANAGE_GUILD_EXPRESSIONS).await;
    let (st, one) = c.call(GET, &path, &manager, Value::Null).await;
    assert_eq!(
        (st, one["user"]["id"].clone()),
        (StatusCode::OK, json!(c.s.user_id(&creator).await))
    );

    // The limit (1 here) is reached.
    c.no(
        POST,
        "/emojis",
        &c.owner,
        json!({"name": "two", "image": good}),
        (400, 30008),
    )
    .await;

    // Unknown emoji.
    c.no(GET, "/emojis/123", &c.owner, Value::Null, (404, 10014))
        .await;
    c.no(
        PATCH,
        "/emojis/123",
        &c.owner,
        json!({"name": "zz"}),
        (404, 10014),
    )
    .await;
    c.no(DELETE, "/emojis/123", &c.owner, Value::Null, (404, 10014))
        .await;
    c.no(GET, "/emojis/nope", &c.owner, Value::Null, (404, 10014))
        .await;

    // The manager may delete someone else's emoji.
    let (st, _) = c.call(DELETE, &path, &manager, Value::Null).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    c.s.stop().await;
}

both_backends!(lifecycle, refusals);
