//! Components v2 (developers/components/reference.mdx): a message sent with the
//! IS_COMPONENTS_V2 flag (`1 << 15`) is made of components alone — action rows, sections (1 to
//! 3 text displays beside a button or thumbnail accessory), text displays, media galleries (1
//! to 10 items), files (`attachment://` references), separators and containers (of all of
//! those but containers), up to 40 components in all — and may not carry `content` or
//! `embeds`. Components without an `id` get one, sequentially, skipping the ids the message
//! already uses; given ids must be unique in the message.

use accord_model::{ErrorTree, MessageFlags};
use serde_json::{Value, json};

use super::components::{action_row, at, button, too_long};

/// Most components in a v2 message, nested ones included.
const MAX_TOTAL: usize = 40;
/// Most items in a media gallery.
const MAX_GALLERY: usize = 10;
/// Longest alt text of a media item.
const DESCRIPTION: usize = 1024;

/// Whether `flags` asks for components v2.
pub fn is_v2(flags: u64) -> bool {
    flags & MessageFlags::IS_COMPONENTS_V2.bits() != 0
}

fn kind(v: &Value) -> u64 {
    v.get("type").and_then(Value::as_u64).unwrap_or(0)
}

fn children(v: &Value) -> &[Value] {
    v.get("components")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An unfurled media item at `path`: its `url`, `http(s)://` or `attachment://<filename>`
/// (only the latter when `attachment_only`).
fn media(tree: &mut ErrorTree, item: Option<&Value>, path: &[String], attachment_only: bool) {
    let url = item
        .and_then(|m| m.get("url"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let attachment = url
        .strip_prefix("attachment://")
        .is_some_and(|name| !name.is_empty());
    let web = ["http://", "https://"].iter().any(|p| url.starts_with(p));
    if url.chars().count() > 2048 || !(attachment || (web && !attachment_only)) {
        tree.add(
            &at(path, "url"),
            "URL_TYPE_INVALID_URL",
            if attachment_only {
                "Must be an attachment:// reference to an uploaded file."
            } else {
                "Not a well formed URL."
            },
        );
    }
}

fn bool_field(tree: &mut ErrorTree, c: &Value, path: &[String], key: &str) {
    if c.get(key).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
        tree.add(&at(path, key), "BASE_TYPE_BOOLEAN", "Must be a boolean.");
    }
}

fn text_display(tree: &mut ErrorTree, c: &Value, path: &[String]) {
    match c.get("content").and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => {}
        _ => {
            tree.add(
                &at(path, "content"),
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
        }
    }
}

fn thumbnail(tree: &mut ErrorTree, c: &Value, path: &[String]) {
    media(tree, c.get("media"), &at(path, "media"), false);
    too_long(tree, c, path, "description", DESCRIPTION);
    bool_field(tree, c, path, "spoiler");
}

fn layout(tree: &mut ErrorTree, path: &[String], message: &str) {
    tree.add(path, "COMPONENT_LAYOUT_INVALID", message);
}

/// One component at `path`, where `allowed` lists the types that may stand there.
fn component(
    tree: &mut ErrorTree,
    c: &Value,
    path: &[String],
    allowed: &[u64],
    seen: &mut Vec<String>,
) {
    let k = kind(c);
    if !allowed.contains(&k) {
        layout(
            tree,
            &at(path, "type"),
            "This component type cannot be used here",
        );
        return;
    }
    match k {
        1 => action_row(tree, c, path, seen),
        9 => {
            let texts = children(c);
            if !(1..=3).contains(&texts.len()) {
                layout(
                    tree,
                    &at(path, "components"),
                    "A section holds 1 to 3 text displays",
                );
            }
            for (i, t) in texts.iter().enumerate() {
                component(tree, t, &at(&at(path, "components"), i), &[10], seen);
            }
            match c.get("accessory") {
                Some(a) if kind(a) == 2 => button(tree, a, &at(path, "accessory"), seen),
                Some(a) if kind(a) == 11 => thumbnail(tree, a, &at(path, "accessory")),
                _ => layout(
                    tree,
                    &at(path, "accessory"),
                    "A section's accessory is a button or a thumbnail",
                ),
            }
        }
        10 => text_display(tree, c, path),
        12 => {
            let items = c
                .get("items")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            if !(1..=MAX_GALLERY).contains(&items.len()) {
                tree.add(
                    &at(path, "items"),
                    "BASE_TYPE_BAD_LENGTH",
                    format!("Must be between 1 and {MAX_GALLERY} in length."),
                );
            }
            for (i, item) in items.iter().enumerate() {
                let p = at(&at(path, "items"), i);
                media(tree, item.get("media"), &at(&p, "media"), false);
                too_long(tree, item, &p, "description", DESCRIPTION);
                bool_field(tree, item, &p, "spoiler");
            }
        }
        13 => {
            media(tree, c.get("file"), &at(path, "file"), true);
            bool_field(tree, c, path, "spoiler");
        }
        14 => {
            bool_field(tree, c, path, "divider");
            if c.get("spacing")
                .is_some_and(|s| !s.is_null() && !matches!(s.as_u64(), Some(1 | 2)))
            {
                tree.add(
                    &at(path, "spacing"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {1, 2}.",
                );
            }
        }
        17 => {
            let inner = children(c);
            if inner.is_empty() {
                layout(
                    tree,
                    &at(path, "components"),
                    "A container holds at least one component",
                );
            }
            for (i, child) in inner.iter().enumerate() {
                component(
                    tree,
                    child,
                    &at(&at(path, "components"), i),
                    &[1, 9, 10, 12, 13, 14],
                    seen,
                );
            }
            let color = c.get("accent_color").filter(|v| !v.is_null());
            if color.is_some_and(|v| v.as_u64().is_none_or(|n| n > 0xFF_FFFF)) {
                tree.add(
                    &at(path, "accent_color"),
                    "NUMBER_TYPE_MAX",
                    "int value should be between 0 and 16777215.",
                );
            }
            bool_field(tree, c, path, "spoiler");
        }
        _ => {}
    }
}

/// The ids of a component tree, assigned: components without an `id` (or with 0) get the
/// next free number from 1, depth first, skipping ids given explicitly; an explicit id used
/// twice or outside 1..2^31 is an error.
fn assign_ids(tree: &mut ErrorTree, components: &mut [Value]) -> usize {
    fn ids(v: &Value, out: &mut Vec<i64>) {
        if let Some(id) = v.get("id").and_then(Value::as_i64).filter(|i| *i != 0) {
            out.push(id);
        }
        for c in children(v) {
            ids(c, out);
        }
        if let Some(a) = v.get("accessory") {
            ids(a, out);
        }
    }
    fn fill(v: &mut Value, used: &[i64], next: &mut i64, count: &mut usize) {
        *count += 1;
        if let Some(obj) = v.as_object_mut() {
            let missing = obj
                .get("id")
                .is_none_or(|i| i.is_null() || i.as_i64() == Some(0));
            if missing {
                while used.contains(next) {
                    *next += 1;
                }
                obj.insert("id".into(), json!(*next));
                *next += 1;
            }
            if let Some(list) = obj.get_mut("components").and_then(Value::as_array_mut) {
                for c in list {
                    fill(c, used, next, count);
                }
            }
            if let Some(a) = obj.get_mut("accessory") {
                fill(a, used, next, count);
            }
        }
    }
    let mut used = Vec::new();
    for c in components.iter() {
        ids(c, &mut used);
    }
    let mut sorted = used.clone();
    sorted.sort_unstable();
    let repeated = sorted.windows(2).any(|w| w[0] == w[1]);
    if repeated || used.iter().any(|i| !(1..=i64::from(i32::MAX)).contains(i)) {
        tree.add(
            &["components"],
            "COMPONENT_ID_INVALID",
            "Component ids must be unique in the message and between 1 and 2147483647",
        );
    }
    let mut next = 1;
    let mut count = 0;
    for c in components.iter_mut() {
        fill(c, &used, &mut next, &mut count);
    }
    count
}

/// Checks the components of a v2 message and gives them their ids.
pub fn validate(tree: &mut ErrorTree, components: &mut [Value]) {
    let root = vec!["components".to_owned()];
    if components.is_empty() {
        tree.add(&root, "BASE_TYPE_REQUIRED", "This field is required");
        return;
    }
    let mut seen = Vec::new();
    for (i, c) in components.iter().enumerate() {
        component(
            tree,
            c,
            &at(&root, i),
            &[1, 9, 10, 12, 13, 14, 17],
            &mut seen,
        );
    }
    let total = assign_ids(tree, components);
    if total > MAX_TOTAL {
        tree.add(
            &root,
            "BASE_TYPE_MAX_LENGTH",
            format!("A message holds up to {MAX_TOTAL} components in all."),
        );
    }
}

/// Checks a new message's `components` for its `flags` (v2 rules and ids with
/// IS_COMPONENTS_V2, which also forbids `content` and `embeds`; the legacy rules otherwise).
pub fn check(
    tree: &mut ErrorTree,
    components: &mut [Value],
    flags: u64,
    content: Option<&str>,
    embeds: usize,
) {
    if is_v2(flags) {
        validate(tree, components);
        forbid_legacy_fields(tree, content, embeds);
    } else {
        super::components::validate(tree, components);
    }
}

/// A file a v2 message's `attachment://` references may name.
#[derive(Debug, Clone, Copy)]
pub struct MediaFile<'a> {
    /// Attachment id.
    pub id: i64,
    /// Stored file name.
    pub filename: &'a str,
    /// MIME type.
    pub content_type: Option<&'a str>,
    /// Size in bytes.
    pub size: i64,
    /// Image width and height.
    pub width: Option<i32>,
    /// Image height.
    pub height: Option<i32>,
}

impl<'a> MediaFile<'a> {
    /// A new upload.
    pub fn of_new(a: &'a accord_store::NewAttachment) -> Self {
        Self {
            id: a.id.as_i64(),
            filename: &a.filename,
            content_type: a.content_type.as_deref(),
            size: a.size,
            width: a.width,
            height: a.height,
        }
    }

    /// A stored attachment.
    pub fn of_record(a: &'a accord_store::AttachmentRecord) -> Self {
        Self {
            id: a.id,
            filename: &a.filename,
            content_type: a.content_type.as_deref(),
            size: a.size,
            width: a.width,
            height: a.height,
        }
    }
}

/// Links the `attachment://<filename>` media of a v2 message's components to `files` (the
/// message's uploads): each such media item gets the fields the API provides (`attachment_id`,
/// `content_type`, `width`, `height`; its `url` and `proxy_url` are filled when the message is
/// shown, see [`show_media`]), and File components their `name` and `size`. A reference to no
/// uploaded file is an error.
pub fn link_media(tree: &mut ErrorTree, components: &mut [Value], files: &[MediaFile<'_>]) {
    fn visit(tree: &mut ErrorTree, v: &mut Value, files: &[MediaFile<'_>]) {
        let Some(obj) = v.as_object_mut() else {
            return;
        };
        let file_component = obj.get("type").and_then(Value::as_u64) == Some(13);
        for key in ["media", "file"] {
            let Some(media) = obj.get_mut(key).and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(name) = media
                .get("url")
                .and_then(Value::as_str)
                .and_then(|u| u.strip_prefix("attachment://"))
            else {
                continue;
            };
            let clean = super::uploads::sanitize(name);
            let Some(f) = files
                .iter()
                .find(|f| f.filename == name || f.filename == clean)
            else {
                tree.add(
                    &["components"],
                    "COMPONENT_ATTACHMENT_NOT_FOUND",
                    format!("attachment://{name} names no file of the message."),
                );
                continue;
            };
            media.insert("attachment_id".into(), json!(f.id.to_string()));
            media.insert("content_type".into(), json!(f.content_type));
            media.insert("width".into(), json!(f.width));
            media.insert("height".into(), json!(f.height));
            if file_component && key == "file" {
                let (name, size) = (f.filename.to_owned(), f.size);
                obj.insert("name".into(), json!(name));
                obj.insert("size".into(), json!(size));
                break;
            }
        }
        if let Some(list) = obj.get_mut("components").and_then(Value::as_array_mut) {
            list.iter_mut().for_each(|c| visit(tree, c, files));
        }
        if let Some(list) = obj.get_mut("items").and_then(Value::as_array_mut) {
            list.iter_mut().for_each(|c| visit(tree, c, files));
        }
        if let Some(a) = obj.get_mut("accessory") {
            visit(tree, a, files);
        }
    }
    for c in components {
        visit(tree, c, files);
    }
}

/// Fills the `url` and `proxy_url` of the media linked to an attachment (see [`link_media`])
/// with the attachment's CDN URL, made by `url_of(attachment id)` (signed afresh on every read
/// when the CDN signs URLs).
pub fn show_media(components: &mut [Value], url_of: &dyn Fn(i64) -> Option<String>) {
    fn visit(v: &mut Value, url_of: &dyn Fn(i64) -> Option<String>) {
        let Some(obj) = v.as_object_mut() else {
            return;
        };
        for key in ["media", "file"] {
            if let Some(media) = obj.get_mut(key).and_then(Value::as_object_mut) {
                let id = media
                    .get("attachment_id")
                    .and_then(Value::as_str)
                    .and_then(|i| i.parse::<i64>().ok());
                if let Some(url) = id.and_then(url_of) {
                    media.insert("url".into(), json!(url));
                    media.insert("proxy_url".into(), json!(url));
                }
            }
        }
        for key in ["components", "items"] {
            if let Some(list) = obj.get_mut(key).and_then(Value::as_array_mut) {
                list.iter_mut().for_each(|c| visit(c, url_of));
            }
        }
        if let Some(a) = obj.get_mut("accessory") {
            visit(a, url_of);
        }
    }
    for c in components {
        visit(c, url_of);
    }
}

/// The `content` and `embeds` a v2 message may not carry (the docs: providing them "will fail
/// with a 400 BAD REQUEST response"; empty values — `null`, `""`, `[]` — are allowed, as an
/// edit that upgrades a message must send them).
pub fn forbid_legacy_fields(tree: &mut ErrorTree, content: Option<&str>, embeds: usize) {
    const CODE: &str = "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2";
    if content.is_some_and(|c| !c.is_empty()) {
        tree.add(
            &["content"],
            CODE,
            "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        );
    }
    if embeds > 0 {
        tree.add(
            &["embeds"],
            CODE,
            "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(mut components: Value) -> (Vec<String>, Value) {
        let mut tree = ErrorTree::new();
        validate(&mut tree, components.as_array_mut().unwrap());
        let body = serde_json::to_value(&tree).unwrap();
        let mut codes = Vec::new();
        fn collect(v: &Value, out: &mut Vec<String>) {
            if let Some(list) = v.get("_errors").and_then(Value::as_array) {
                out.extend(
                    list.iter()
                        .filter_map(|e| e["code"].as_str().map(str::to_owned)),
                );
            }
            if let Some(o) = v.as_object() {
                o.values().for_each(|c| collect(c, out));
            }
        }
        collect(&body, &mut codes);
        (codes, components)
    }

    #[test]
    fn layouts_and_ids() {
        let (codes, out) = errors(json!([
            {"type": 10, "content": "Hello"},
            {"type": 17, "accent_color": 0x00ff00, "components": [
                {"type": 9, "components": [{"type": 10, "content": "Text"}],
                 "accessory": {"type": 11, "media": {"url": "https://example.org/a.png"}}},
                {"type": 14, "divider": true, "spacing": 2},
                {"type": 12, "items": [{"media": {"url": "attachment://a.png"}}]},
                {"type": 13, "file": {"url": "attachment://manual.pdf"}},
                {"type": 1, "id": 3, "components": [{"type": 2, "style": 1, "custom_id": "b", "label": "B"}]}
            ]}
        ]));
        assert!(codes.is_empty(), "{codes:?}");
        // Depth first, skipping the given 3.
        assert_eq!(out[0]["id"], 1);
        assert_eq!(out[1]["id"], 2);
        assert_eq!(out[1]["components"][0]["id"], 4);
        assert_eq!(out[1]["components"][0]["components"][0]["id"], 5);
        assert_eq!(out[1]["components"][0]["accessory"]["id"], 6);
        assert_eq!(out[1]["components"][4]["id"], 3);
        assert_eq!(out[1]["components"][4]["components"][0]["id"], 10);

        for bad in [
            json!([{"type": 17, "components": [{"type": 17, "components": [{"type": 10, "content": "x"}]}]}]),
            json!([{"type": 9, "components": [], "accessory": {"type": 2, "style": 1, "custom_id": "a", "label": "A"}}]),
            json!([{"type": 9, "components": [{"type": 10, "content": "x"}], "accessory": {"type": 10, "content": "y"}}]),
            json!([{"type": 12, "items": []}]),
            json!([{"type": 13, "file": {"url": "https://example.org/f"}}]),
            json!([{"type": 14, "spacing": 3}]),
            json!([{"type": 17, "accent_color": 16777216, "components": [{"type": 10, "content": "x"}]}]),
            json!([{"type": 10, "content": ""}]),
            json!([{"type": 10, "id": 2, "content": "a"}, {"type": 10, "id": 2, "content": "b"}]),
            json!([{"type": 4, "custom_id": "x", "style": 1}]),
            json!([]),
        ] {
            assert!(!errors(bad.clone()).0.is_empty(), "{bad}");
        }
        let many: Vec<Value> = (0..41)
            .map(|i| json!({"type": 10, "content": i.to_string()}))
            .collect();
        assert_eq!(errors(Value::Array(many)).0, ["BASE_TYPE_MAX_LENGTH"]);
    }
}
