//! ATTACHMENT options (type 11): the invoking client uploads the files with the interaction
//! (`POST /interactions` as multipart: `payload_json` and `files[n]`, with `data.attachments`
//! naming `n` and optionally a file name); an option's value names its file by `n`. The files
//! are stored through the message upload path (same checks, blob storage, CDN URL) as ephemeral
//! attachments of the channel, the option's value becomes the attachment's id, and
//! `data.resolved.attachments` carries the attachment objects (receiving-and-responding.mdx,
//! "Resolved Data Structure").

use accord_model::{ChannelId, CommandDataOption, CommandOptionType, ErrorTree, Permissions};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::multipart::Upload;
use crate::services::messages::uploads::{self, AttachmentRequest, Prepared};
use crate::state::AppState;
use crate::views_message;

/// The paths (`data.options.0.options.1`) and values of the ATTACHMENT options in `given`.
fn attachment_options<'a>(
    path: Vec<String>,
    given: &'a mut [CommandDataOption],
    out: &mut Vec<(Vec<String>, &'a mut Option<Value>)>,
) {
    for (i, option) in given.iter_mut().enumerate() {
        let mut p = path.clone();
        p.push(i.to_string());
        if option.kind == CommandOptionType::Attachment {
            p.push("value".into());
            out.push((p, &mut option.value));
        } else if let Some(inner) = option.options.as_mut() {
            p.push("options".into());
            attachment_options(p, inner, out);
        }
    }
}

/// `n` of an option value naming `files[n]` (a number or a string of digits).
fn file_index(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Uploads checked and ready to store.
#[derive(Default)]
pub(crate) struct OptionFiles {
    /// The files to store (only those an option names).
    pub(crate) prepared: Vec<Prepared>,
}

/// Matches the ATTACHMENT options of `given` to `files` and prepares the files they name
/// (checked as message uploads are, with the invoker's `permissions`: ATTACH_FILES, count,
/// size); rewrites each option's value to its attachment's id. Nothing is stored yet.
pub(crate) fn prepare(
    state: &AppState,
    permissions: Permissions,
    channel: ChannelId,
    given: &mut [CommandDataOption],
    files: Vec<Upload>,
    meta: &[AttachmentRequest],
) -> ApiResult<OptionFiles> {
    let mut tree = ErrorTree::new();
    let mut options = Vec::new();
    attachment_options(vec!["data".into(), "options".into()], given, &mut options);
    let mut wanted: Vec<u64> = Vec::new();
    for (path, value) in &options {
        let index = value.as_ref().and_then(file_index);
        match index.filter(|n| files.iter().any(|f| f.index == *n)) {
            Some(n) => wanted.push(n),
            None => {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                tree.add(
                    &path,
                    "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
                    "Value must name a file uploaded with the interaction.",
                );
            }
        }
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    // Only the files an option names are kept; each is stored once however many name it.
    let used: Vec<Upload> = files
        .into_iter()
        .filter(|f| wanted.contains(&f.index))
        .collect();
    let indexes: Vec<u64> = used.iter().map(|f| f.index).collect();
    let prepared = uploads::prepare(state, &mut tree, permissions, channel, used, meta)?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    for (_, value) in options {
        let n = value.as_ref().and_then(file_index);
        if let Some(p) = indexes
            .iter()
            .position(|i| Some(*i) == n)
            .and_then(|k| prepared.get(k))
        {
            *value = Some(json!(p.row.id.to_string()));
        }
    }
    Ok(OptionFiles { prepared })
}

/// Stores the prepared files (blobs, then rows without a message, marked ephemeral as
/// Discord's are) and returns `resolved.attachments`, or none when there are no files.
pub(crate) async fn store(
    state: &AppState,
    channel: ChannelId,
    files: &mut OptionFiles,
) -> ApiResult<Option<Value>> {
    if files.prepared.is_empty() {
        return Ok(None);
    }
    for p in &mut files.prepared {
        p.row.ephemeral = true;
    }
    uploads::store(state, &files.prepared).await?;
    let rows: Vec<_> = files.prepared.iter().map(|p| p.row.clone()).collect();
    let records = match state.store.add_loose_attachments(channel, &rows).await {
        Ok(r) => r,
        Err(e) => {
            uploads::discard(state, &files.prepared).await;
            return Err(e.into());
        }
    };
    let mut out = Map::new();
    for r in &records {
        out.insert(r.id.to_string(), json!(views_message::attachment(state, r)));
    }
    Ok(Some(Value::Object(out)))
}
