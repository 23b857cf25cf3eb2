//! The documented sample configuration, generated from [`Config`] itself: its JSON schema
//! supplies the doc comments, `Config::default()` the values, and its serde field order the layout.

use std::fmt::{self, Write as _};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::Config;

/// The sample `accord.toml`: every section and key with its documentation as comments and its
/// default value. Keys without a default are commented out. Parsing it gives `Config::default()`.
pub fn sample() -> String {
    let config = Config::default();
    let schema = Config::json_schema();
    let root = schema.as_value();
    let values =
        toml::Table::try_from(&config).expect("the default configuration serialises to TOML");
    let json =
        serde_json::to_string(&config).expect("the default configuration serialises to JSON");
    let Node::Table(layout) =
        serde_json::from_str(&json).expect("JSON written by serde_json parses")
    else {
        unreachable!("Config serialises to a map")
    };

    let mut out = String::new();
    comment(&mut out, str_field(root, "description").unwrap_or_default());
    Sample {
        root,
        out: &mut out,
    }
    .table(root, &values, &layout, "");
    out
}

/// The shape of a serialised value, keeping field order (serde_json's own map is sorted).
enum Node {
    Leaf,
    Table(Vec<(String, Node)>),
}

impl<'de> de::Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Node::Leaf)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, node)) = map.next_entry::<String, Node>()? {
            entries.push((key, node));
        }
        Ok(Node::Table(entries))
    }
}

struct Sample<'a> {
    root: &'a Json,
    out: &'a mut String,
}

impl<'a> Sample<'a> {
    /// Writes the keys of one table (`schema` is its object schema), then its sub-tables.
    fn table(
        &mut self,
        schema: &Json,
        values: &toml::Table,
        layout: &[(String, Node)],
        path: &str,
    ) {
        let props = schema.get("properties");
        let prop = |key: &str| props.and_then(|p| p.get(key)).unwrap_or(&Json::Null);
        for (key, _) in layout.iter().filter(|(_, node)| matches!(node, Node::Leaf)) {
            let prop = prop(key);
            self.out.push('\n');
            comment(self.out, &self.description(prop));
            self.possible_values(prop);
            match values.get(key) {
                Some(value) => writeln!(self.out, "{key} = {}", format_value(value)),
                None => {
                    let example = prop
                        .get("examples")
                        .and_then(|e| e.get(0))
                        .and_then(|e| toml::Value::try_from(e).ok())
                        .map(|e| format!(" {}", format_value(&e)))
                        .unwrap_or_default();
                    writeln!(self.out, "# {key} ={example}")
                }
            }
            .expect("writing to a String");
        }
        for (key, node) in layout {
            let Node::Table(children) = node else {
                continue;
            };
            let prop = prop(key);
            let full = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            self.out.push('\n');
            comment(self.out, &self.description(prop));
            writeln!(self.out, "[{full}]").expect("writing to a String");
            let empty = toml::Table::new();
            let sub = values
                .get(key)
                .and_then(toml::Value::as_table)
                .unwrap_or(&empty);
            let schema = self.resolve(prop);
            self.table(schema, sub, children, &full);
        }
    }

    /// Follows a `$ref` (also one wrapped in `allOf`) to the definition it names.
    fn resolve<'s>(&self, schema: &'s Json) -> &'s Json
    where
        'a: 's,
    {
        let reference = str_field(schema, "$ref").or_else(|| {
            schema
                .get("allOf")
                .and_then(|all| all.get(0))
                .and_then(|s| str_field(s, "$ref"))
        });
        match reference.and_then(|r| r.strip_prefix("#")) {
            Some(pointer) => self.root.pointer(pointer).unwrap_or(schema),
            None => schema,
        }
    }

    /// The field's own doc comment, else that of its type.
    fn description(&self, prop: &Json) -> String {
        str_field(prop, "description")
            .or_else(|| str_field(self.resolve(prop), "description"))
            .unwrap_or_default()
            .to_owned()
    }

    /// For an enum, lists its values with their doc comments.
    fn possible_values(&mut self, prop: &Json) {
        let schema = self.resolve(prop);
        let mut values: Vec<(String, &str)> = Vec::new();
        if let Some(variants) = schema.get("oneOf").and_then(Json::as_array) {
            for v in variants {
                let Some(name) = v
                    .get("const")
                    .or_else(|| v.get("enum").and_then(|e| e.get(0)))
                else {
                    return;
                };
                values.push((
                    name.to_string(),
                    str_field(v, "description").unwrap_or_default(),
                ));
            }
        } else if let Some(names) = schema.get("enum").and_then(Json::as_array) {
            values = names.iter().map(|n| (n.to_string(), "")).collect();
        }
        if values.is_empty() {
            return;
        }
        self.out.push_str("# Possible values:\n");
        for (name, doc) in values {
            let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
            let line = if doc.is_empty() {
                format!("#   {name}")
            } else {
                format!("#   {name}: {doc}")
            };
            self.out.push_str(&line);
            self.out.push('\n');
        }
    }
}

fn str_field<'s>(schema: &'s Json, field: &str) -> Option<&'s str> {
    schema.get(field).and_then(Json::as_str)
}

/// Writes `text` as `#` comment lines, keeping its line breaks.
fn comment(out: &mut String, text: &str) {
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// A TOML value; arrays too long for one line get one element per line.
fn format_value(value: &toml::Value) -> String {
    match value {
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(format_value).collect();
            let inline = format!("[{}]", items.join(", "));
            if inline.len() <= 80 {
                inline
            } else {
                let mut s = String::from("[\n");
                for item in items {
                    s.push_str("    ");
                    s.push_str(&item);
                    s.push_str(",\n");
                }
                s.push(']');
                s
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {

    use figment::Figment;
    use figment::providers::{Format, Serialized, Toml};

    use super::*;

    #[test]
    fn sample_parses_back_to_defaults() {
        let sample = sample();
        let parsed: Config = toml::from_str(&sample).unwrap_or_else(|e| panic!("{e}\n{sample}"));
        assert_eq!(parsed, Config::default());
        let figment =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(&sample));
        assert_eq!(Config::from_figment(figment).unwrap(), Config::default());
    }

    #[test]
    fn sample_documents_every_key() {
        let sample = sample();
        assert!(sample.starts_with("# Accord configuration.\n"), "{sample}");
        for header in [
            "[instance]",
            "[api]",
            "[gateway]",
            "[cdn]",
            "[cdn.s3]",
            "[voice]",
            "[database]",
            "[bus]",
            "[snowflake]",
            "[register]",
            "[register.username]",
            "[register.password]",
            "[security]",
            "[security.argon2]",
            "[limits]",
            "[rights]",
            "[log]",
        ] {
            assert!(sample.lines().any(|l| l == header), "missing {header}");
        }
        for commented in [
            "# public_url = \"https://chat.example.com\"",
            "# url = \"postgres://accord:secret@localhost:5432/accord\"",
            "# token_secret =\n",
        ] {
            assert!(sample.contains(commented), "missing {commented}");
        }
        assert!(
            sample.contains("#   \"invite_only\": "),
            "enum values are listed"
        );
        // Every key line is directly preceded by a comment.
        let lines: Vec<&str> = sample.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let is_key = line.contains(" = ") && !line.starts_with('#') && !line.starts_with(' ');
            let is_section = line.starts_with('[');
            if is_key || is_section {
                assert!(lines[i - 1].starts_with('#'), "undocumented: {line}");
            }
        }
    }

    #[test]
    fn rights_doc_lists_every_right() {
        let schema = Config::json_schema();
        let doc = schema
            .as_value()
            .pointer("/$defs/RightsConfig/properties/default/description")
            .and_then(|d| d.as_str())
            .expect("rights.default is documented")
            .to_owned();
        for (name, _) in accord_model::Rights::NAMED {
            assert!(
                doc.contains(name),
                "rights.default doc does not mention {name}"
            );
        }
    }

    #[test]
    fn committed_example_matches_sample() {
        // Compiled in (not read through a path baked in at build time), so a build cache shared
        // by several checkouts cannot compare against another checkout's file.
        let committed = include_str!("../../../deploy/accord.example.toml");
        assert!(
            committed == sample(),
            "deploy/accord.example.toml is out of date with the Config struct; regenerate it with \
             `cargo run -- config sample > deploy/accord.example.toml` (or, without the CLI, \
             `cargo run -p accord-config --example sample > deploy/accord.example.toml`)"
        );
    }
}
