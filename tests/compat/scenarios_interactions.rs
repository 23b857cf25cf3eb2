//! The `interactions` scenario: a user account (through REST and its own gateway session, as
//! Discord's client does) uses the commands the library registered, and the library's own
//! handlers answer each way Discord offers — an autocomplete, an ephemeral answer, a deferred
//! answer completed by follow-ups, a button and its press, a modal and its submission.

use serde_json::{Value, json};

use crate::puppet::{Puppet, fields};
use crate::scenarios_commands::{at_pointers, check_synced, command_index};
use crate::world::{COMMAND, Env, UserSession};

/// MessageFlags: EPHEMERAL and LOADING (a deferred response's "thinking" message).
const EPHEMERAL: u64 = 1 << 6;
const LOADING: u64 = 1 << 7;

/// What one invocation runs against: the scenario's environment, the user's session and the
/// guild's command ids.
struct Invoker<'a, 'b> {
    env: &'a Env<'b>,
    user: &'a mut UserSession,
    ids: Vec<String>,
}

impl Invoker<'_, '_> {
    /// `POST /interactions` as the owner with the fields Discord's client sends (type, the
    /// application, guild and channel, a nonce, the gateway session) and `extra`; returns the
    /// nonce.
    async fn post(&self, kind: u64, data: Value, extra: Value) -> Result<String, String> {
        let w = self.env.world;
        let nonce = format!("{}", rand::random::<u32>());
        let mut body = json!({
            "type": kind, "application_id": w.app, "guild_id": w.guild, "channel_id": w.channel,
            "session_id": self.user.session_id, "nonce": nonce, "data": data,
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.env
            .users
            .owner
            .rest
            .call("POST", "/interactions", Some(body), 204)
            .await
            .map_err(|e| format!("POST /interactions (type {kind}): {e}"))?;
        Ok(nonce)
    }

    /// Invokes the guild's slash command `name` with `options`.
    async fn command(&self, name: &str, options: Value) -> Result<String, String> {
        let id = &self.ids[command_index(name)];
        let data = json!({"id": id, "name": name, "type": 1, "options": options});
        self.post(2, data, json!({})).await
    }

    /// The next MESSAGE_CREATE/UPDATE of the user's session by the bot with `content`.
    async fn message(&mut self, event: &str, content: &str) -> Result<Value, String> {
        let bot = self.env.world.bot_id.clone();
        let m = self
            .user
            .dispatch(event, |d| {
                d["content"] == content && d["author"]["id"] == bot
            })
            .await
            .map_err(|e| format!("{e} (by the bot, content {content:?})"))?;
        Ok(m["d"].clone())
    }

    /// The channel's recent history as the owner reads it.
    async fn history(&self) -> Result<Vec<Value>, String> {
        let path = format!("/channels/{}/messages?limit=50", self.env.world.channel);
        let list = self
            .env
            .users
            .owner
            .rest
            .call("GET", &path, None, 200)
            .await?;
        Ok(list.as_array().cloned().unwrap_or_default())
    }
}

fn flags(m: &Value) -> u64 {
    m["flags"].as_u64().unwrap_or(0)
}

pub async fn interactions(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let w = env.world;
    let done = p
        .command(json!({"cmd": "sync_commands", "guild": w.guild}), COMMAND)
        .await?;
    let ids = check_synced("sync_commands (guild)", &done, &json!(w.guild))?;
    let mut user = UserSession::open(&env.server.gateway_direct, &env.users.owner.token).await?;
    let mut inv = Invoker {
        env,
        user: &mut user,
        ids,
    };
    let result = async {
        autocomplete(&mut inv).await?;
        ephemeral(&mut inv).await?;
        deferred(&mut inv).await?;
        button(&mut inv).await?;
        modal(&mut inv).await
    }
    .await;
    user.close().await;
    result
}

/// `/pick fruit:ap…`: the library's autocomplete handler offers the fruits starting with "ap"
/// (APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE to the typing session), then the user runs the
/// command with one of them.
async fn autocomplete(inv: &mut Invoker<'_, '_>) -> Result<(), String> {
    let id = inv.ids[command_index("pick")].clone();
    let data = json!({"id": id, "name": "pick", "type": 1,
        "options": [{"name": "fruit", "type": 3, "value": "ap", "focused": true}]});
    let nonce = inv.post(4, data, json!({})).await?;
    let got = inv
        .user
        .dispatch("APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE", |d| {
            d["nonce"] == nonce.as_str()
        })
        .await?;
    let choices: Vec<(&str, &str)> = got["d"]["choices"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or(""),
                        c["value"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let wanted = [("apple", "apple"), ("apricot", "apricot")];
    if choices != wanted {
        return Err(format!(
            "APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE: choices {choices:?}, wanted {wanted:?} \
             (whole: {got})"
        ));
    }
    inv.command(
        "pick",
        json!([{"name": "fruit", "type": 3, "value": "apricot"}]),
    )
    .await?;
    let m = inv.message("MESSAGE_CREATE", "picked apricot").await?;
    fields(
        "the answer to /pick",
        &m,
        &[
            ("type", json!(20)),
            (
                "interaction_metadata.user.id",
                json!(inv.env.users.owner.id),
            ),
        ],
    )
}

/// `/secret`: the answer (flag EPHEMERAL) reaches the invoking user's session and is not in the
/// channel's history.
async fn ephemeral(inv: &mut Invoker<'_, '_>) -> Result<(), String> {
    inv.command("secret", json!([])).await?;
    let m = inv.message("MESSAGE_CREATE", "psst").await?;
    if flags(&m) & EPHEMERAL == 0 {
        return Err(format!("the answer to /secret is not ephemeral: {m}"));
    }
    let id = m["id"].clone();
    if inv.history().await?.iter().any(|h| h["id"] == id) {
        return Err(format!(
            "the ephemeral answer {id} is in the channel's history"
        ));
    }
    Ok(())
}

/// `/later`: the library defers (a LOADING message), then its first follow-up completes that
/// message (Discord's rule for a follow-up right after a deferred response) and its second is a
/// message of its own.
async fn deferred(inv: &mut Invoker<'_, '_>) -> Result<(), String> {
    inv.command("later", json!([])).await?;
    let bot = inv.env.world.bot_id.clone();
    let loading = inv
        .user
        .dispatch("MESSAGE_CREATE", |d| {
            d["author"]["id"] == bot && flags(d) & LOADING != 0
        })
        .await
        .map_err(|e| format!("{e} (the deferred answer's loading message)"))?["d"]
        .clone();
    let done = inv.message("MESSAGE_UPDATE", "later done").await?;
    if done["id"] != loading["id"] || flags(&done) & LOADING != 0 {
        return Err(format!(
            "the first follow-up after the deferral did not complete the loading message {}: {done}",
            loading["id"]
        ));
    }
    let more = inv.message("MESSAGE_CREATE", "and more").await?;
    if more["id"] == loading["id"] {
        return Err("the second follow-up edited the original instead of posting".into());
    }
    at_pointers(
        "the second follow-up",
        &more,
        &[(
            "/interaction_metadata/original_response_message_id",
            loading["id"].clone(),
        )],
    )?;
    let history = inv.history().await?;
    for (id, content) in [(&loading["id"], "later done"), (&more["id"], "and more")] {
        if !history
            .iter()
            .any(|h| &h["id"] == id && h["content"] == content)
        {
            return Err(format!(
                "message {id} ({content:?}) is not in the channel's history as such"
            ));
        }
    }
    Ok(())
}

/// `/press`: the answer carries a button; the user presses it (a component interaction) and
/// the library's handler updates that message (UPDATE_MESSAGE), removing the button.
async fn button(inv: &mut Invoker<'_, '_>) -> Result<(), String> {
    inv.command("press", json!([])).await?;
    let m = inv.message("MESSAGE_CREATE", "press me").await?;
    at_pointers(
        "the answer to /press",
        &m,
        &[
            ("/components/0/type", json!(1)),
            ("/components/0/components/0/type", json!(2)),
            ("/components/0/components/0/custom_id", json!("press:1")),
        ],
    )?;
    let data = json!({"component_type": 2, "custom_id": "press:1"});
    let extra = json!({"message_id": m["id"], "message_flags": flags(&m)});
    inv.post(3, data, extra).await?;
    let owner = inv.env.users.owner.id.clone();
    let pressed = inv
        .message("MESSAGE_UPDATE", &format!("pressed by {owner}"))
        .await?;
    if pressed["id"] != m["id"] {
        return Err(format!(
            "the press updated {} instead of the button's message {}",
            pressed["id"], m["id"]
        ));
    }
    if pressed["components"]
        .as_array()
        .is_some_and(|c| !c.is_empty())
    {
        return Err(format!("the button is still there: {pressed}"));
    }
    Ok(())
}

/// `/form`: the library answers with a modal (INTERACTION_MODAL_CREATE to the user's session),
/// the user submits it, and the library's modal handler answers with what was typed.
async fn modal(inv: &mut Invoker<'_, '_>) -> Result<(), String> {
    let nonce = inv.command("form", json!([])).await?;
    let shown = inv
        .user
        .dispatch("INTERACTION_MODAL_CREATE", |d| d["nonce"] == nonce.as_str())
        .await?["d"]
        .clone();
    fields(
        "INTERACTION_MODAL_CREATE",
        &shown,
        &[("custom_id", json!("form:1")), ("title", json!("Form"))],
    )?;
    let input = shown
        .pointer("/components/0/components/0")
        .or_else(|| shown.pointer("/components/0/component"))
        .cloned()
        .unwrap_or(Value::Null);
    fields(
        "INTERACTION_MODAL_CREATE's input",
        &input,
        &[("type", json!(4)), ("custom_id", json!("answer"))],
    )?;
    let data = json!({"id": shown["id"], "custom_id": "form:1", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": "forty two"}]}
    ]});
    inv.post(5, data, json!({})).await?;
    inv.message("MESSAGE_CREATE", "answer: forty two")
        .await
        .map(drop)
}
