//! The compatibility scenarios about the guild and the connection: members, channels, presence
//! (with typing), resume and sharding.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::puppet::{Puppet, fields};
use crate::server::id_of;
use crate::world::{EVENT, Env, UserSession, add_bot, create_guild};

fn roles_of(member: &Value) -> Value {
    let mut roles: Vec<String> = member["roles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    json!(roles)
}

/// A user joins through an invite, gets a role and loses it (the role is then renamed and
/// deleted), gets a nickname, is kicked, joins again and is banned: REST shows each step and the
/// puppet sees each event.
pub async fn members(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let p: &Puppet = p;
    let (w, owner, joiner) = (env.world, &env.users.owner.rest, &env.users.joiner);
    let g = w.guild.as_str();
    let member_path = format!("/guilds/{g}/members/{}", joiner.id);
    let is_joiner = |e: &Value| e["user"] == joiner.id.as_str() && e["guild"] == g;
    let join = |from| async move {
        let invite = format!("/invites/{}", w.invite);
        joiner
            .rest
            .call("POST", &invite, Some(json!({})), 200)
            .await?;
        p.event(from, "member_add", "the joining user", EVENT, is_joiner)
            .await
            .map(drop)
    };
    let from = p.mark();
    join(from).await?;
    owner.call("GET", &member_path, None, 200).await?;

    let role = owner
        .call(
            "POST",
            &format!("/guilds/{g}/roles"),
            Some(json!({"name": "compat role"})),
            200,
        )
        .await?;
    let rid = id_of(&role);
    let ev = p
        .event(from, "role_create", "the new role", EVENT, |e| {
            e["role"] == rid.as_str()
        })
        .await?;
    fields(
        "EVENT role_create",
        &ev,
        &[("guild", json!(g)), ("name", json!("compat role"))],
    )?;

    let role_path = format!("{member_path}/roles/{rid}");
    owner.call("PUT", &role_path, None, 204).await?;
    let read = owner.call("GET", &member_path, None, 200).await?;
    fields(
        "GET /guilds/{guild_id}/members/{user_id} after PUT role",
        &json!({"roles": roles_of(&read)}),
        &[("roles", json!([rid]))],
    )?;
    let ev = p
        .event(from, "member_update", "the role assigned", EVENT, |e| {
            is_joiner(e) && e["roles"] == json!([rid])
        })
        .await?;
    let mark = p.mark();
    owner.call("DELETE", &role_path, None, 204).await?;
    let read = owner.call("GET", &member_path, None, 200).await?;
    fields(
        "GET /guilds/{guild_id}/members/{user_id} after DELETE role",
        &json!({"roles": roles_of(&read)}),
        &[("roles", json!([]))],
    )?;
    p.event(mark, "member_update", "the role removed", EVENT, |e| {
        is_joiner(e) && e["roles"] == json!([])
    })
    .await
    .map_err(|e| format!("{e} (after {ev})"))?;

    let mark = p.mark();
    let role_path = format!("/guilds/{g}/roles/{rid}");
    let rename = json!({"name": "compat role renamed"});
    owner.call("PATCH", &role_path, Some(rename), 200).await?;
    let is_role = |e: &Value| e["role"] == rid.as_str() && e["guild"] == g;
    p.event(mark, "role_update", "the renamed role", EVENT, |e| {
        is_role(e) && e["name"] == "compat role renamed"
    })
    .await?;
    owner.call("DELETE", &role_path, None, 204).await?;
    let status = owner.status("GET", &role_path).await?;
    if status != 404 {
        return Err(format!(
            "GET {role_path} after DELETE answered {status}, wanted 404"
        ));
    }
    p.event(mark, "role_delete", "the deleted role", EVENT, is_role)
        .await?;

    let mark = p.mark();
    owner
        .call(
            "PATCH",
            &member_path,
            Some(json!({"nick": "compat nick"})),
            200,
        )
        .await?;
    fields(
        "GET member after nick",
        &owner.call("GET", &member_path, None, 200).await?,
        &[("nick", json!("compat nick"))],
    )?;
    p.event(mark, "member_update", "the nickname", EVENT, |e| {
        is_joiner(e) && e["nick"] == "compat nick"
    })
    .await?;

    let mark = p.mark();
    owner.call("DELETE", &member_path, None, 204).await?;
    let status = owner.status("GET", &member_path).await?;
    if status != 404 {
        return Err(format!(
            "GET {member_path} after the kick answered {status}, wanted 404"
        ));
    }
    p.event(mark, "member_remove", "the kick", EVENT, is_joiner)
        .await?;

    let mark = p.mark();
    join(mark).await?;
    let ban = format!("/guilds/{g}/bans/{}", joiner.id);
    owner.call("PUT", &ban, Some(json!({})), 204).await?;
    owner.call("GET", &ban, None, 200).await?;
    p.event(mark, "ban_add", "the ban", EVENT, is_joiner)
        .await?;
    p.event(
        mark,
        "member_remove",
        "the banned member leaving",
        EVENT,
        is_joiner,
    )
    .await?;
    Ok(())
}

const VIEW_CHANNEL: u64 = 1 << 10;

/// Channel create, update and delete events; a permission overwrite denying VIEW_CHANNEL to the
/// bot hides the channel's messages from it, and removing the overwrite shows them again.
pub async fn channels(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let (w, owner) = (env.world, &env.users.owner.rest);
    let g = w.guild.as_str();
    let from = p.mark();
    let body = json!({"name": "compat-room", "type": 0});
    let created = owner
        .call("POST", &format!("/guilds/{g}/channels"), Some(body), 201)
        .await?;
    let c = id_of(&created);
    let ev = p
        .event(from, "channel_create", "the new channel", EVENT, |e| {
            e["channel"] == c.as_str()
        })
        .await?;
    fields(
        "EVENT channel_create",
        &ev,
        &[("guild", json!(g)), ("name", json!("compat-room"))],
    )?;
    let rename = json!({"name": "compat-renamed"});
    owner
        .call("PATCH", &format!("/channels/{c}"), Some(rename), 200)
        .await?;
    p.event(from, "channel_update", "the rename", EVENT, |e| {
        e["channel"] == c.as_str() && e["name"] == "compat-renamed"
    })
    .await?;

    // Hidden: an overwrite denying VIEW_CHANNEL to the bot's member.
    let overwrite = format!("/channels/{c}/permissions/{}", w.bot_id);
    let deny = json!({"type": 1, "allow": "0", "deny": VIEW_CHANNEL.to_string()});
    owner.call("PUT", &overwrite, Some(deny), 204).await?;
    let read = format!("/channels/{c}/messages");
    let status = w.bot.status("GET", &read).await?;
    if status == 200 {
        return Err(format!(
            "GET {read} as the bot answered 200 although VIEW_CHANNEL is denied to it"
        ));
    }
    let mark = p.mark();
    let hidden = env
        .post(&c, &format!("hidden from the bot {}", env.tag))
        .await?;
    let sentinel = env
        .post(&w.channel, &format!("after the hidden one {}", env.tag))
        .await?;
    p.event(
        mark,
        "message_create",
        "a message in a visible channel",
        EVENT,
        |e| e["id"] == sentinel.as_str(),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Some(e) = p
        .events_since(mark)
        .iter()
        .find(|e| e["t"] == "message_create" && e["id"] == hidden.as_str())
    {
        return Err(format!(
            "EVENT message_create {e} arrived from a channel hidden from the bot"
        ));
    }

    // Shown again.
    owner.call("DELETE", &overwrite, None, 204).await?;
    w.bot
        .call("GET", &read, None, 200)
        .await
        .map_err(|e| format!("after the overwrite is removed: {e}"))?;
    let mark = p.mark();
    let shown = env.post(&c, &format!("visible again {}", env.tag)).await?;
    let ev = p
        .event(
            mark,
            "message_create",
            "a message in the channel shown again",
            EVENT,
            |e| e["id"] == shown.as_str(),
        )
        .await?;
    fields(
        "EVENT message_create (channel shown again)",
        &ev,
        &[("channel", json!(c)), ("guild", json!(g))],
    )?;

    owner
        .call("DELETE", &format!("/channels/{c}"), None, 200)
        .await?;
    p.event(mark, "channel_delete", "the deleted channel", EVENT, |e| {
        e["channel"] == c.as_str()
    })
    .await?;
    Ok(())
}

/// Another user comes online through a raw gateway session, types, and goes offline.
pub async fn presence(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    let (w, watcher) = (env.world, &env.users.watcher);
    let is_watcher = |e: &Value| e["user"] == watcher.id.as_str() && e["guild"] == w.guild.as_str();
    let from = p.mark();
    let session = UserSession::open(&env.server.gateway_direct, &watcher.token).await?;
    let result = async {
        p.event(from, "presence", "the user coming online", EVENT, |e| {
            is_watcher(e) && e["status"] == "online"
        })
        .await?;
        let mark = p.mark();
        let typing = format!("/channels/{}/typing", w.channel);
        watcher.rest.call("POST", &typing, None, 204).await?;
        let ev = p
            .event(mark, "typing", "the user typing", EVENT, |e| {
                e["user"] == watcher.id.as_str()
            })
            .await?;
        fields(
            "EVENT typing",
            &ev,
            &[("channel", json!(w.channel)), ("guild", json!(w.guild))],
        )
    }
    .await;
    let mark = p.mark();
    session.close().await;
    result?;
    p.event(mark, "presence", "the user going offline", EVENT, |e| {
        is_watcher(e) && e["status"] == "offline"
    })
    .await
    .map(drop)
}

/// The relay cuts the puppet's connections while users post a numbered sequence; the library
/// resumes and its handlers see each message exactly once, in order.
pub async fn resume(env: &Env<'_>, p: &mut Puppet) -> Result<(), String> {
    const COUNT: usize = 10;
    let (w, relay) = (env.world, &env.server.relay);
    let posters = [&env.users.owner.rest, &env.users.watcher.rest];
    let from = p.mark();
    let mut first_cut = from;
    let mut ids = Vec::new();
    for i in 0..COUNT {
        let path = format!("/channels/{}/messages", w.channel);
        let body = json!({"content": format!("resume {} #{i}", env.tag)});
        ids.push(id_of(
            &posters[i % 2].call("POST", &path, Some(body), 200).await?,
        ));
        if i == 2 || i == 6 {
            if i == 6 {
                // The second cut hits the resumed session. Cutting as soon as any connection
                // shows up at the relay could land mid-handshake, where a library may treat the
                // failed connect as a network error and identify afresh instead of resuming
                // (discord.js does), which is not what this scenario is about.
                p.event(
                    first_cut,
                    "resumed",
                    "the resume after the first cut",
                    EVENT * 2,
                    |_| true,
                )
                .await?;
            }
            first_cut = p.mark();
            let deadline = Instant::now() + Duration::from_secs(15);
            let mut cut = relay.cut_all();
            while cut == 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
                cut = relay.cut_all();
            }
            if cut == 0 {
                return Err(format!(
                    "no connection through the relay to cut after message #{i}: the puppet must connect to --gateway and resume at READY's resume_gateway_url"
                ));
            }
        }
    }
    for (i, id) in ids.iter().enumerate() {
        p.event(
            from,
            "message_create",
            &format!("message #{i} of the sequence"),
            EVENT * 2,
            |e| e["id"] == id.as_str(),
        )
        .await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen: Vec<String> = p
        .events_since(from)
        .iter()
        .filter(|e| e["t"] == "message_create" && ids.iter().any(|i| e["id"] == i.as_str()))
        .map(id_of)
        .collect();
    if seen != ids {
        return Err(format!(
            "EVENT message_create across the cuts: ids seen {seen:?}, wanted each once in order {ids:?}"
        ));
    }
    p.event(from, "resumed", "a resumed session", EVENT, |_| true)
        .await?;
    // Each cut made the library open a new connection, through the relay (READY's
    // resume_gateway_url).
    let relay_url = relay.url();
    let reconnects: Vec<Value> = p
        .events_since(from)
        .into_iter()
        .filter(|e| e["t"] == "connect")
        .collect();
    if reconnects.len() < 2 {
        return Err(format!(
            "EVENT connect: {} after two cuts, wanted at least 2: {reconnects:?}",
            reconnects.len()
        ));
    }
    if let Some(e) = reconnects
        .iter()
        .find(|e| !e["url"].as_str().is_some_and(|u| u.starts_with(&relay_url)))
    {
        return Err(format!(
            "EVENT connect after a cut: field `url` is {}, wanted READY's resume_gateway_url {relay_url}",
            e["url"]
        ));
    }
    Ok(())
}

/// Two shards in one process: guilds on each shard (`(guild_id >> 22) % 2`) deliver their events
/// on that shard.
pub async fn sharding(env: &Env<'_>) -> Result<(), String> {
    let (w, owner) = (env.world, &env.users.owner.rest);
    let shard_of = |g: &str| g.parse::<u64>().map(|g| (g >> 22) % 2).unwrap_or(99);
    let mut guilds = vec![(w.guild.clone(), w.channel.clone())];
    for i in 0..20 {
        if guilds.iter().any(|(g, _)| shard_of(g) == 0)
            && guilds.iter().any(|(g, _)| shard_of(g) == 1)
        {
            break;
        }
        let (g, c) = create_guild(owner, &format!("Compat shard {i} {}", env.tag)).await?;
        if guilds.iter().all(|(h, _)| shard_of(h) != shard_of(&g)) {
            add_bot(owner, &w.app, &g).await?;
            guilds.push((g, c));
        }
    }
    if guilds.len() < 2 {
        return Err("could not create a guild on each of two shards".into());
    }
    let (p, ready) = env.puppet("default", 2).await?;
    let result = async {
        fields("READY (2 shards)", &ready, &[("shards", json!(2))])?;
        for (g, _) in &guilds {
            if !ready["guilds"][g].is_object() {
                return Err(format!(
                    "READY (2 shards): field `guilds` lacks guild {g} (shard {})",
                    shard_of(g)
                ));
            }
        }
        let from = p.mark();
        for (g, c) in &guilds {
            let id = env
                .post(c, &format!("for shard {} {}", shard_of(g), env.tag))
                .await?;
            let ev = p
                .event(
                    from,
                    "message_create",
                    &format!("a message in guild {g}"),
                    EVENT,
                    |e| e["id"] == id.as_str(),
                )
                .await?;
            fields(
                &format!("EVENT message_create in guild {g}"),
                &ev,
                &[("guild", json!(g)), ("shard", json!(shard_of(g)))],
            )?;
        }
        Ok(())
    }
    .await;
    let result = result.map_err(|e| format!("{e}\n{}", p.transcript()));
    p.quit().await;
    result
}
