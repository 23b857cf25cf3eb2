//! Strict decoding of every gateway payload with twilight-model: nothing is skipped, and a payload
//! twilight cannot use becomes an error naming the event, the field, serde's error and the JSON.

use std::error::Error;

use serde::de::DeserializeSeed;
use serde_json::Value;
use twilight_gateway::EventTypeFlags;
use twilight_gateway::error::{ReceiveMessageError, ReceiveMessageErrorType};
use twilight_model::channel::Message;
use twilight_model::gateway::OpCode;
use twilight_model::gateway::event::{Event, GatewayEventDeserializer};
use twilight_model::guild::Guild;

/// Decodes one gateway payload as twilight-gateway does, but with every event type wanted and
/// with payloads twilight would drop (unknown opcode or dispatch name) treated as errors.
pub fn decode(json: String) -> Result<Event, String> {
    let de = GatewayEventDeserializer::from_json(&json)
        .ok_or_else(|| format!("payload without a readable op/t/s header: {json}"))?;
    let raw_op = de.op();
    let name = de.event_type().map(str::to_owned);
    let label = label(raw_op, name.as_deref());
    let op = OpCode::from(raw_op)
        .ok_or_else(|| format!("{label}: opcode unknown to twilight-model: {json}"))?;
    if EventTypeFlags::try_from((op, name.as_deref())).is_err() {
        return Err(format!(
            "{label}: not an event twilight-model knows, twilight would drop it silently: {json}"
        ));
    }
    match twilight_gateway::parse(json.clone(), EventTypeFlags::all()) {
        Ok(Some(event)) => Ok(event.into()),
        Ok(None) => Err(format!(
            "{label}: twilight skipped it although every event type was asked for: {json}"
        )),
        Err(e) => Err(describe_parse_error(&label, &e, &json)),
    }
}

/// A receive error from the shard itself (its own READY/HELLO parsing, decompression, connect).
pub fn describe_receive_error(e: &ReceiveMessageError) -> String {
    let source = e.source().map(|s| s.to_string()).unwrap_or_default();
    match e.kind() {
        ReceiveMessageErrorType::Deserializing { event } => {
            let de = GatewayEventDeserializer::from_json(event);
            let label = de.map_or_else(|| "payload".to_owned(), |d| label(d.op(), d.event_type()));
            describe_parse_error(&label, &source, event)
        }
        _ => format!("twilight-gateway: {e}: {source}"),
    }
}

fn label(op: u8, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{name} (op {op})"),
        None => format!("op {op}"),
    }
}

fn describe_parse_error(label: &str, error: &dyn std::fmt::Display, json: &str) -> String {
    let located = locate(json)
        .map(|(path, error)| format!(" [at {path}: {error}]"))
        .unwrap_or_default();
    format!("{label} does not deserialise with twilight-model: {error}{located}; JSON: {json}")
}

/// Re-decodes a failing payload with path tracking, to name the offending field. Events that
/// serde decodes through a buffer (`GUILD_CREATE` is an untagged enum, `MESSAGE_*` flatten a
/// message) lose the path there, so their inner model is decoded directly from `d`.
fn locate(json: &str) -> Option<(String, String)> {
    let value: Value = serde_json::from_str(json).ok()?;
    let inner = |path: String, error: String| match path.as_str() {
        "." => Some(("d".to_owned(), error)),
        _ => Some((format!("d.{path}"), error)),
    };
    match value["t"].as_str() {
        Some("GUILD_CREATE") => {
            let r: Result<Guild, _> = serde_path_to_error::deserialize(&value["d"]);
            r.err()
                .and_then(|e| inner(e.path().to_string(), e.inner().to_string()))
        }
        Some("MESSAGE_CREATE" | "MESSAGE_UPDATE") => {
            let r: Result<Message, _> = serde_path_to_error::deserialize(&value["d"]);
            r.err()
                .and_then(|e| inner(e.path().to_string(), e.inner().to_string()))
        }
        _ => {
            let seed = GatewayEventDeserializer::from_json(json)?;
            let mut track = serde_path_to_error::Track::new();
            let mut de = serde_json::Deserializer::from_str(json);
            let result =
                seed.deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
            result
                .err()
                .map(|e| (track.path().to_string(), e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_well_formed_hello() {
        let json = r#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#;
        assert!(matches!(decode(json.into()), Ok(Event::GatewayHello(_))));
    }

    #[test]
    fn unknown_dispatches_and_opcodes_are_errors() {
        let json = r#"{"op":0,"s":3,"t":"NOT_AN_EVENT","d":{}}"#;
        let e = decode(json.into()).unwrap_err();
        assert!(e.starts_with("NOT_AN_EVENT (op 0): not an event"), "{e}");
        let e = decode(r#"{"op":42,"d":null}"#.into()).unwrap_err();
        assert!(e.contains("opcode unknown"), "{e}");
    }

    #[test]
    fn a_wrongly_typed_field_is_named() {
        let json = r#"{"op":0,"s":2,"t":"CHANNEL_DELETE","d":{"id":"1","type":"zero"}}"#;
        let e = decode(json.into()).unwrap_err();
        assert!(
            e.starts_with("CHANNEL_DELETE (op 0) does not deserialise"),
            "{e}"
        );
        assert!(e.contains("[at d.type"), "{e}");
        assert!(e.ends_with(json), "{e}");
    }

    #[test]
    fn guild_create_failures_name_the_field_inside_the_guild() {
        let json = r#"{"op":0,"s":2,"t":"GUILD_CREATE","d":{"id":"1","name":7}}"#;
        let e = decode(json.into()).unwrap_err();
        assert!(e.contains("[at d.name: invalid type: integer `7`"), "{e}");
    }
}
