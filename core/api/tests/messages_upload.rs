//! Uploading files with a message (multipart `payload_json` + `files[n]`): the stored bytes
//! equal the uploaded ones, the attachment object (image sizes read under the instance's image
//! limits), and the refusals (ATTACH_FILES, size, count) — on both backends.

mod common;
mod messages_util;

use common::{Events, Server};
use messages_util::Ctx;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn post(c: &Ctx, token: &str, form: Form) -> (StatusCode, Value) {
    let resp =
        c.s.http
            .post(c.s.url(&format!("/channels/{}/messages", c.channel)))
            .header("authorization", token)
            .multipart(form)
            .send()
            .await
            .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 1, 2, 3, 4]);
    b
}

async fn upload(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_path_buf();
    let s = Server::start_with(backend, |c| {
        c.rate_limits.enabled = false;
        c.data_dir = data_dir.clone();
        c.limits.attachment_size_bytes = 1000;
        c.limits.attachments_per_message = 2;
        c.cdn.images.max_pixels = 5000;
    })
    .await;
    let c = Ctx::with(s).await;
    let mut events = Events::new(&c.s);
    let text: Vec<u8> = (0..=255u8).cycle().take(700).collect();
    let image = png(3, 2);
    let form = || {
        Form::new()
            .text(
                "payload_json",
                json!({"content": "files", "attachments": [
                    {"id": 0, "description": "bytes"}, {"id": "1", "filename": "pic.png"}]})
                .to_string(),
            )
            .part(
                "files[0]",
                Part::bytes(text.clone())
                    .file_name("my data.bin")
                    .mime_str("application/x-custom")
                    .unwrap(),
            )
            .part(
                "files[1]",
                Part::bytes(image.clone()).file_name("ignored.dat"),
            )
    };
    // Without ATTACH_FILES: 50013, nothing stored.
    let (st, err) = post(&c, &c.member, form()).await;
    assert_eq!(
        (st, err["code"].as_u64()),
        (StatusCode::FORBIDDEN, Some(50013))
    );
    events.expect(&[]);

    let (st, m) = post(&c, &c.owner, form()).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["content"], "files");
    let atts = m["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    let cdn = c.s.state.config.cdn_public_url();
    for (a, (name, bytes, kind)) in atts.iter().zip([
        ("my_data.bin", &text, "application/x-custom"),
        ("pic.png", &image, "image/png"),
    ]) {
        let id = a["id"].as_str().unwrap();
        assert_eq!(a["filename"], name);
        assert_eq!(a["size"], bytes.len());
        assert_eq!(a["content_type"], kind);
        let url = format!("{cdn}/attachments/{}/{id}/{name}", c.channel);
        assert_eq!(a["url"], url.as_str());
        assert_eq!(a["proxy_url"], url.as_str());
        let stored = std::fs::read(
            data_dir
                .join("attachments")
                .join(&c.channel)
                .join(id)
                .join(name),
        )
        .expect("stored file");
        assert_eq!(&stored, bytes, "stored bytes equal the upload");
    }
    assert_eq!(atts[0]["description"], "bytes");
    assert_eq!(
        (atts[0]["width"].clone(), atts[0]["height"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        (atts[1]["width"].clone(), atts[1]["height"].clone()),
        (json!(3), json!(2))
    );
    let got = events.expect(&["MESSAGE_CREATE"]);
    assert_eq!(got[0].2["attachments"], m["attachments"]);

    // An edit keeping only the first attachment removes the second and its file; a file sent
    // with an edit is appended.
    let mid = m["id"].as_str().unwrap().to_owned();
    let first = atts[0]["id"].as_str().unwrap().to_owned();
    let second = atts[1]["id"].as_str().unwrap().to_owned();
    let (st, e) =
        c.s.call(
            reqwest::Method::PATCH,
            &format!("/channels/{}/messages/{mid}", c.channel),
            Some(&c.owner),
            Some(json!({"attachments": [{"id": first}]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(e["attachments"][0]["id"], first.as_str());
    let gone = data_dir
        .join("attachments")
        .join(&c.channel)
        .join(&second)
        .join("pic.png");
    assert!(!gone.exists(), "the removed attachment's file is deleted");
    let more = Form::new()
        .text(
            "payload_json",
            json!({"attachments": [{"id": first}, {"id": 0}]}).to_string(),
        )
        .part("files[0]", Part::bytes(b"new".to_vec()).file_name("n.txt"));
    let resp =
        c.s.http
            .patch(c.s.url(&format!("/channels/{}/messages/{mid}", c.channel)))
            .header("authorization", &c.owner)
            .multipart(more)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let e: Value = resp.json().await.unwrap();
    let names: Vec<&str> = e["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["my_data.bin", "n.txt"]);
    events.expect(&["MESSAGE_UPDATE", "MESSAGE_UPDATE"]);

    // A file over the size limit → 40005; too many files → 30015; a file alone is a message.
    let big = Form::new().part("files[0]", Part::bytes(vec![0u8; 1001]).file_name("big"));
    let (st, err) = post(&c, &c.owner, big).await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (413, Some(40005)));
    let many = (0..3).fold(Form::new(), |f, i| {
        f.part(format!("files[{i}]"), Part::bytes(vec![1u8]).file_name("x"))
    });
    let (st, err) = post(&c, &c.owner, many).await;
    assert_eq!((st.as_u16(), err["code"].as_u64()), (400, Some(30015)));
    events.expect(&[]);
    let alone = Form::new().part("files[0]", Part::bytes(b"hi".to_vec()).file_name("a.txt"));
    let (st, m) = post(&c, &c.owner, alone).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["content"], "");
    assert_eq!(
        m["attachments"][0]["content_type"],
        "text/plain; charset=utf-8"
    );
    // An image past the instance's `cdn.images.max_pixels` (100 × 100 > 5,000) is stored,
    // but its size is not read.
    let large = Form::new().part("files[0]", Part::bytes(png(100, 100)).file_name("l.png"));
    let (st, m) = post(&c, &c.owner, large).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let a = &m["attachments"][0];
    assert_eq!(a["content_type"], "image/png");
    assert_eq!(
        (a["width"].clone(), a["height"].clone()),
        (Value::Null, Value::Null)
    );
    events.expect(&["MESSAGE_CREATE", "MESSAGE_CREATE"]);
    c.s.stop().await;
}

both_backends!(upload);
