//! The `commands` scenario: the library registers application commands with its own API
//! (discord.py `CommandTree.sync()`, discord.js `ApplicationCommandManager#set`), globally and in
//! the guild, parses what Accord answers into its own models, and the harness reads them back;
//! then a user invokes `/blep` and the library's own handler answers it.

use serde_json::{Value, json};

use crate::puppet::{Puppet, fields};
use crate::world::{COMMAND, Env};

/// The commands both puppets define: (name, type), sorted by name.
const WANTED: [(&str, u64); 8] = [
    ("High Five", 2),
    ("blep", 1),
    ("form", 1),
    ("later", 1),
    ("perms", 1),
    ("pick", 1),
    ("press", 1),
    ("secret", 1),
];

/// Checks the puppet's answer names exactly the wanted commands in `guild` (null: global) and
/// returns their ids in the order of [`WANTED`].
pub fn check_synced(what: &str, done: &Value, guild: &Value) -> Result<Vec<String>, String> {
    let list = done["commands"]
        .as_array()
        .ok_or_else(|| format!("DONE {what}: no `commands` list: {done}"))?;
    let got: Vec<(&str, u64)> = list
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or(""),
                c["type"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    if got != WANTED {
        return Err(format!("DONE {what}: commands {got:?}, wanted {WANTED:?}"));
    }
    let mut ids = Vec::new();
    for c in list {
        fields(&format!("DONE {what}"), c, &[("guild", guild.clone())])?;
        let id = c["id"].as_str().unwrap_or_default();
        if id.is_empty() {
            return Err(format!("DONE {what}: a command without an id: {c}"));
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// Where `name` is in [`WANTED`] (and so in what [`check_synced`] returns).
pub fn command_index(name: &str) -> usize {
    WANTED
        .iter()
        .position(|(n, _)| *n == name)
        .expect("a command of WANTED")
}

/// Checks values at JSON pointers of `got` (the harness's `fields` only walks objects).
pub fn at_pointers(what: &str, got: &Value, want: &[(&str, Value)]) -> Result<(), String> {
    for (pointer, wanted) in want {
        let value = got.pointer(pointer).unwrap_or(&Value::Null);
        if value != wanted {
            return Err(format!(
                "{what}: `{pointer}` is {value}, wanted {wanted} (whole: {got})"
            ));
        }
    }
    Ok(())
}

/// Reads the commands of a scope through REST (as the bot) and checks they are `ids`, with the
/// options the libraries sent.
async fn check_stored(env: &Env<'_>, path: &str, ids: &[String]) -> Result<(), String> {
    let list = env
        .world
        .bot
        .call("GET", &format!("{path}?with_localizations=true"), None, 200)
        .await?;
    let mut stored: Vec<&Value> = list
        .as_array()
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    stored.sort_by_key(|c| c["name"].as_str().unwrap_or("").to_owned());
    let stored_ids: Vec<&str> = stored
        .iter()
        .map(|c| c["id"].as_str().unwrap_or(""))
        .collect();
    if stored_ids != ids {
        return Err(format!(
            "GET {path}: ids {stored_ids:?}, the library got {ids:?}"
        ));
    }
    let named = |name: &str| {
        stored
            .iter()
            .find(|c| c["name"] == name)
            .copied()
            .unwrap_or(&Value::Null)
    };
    let blep = named("blep");
    at_pointers(
        &format!("GET {path}: blep"),
        blep,
        &[
            ("/options/0/name", json!("animal")),
            ("/options/0/required", json!(true)),
            ("/options/0/choices/1/value", json!("animal_cat")),
            ("/options/1/name", json!("count")),
            ("/options/1/min_value", json!(1)),
            ("/options/1/max_value", json!(10)),
        ],
    )?;
    at_pointers(
        &format!("GET {path}: perms"),
        named("perms"),
        &[
            ("/default_member_permissions", json!("32")),
            ("/options/0/type", json!(1)),
            ("/options/0/options/0/type", json!(6)),
            ("/options/0/options/1/type", json!(7)),
        ],
    )?;
    at_pointers(
        &format!("GET {path}: High Five"),
        named("High Five"),
        &[("/description", json!(""))],
    )?;
    at_pointers(
        &format!("GET {path}: pick"),
        named("pick"),
        &[
            ("/options/0/name", json!("fruit")),
            ("/options/0/autocomplete", json!(true)),
        ],
    )?;
    Ok(())
}

pub async fn commands(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let w = env.world;
    let global = format!("/applications/{}/commands", w.app);
    let in_guild = format!("/applications/{}/guilds/{}/commands", w.app, w.guild);
    let done = p.command(json!({"cmd": "sync_commands"}), COMMAND).await?;
    let ids = check_synced("sync_commands (global)", &done, &Value::Null)?;
    check_stored(env, &global, &ids).await?;
    // Syncing the same commands again keeps them (same ids).
    let again = p.command(json!({"cmd": "sync_commands"}), COMMAND).await?;
    let again_ids = check_synced("sync_commands (global, again)", &again, &Value::Null)?;
    if again_ids != ids {
        return Err(format!(
            "a second global sync changed the ids: {ids:?} → {again_ids:?}"
        ));
    }
    let done = p
        .command(json!({"cmd": "sync_commands", "guild": w.guild}), COMMAND)
        .await?;
    let guild_ids = check_synced("sync_commands (guild)", &done, &json!(w.guild))?;
    check_stored(env, &in_guild, &guild_ids).await?;
    if guild_ids.iter().any(|id| ids.contains(id)) {
        return Err("guild commands share ids with global ones".into());
    }
    invoke_blep(env, &guild_ids[command_index("blep")]).await
}

/// A user invokes the guild's `blep` (as Discord's client does); the library's own handler
/// answers, and its response message (type 20, by the bot) appears in the channel.
async fn invoke_blep(env: &Env<'_>, command: &str) -> Result<(), String> {
    let w = env.world;
    let nonce = format!("{}", rand::random::<u32>());
    env.users
        .owner
        .rest
        .call(
            "POST",
            "/interactions",
            Some(json!({
                "type": 2, "application_id": w.app, "guild_id": w.guild, "channel_id": w.channel,
                "nonce": nonce,
                "data": {"id": command, "name": "blep", "type": 1,
                         "options": [{"name": "animal", "type": 3, "value": "animal_dog"},
                                     {"name": "count", "type": 4, "value": 3}]}
            })),
            204,
        )
        .await?;
    for _ in 0..100 {
        let list = env
            .users
            .owner
            .rest
            .call(
                "GET",
                &format!("/channels/{}/messages?limit=10", w.channel),
                None,
                200,
            )
            .await?;
        let found = list.as_array().and_then(|l| {
            l.iter().find(|m| {
                m["type"] == 20
                    && m["interaction_metadata"]["user"]["id"] == env.users.owner.id.as_str()
                    && m["content"] == "animal_dog x3"
            })
        });
        if let Some(m) = found {
            return at_pointers(
                "the library's answer to /blep",
                m,
                &[
                    ("/author/id", json!(w.bot_id)),
                    ("/application_id", json!(w.app)),
                    ("/interaction/name", json!("blep")),
                ],
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(
        "the library did not answer /blep within 10 s (no type 20 message \"animal_dog x3\")"
            .into(),
    )
}
