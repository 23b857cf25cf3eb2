//! Embeds sent with a message: Discord's limits (developers/resources/message.mdx, "Embed
//! Limits") and the normalisation it applies to sent embeds (always `rich`; no provider, video,
//! or media sizes and proxy URLs).

use accord_model::{Embed, ErrorTree};

/// Title, description, field and footer/author limits, in characters.
const TITLE: usize = 256;
const DESCRIPTION: usize = 4096;
const FIELDS: usize = 25;
const FIELD_NAME: usize = 256;
const FIELD_VALUE: usize = 1024;
const FOOTER: usize = 2048;
const AUTHOR: usize = 256;
/// All text of all embeds of a message together.
const TOTAL: usize = 6000;

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn too_long(tree: &mut ErrorTree, path: &[&str], max: usize) {
    tree.add(
        path,
        "BASE_TYPE_MAX_LENGTH",
        format!("Must be {max} or fewer in length."),
    );
}

/// Validates `embeds` (at most `max_embeds`) into `tree` and returns them normalised.
pub fn validate(tree: &mut ErrorTree, embeds: Vec<Embed>, max_embeds: usize) -> Vec<Embed> {
    if embeds.len() > max_embeds {
        too_long(tree, &["embeds"], max_embeds);
        return Vec::new();
    }
    let mut total = 0;
    let mut out = Vec::with_capacity(embeds.len());
    for (i, mut e) in embeds.into_iter().enumerate() {
        let i = i.to_string();
        let mut check = |tree: &mut ErrorTree, path: &[&str], text: &str, max: usize| {
            let n = chars(text);
            total += n;
            if n > max {
                let mut p = vec!["embeds", i.as_str()];
                p.extend_from_slice(path);
                too_long(tree, &p, max);
            }
        };
        if let Some(t) = &e.title {
            check(tree, &["title"], t, TITLE);
        }
        if let Some(d) = &e.description {
            check(tree, &["description"], d, DESCRIPTION);
        }
        if let Some(f) = &e.footer {
            check(tree, &["footer", "text"], &f.text, FOOTER);
        }
        if let Some(a) = &e.author {
            check(tree, &["author", "name"], &a.name, AUTHOR);
        }
        if let Some(fields) = &e.fields {
            for (j, f) in fields.iter().enumerate() {
                let j = j.to_string();
                check(tree, &["fields", &j, "name"], &f.name, FIELD_NAME);
                check(tree, &["fields", &j, "value"], &f.value, FIELD_VALUE);
            }
            if fields.len() > FIELDS {
                too_long(tree, &["embeds", &i, "fields"], FIELDS);
            }
        }
        e.kind = Some("rich".to_owned());
        e.provider = None;
        e.video = None;
        for media in [&mut e.image, &mut e.thumbnail].into_iter().flatten() {
            media.proxy_url = None;
            media.height = None;
            media.width = None;
        }
        out.push(e);
    }
    if total > TOTAL {
        tree.add(
            &["embeds"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Embed size exceeds maximum size of {TOTAL}"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed(v: serde_json::Value) -> Embed {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn limits_and_normalisation() {
        let mut tree = ErrorTree::new();
        let out = validate(
            &mut tree,
            vec![embed(serde_json::json!({"title": "t", "type": "video"}))],
            10,
        );
        assert!(tree.is_empty());
        assert_eq!(out[0].kind.as_deref(), Some("rich"));

        let mut tree = ErrorTree::new();
        validate(
            &mut tree,
            vec![embed(serde_json::json!({"title": "x".repeat(257)}))],
            10,
        );
        let v = serde_json::to_value(&tree).unwrap();
        assert_eq!(
            v["embeds"]["0"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );

        let mut tree = ErrorTree::new();
        let big = serde_json::json!({"description": "x".repeat(4000)});
        validate(&mut tree, vec![embed(big.clone()), embed(big)], 10);
        let v = serde_json::to_value(&tree).unwrap();
        assert_eq!(v["embeds"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");

        let mut tree = ErrorTree::new();
        validate(&mut tree, vec![embed(serde_json::json!({})); 11], 10);
        assert!(!tree.is_empty());
    }
}
