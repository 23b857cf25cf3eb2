"""The discord.py puppet of Accord's compatibility suite (protocol: tests/compat/README.md).

It logs in with the unmodified library (zlib-stream or zstd-stream transport compression, plain
`Client` or `AutoShardedClient` when --shards > 1), prints `READY {json}` once every shard is
ready, prints `EVENT {json}` for each gateway event of the README's kinds as the library's own
(raw where there is one) handler delivered it, and runs the commands it reads on stdin (one JSON
object a line) through the library's high-level API, answering `DONE {json}` or `FAILED {json}`.
Anything else goes to stderr; `COMPAT_DEBUG=1` adds the library's debug log.

Usage: dpy_bot.py --api URL --gateway URL --token T --compress zlib|zstd
                  [--intents default|no-content|presence] [--shards N] [--timeout SECONDS]
Every option may also come from the environment as COMPAT_<NAME>.
"""

import argparse
import asyncio
import base64
import contextvars
import io
import json
import logging
import os
import sys
import traceback


def out(keyword: str, payload: object = None) -> None:
    """One protocol line on stdout."""
    if payload is None:
        print(keyword, flush=True)
    else:
        print(f"{keyword} {json.dumps(payload, separators=(',', ':'))}", flush=True)


def fatal(text: str, code: int = 1) -> None:
    """One `ERROR` line (the whole text, traceback included, also on stderr), then exit."""
    print(text, file=sys.stderr, flush=True)
    out(f"ERROR {' | '.join(line for line in text.splitlines() if line.strip())[:4000]}")
    sys.stdout.flush()
    os._exit(code)


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", default=env("COMPAT_API"), help="REST base, e.g. http://127.0.0.1:3001/api/v10")
    p.add_argument("--gateway", default=env("COMPAT_GATEWAY"), help="gateway URL, e.g. ws://127.0.0.1:3002/")
    p.add_argument("--token", default=env("COMPAT_TOKEN"), help="bot token (without 'Bot ')")
    p.add_argument("--compress", default=env("COMPAT_COMPRESS", "zlib"), choices=["zlib", "zstd"])
    p.add_argument(
        "--intents", default=env("COMPAT_INTENTS", "default"), choices=["default", "no-content", "presence"]
    )
    p.add_argument("--shards", type=int, default=int(env("COMPAT_SHARDS", "1")))
    p.add_argument("--timeout", type=float, default=float(env("COMPAT_TIMEOUT", "60")))
    args = p.parse_args()
    missing = [n for n in ("api", "gateway", "token") if not getattr(args, n)]
    if missing:
        fatal(f"missing options: {', '.join('--' + m for m in missing)}", code=2)
    if args.shards < 1:
        fatal("--shards must be at least 1", code=2)
    return args


ARGS = parse_args()

# discord.py decides its transport compression when `discord.utils` is imported: zstd-stream if
# `zstandard` (or Python 3.14's `compression.zstd`) imports, zlib-stream otherwise. Hiding both
# modules before the import forces zlib-stream for this process.
if ARGS.compress == "zlib":
    sys.modules["zstandard"] = None  # type: ignore[assignment]
    sys.modules["compression"] = None  # type: ignore[assignment]
else:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        fatal("zstd requested but the zstandard module is not installed (run tests/compat/install.sh)")

import discord  # noqa: E402
import yarl  # noqa: E402

COMPRESSION = f"{ARGS.compress}-stream"
active = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
if active != COMPRESSION:
    fatal(f"discord.py selected {active}, wanted {COMPRESSION}")

logging.basicConfig(
    stream=sys.stderr,
    level=logging.DEBUG if os.environ.get("COMPAT_DEBUG") else logging.INFO,
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)

discord.http.Route.BASE = ARGS.api.rstrip("/")
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(ARGS.gateway)

# The shard the event being handled arrived on. Set while a gateway frame is processed; event
# handlers run in tasks created during that processing, which copy the context.
SHARD: contextvars.ContextVar[int] = contextvars.ContextVar("shard", default=0)

# Frames the gateway sent: under transport compression every one must be binary.
frames = {"binary": 0, "text": 0}
_received = discord.gateway.DiscordWebSocket.received_message


async def counting_received(self, msg, /):  # type: ignore[no-untyped-def]
    if isinstance(msg, bytes):
        frames["binary"] += 1
    else:
        frames["text"] += 1
        fatal(f"a text frame arrived although {COMPRESSION} was requested: {str(msg)[:200]}")
    SHARD.set(self.shard_id or 0)
    return await _received(self, msg)


discord.gateway.DiscordWebSocket.received_message = counting_received  # type: ignore[method-assign]

_from_client = discord.gateway.DiscordWebSocket.from_client.__func__  # type: ignore[attr-defined]


async def from_client_on_shard(cls, client, **kw):  # type: ignore[no-untyped-def]
    SHARD.set(kw.get("shard_id") or 0)
    return await _from_client(cls, client, **kw)


discord.gateway.DiscordWebSocket.from_client = classmethod(from_client_on_shard)  # type: ignore[assignment]


def sid(x: object) -> "str | None":
    """An id (or an object with one) as a string; None stays None."""
    if x is None:
        return None
    return str(getattr(x, "id", x))


def event(t: str, **fields: object) -> None:
    out("EVENT", {"t": t, "shard": SHARD.get(), **fields})


def attachments(atts: "list[discord.Attachment]") -> list:
    return [{"id": sid(a), "filename": a.filename, "size": a.size, "url": a.url} for a in atts]


def emoji_text(e: discord.PartialEmoji) -> str:
    return e.name if e.id is None else f"{e.name}:{e.id}"


def role_ids(member: discord.Member) -> list:
    return sorted(str(r.id) for r in member.roles if not r.is_default())


def intents() -> discord.Intents:
    i = discord.Intents.default()
    i.members = True
    i.message_content = ARGS.intents != "no-content"
    i.presences = ARGS.intents == "presence"
    return i


base = discord.AutoShardedClient if ARGS.shards > 1 else discord.Client
ready_once = asyncio.Event()
quitting = asyncio.Event()
identified: "set[int | None]" = set()


class Puppet(base):  # type: ignore[misc, valid-type]
    """Reports events; commands are run by `run_command`."""

    async def setup_hook(self) -> None:
        connect = self.http.ws_connect

        async def logged_connect(url: str, **kw):  # type: ignore[no-untyped-def]
            event("connect", url=str(url))
            if f"compress={COMPRESSION}" not in str(url):
                fatal(f"gateway URL {url} does not ask for {COMPRESSION}")
            return await connect(url, **kw)

        self.http.ws_connect = logged_connect  # type: ignore[method-assign]

    async def before_identify_hook(self, shard_id: "int | None", *, initial: bool = False) -> None:
        # The documented hook for identify pacing: the default waits 5 s before every shard's
        # IDENTIFY but the first. Accord allows 16 concurrent IDENTIFYs (the harness sets
        # gateway.max_concurrency), so each shard's first IDENTIFY goes at once; later ones (a
        # session that could not resume) keep the library's pacing.
        if shard_id not in identified:
            identified.add(shard_id)
            return
        await super().before_identify_hook(shard_id, initial=initial)

    async def on_ready(self) -> None:
        if ready_once.is_set():
            return
        if not frames["binary"]:
            fatal("no binary (compressed) frame received before READY")
        guilds = {
            str(g.id): {
                "channels": sorted(str(c.id) for c in g.channels),
                "roles": sorted(str(r.id) for r in g.roles),
                "me": g.me is not None,
            }
            for g in self.guilds
        }
        out(
            "READY",
            {
                "user": sid(self.user),
                "shards": self.shard_count or 1,
                "compress": COMPRESSION,
                "frames_binary": frames["binary"],
                "frames_text": frames["text"],
                "guilds": guilds,
            },
        )
        ready_once.set()

    async def on_message(self, m: discord.Message) -> None:
        ref = m.reference.message_id if m.reference else None
        event(
            "message_create",
            id=sid(m),
            channel=sid(m.channel),
            guild=sid(m.guild),
            author=sid(m.author),
            content=m.content,
            reference=sid(ref),
            webhook=sid(m.webhook_id),
            attachments=attachments(m.attachments),
        )

    async def on_raw_message_edit(self, p: discord.RawMessageUpdateEvent) -> None:
        content = p.message.content if p.message is not None else p.data.get("content")
        event("message_update", id=sid(p.message_id), channel=sid(p.channel_id), guild=sid(p.guild_id), content=content)

    async def on_raw_message_delete(self, p: discord.RawMessageDeleteEvent) -> None:
        event("message_delete", id=sid(p.message_id), channel=sid(p.channel_id), guild=sid(p.guild_id))

    async def on_raw_reaction_add(self, p: discord.RawReactionActionEvent) -> None:
        self.reaction("reaction_add", p)

    async def on_raw_reaction_remove(self, p: discord.RawReactionActionEvent) -> None:
        self.reaction("reaction_remove", p)

    def reaction(self, t: str, p: discord.RawReactionActionEvent) -> None:
        event(
            t,
            message=sid(p.message_id),
            channel=sid(p.channel_id),
            guild=sid(p.guild_id),
            user=sid(p.user_id),
            emoji=emoji_text(p.emoji),
        )

    async def on_guild_channel_pins_update(self, channel: discord.abc.GuildChannel, _last_pin: object) -> None:
        event("pins_update", channel=sid(channel), guild=sid(channel.guild))

    async def on_member_join(self, m: discord.Member) -> None:
        event("member_add", guild=sid(m.guild), user=sid(m))

    async def on_raw_member_remove(self, p: discord.RawMemberRemoveEvent) -> None:
        event("member_remove", guild=sid(p.guild_id), user=sid(p.user))

    async def on_member_update(self, _before: discord.Member, m: discord.Member) -> None:
        event("member_update", guild=sid(m.guild), user=sid(m), nick=m.nick, roles=role_ids(m))

    async def on_member_ban(self, guild: discord.Guild, user: discord.abc.User) -> None:
        event("ban_add", guild=sid(guild), user=sid(user))

    async def on_guild_role_create(self, r: discord.Role) -> None:
        event("role_create", guild=sid(r.guild), role=sid(r), name=r.name)

    async def on_guild_role_update(self, _before: discord.Role, r: discord.Role) -> None:
        event("role_update", guild=sid(r.guild), role=sid(r), name=r.name)

    async def on_guild_role_delete(self, r: discord.Role) -> None:
        event("role_delete", guild=sid(r.guild), role=sid(r), name=None)

    async def on_guild_channel_create(self, c: discord.abc.GuildChannel) -> None:
        event("channel_create", guild=sid(c.guild), channel=sid(c), name=c.name)

    async def on_guild_channel_update(self, _before: discord.abc.GuildChannel, c: discord.abc.GuildChannel) -> None:
        event("channel_update", guild=sid(c.guild), channel=sid(c), name=c.name)

    async def on_guild_channel_delete(self, c: discord.abc.GuildChannel) -> None:
        event("channel_delete", guild=sid(c.guild), channel=sid(c), name=c.name)

    async def on_raw_typing(self, p: discord.RawTypingEvent) -> None:
        event("typing", channel=sid(p.channel_id), guild=sid(p.guild_id), user=sid(p.user_id))

    async def on_raw_presence_update(self, p: discord.RawPresenceUpdateEvent) -> None:
        event("presence", guild=sid(p.guild_id), user=sid(p.user_id), status=str(p.client_status.status))

    async def on_webhooks_update(self, c: discord.abc.GuildChannel) -> None:
        event("webhooks_update", guild=sid(c.guild), channel=sid(c))

    async def on_thread_create(self, t: discord.Thread) -> None:
        event("thread_create", guild=sid(t.guild), channel=sid(t), parent=sid(t.parent_id), name=t.name)

    async def on_raw_thread_update(self, p: discord.RawThreadUpdateEvent) -> None:
        archived = p.data.get("thread_metadata", {}).get("archived")
        event("thread_update", guild=sid(p.guild_id), channel=sid(p.thread_id), archived=archived)

    async def on_thread_member_join(self, m: discord.ThreadMember) -> None:
        event("thread_member_join", guild=sid(m.thread.guild), channel=sid(m.thread_id), user=sid(m.id))

    async def on_raw_thread_delete(self, p: discord.RawThreadDeleteEvent) -> None:
        event("thread_delete", guild=sid(p.guild_id), channel=sid(p.thread_id), parent=sid(p.parent_id))

    async def on_resumed(self) -> None:
        event("resumed")

    async def on_error(self, event_method: str, /, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        fatal(f"exception in {event_method}: {traceback.format_exc()}")


client = Puppet(intents=intents(), enable_raw_presences=True, **({"shard_count": ARGS.shards} if ARGS.shards > 1 else {}))


def messageable(channel: str) -> "discord.abc.Messageable":
    c = client.get_channel(int(channel))
    return c if c is not None else client.get_partial_messageable(int(channel))


def message(cmd: dict) -> discord.PartialMessage:
    return messageable(cmd["channel"]).get_partial_message(int(cmd["message"]))  # type: ignore[attr-defined]


async def run_command(cmd: dict) -> dict:
    """Runs one command through the library's high-level API; returns the DONE result."""
    name = cmd.get("cmd")
    if name == "send":
        m = await messageable(cmd["channel"]).send(cmd["content"])
        return {"id": sid(m)}
    if name == "reply":
        m = await message(cmd).reply(cmd["content"])
        return {"id": sid(m), "reference": sid(m.reference.message_id if m.reference else None)}
    if name == "edit":
        m = await message(cmd).edit(content=cmd["content"])
        return {"id": sid(m), "content": m.content}
    if name == "react":
        await message(cmd).add_reaction(cmd["emoji"])
        return {}
    if name == "unreact":
        assert client.user is not None
        await message(cmd).remove_reaction(cmd["emoji"], client.user)
        return {}
    if name == "pin":
        await message(cmd).pin()
        return {}
    if name == "delete":
        await message(cmd).delete()
        return {}
    if name == "create_webhook":
        channel = client.get_channel(int(cmd["channel"]))
        if not isinstance(channel, discord.TextChannel):
            raise LookupError(f"channel {cmd['channel']} is not a cached text channel ({channel!r})")
        w = await channel.create_webhook(name=cmd["name"])
        return {"id": sid(w), "token": w.token}
    if name == "execute_webhook":
        w = discord.Webhook.partial(int(cmd["webhook"]), cmd["token"], client=client)
        m = await w.send(cmd["content"], wait=True)
        return {"id": sid(m)}
    if name == "upload":
        f = discord.File(io.BytesIO(base64.b64decode(cmd["data"])), filename=cmd["filename"])
        m = await messageable(cmd["channel"]).send(cmd.get("content") or None, file=f)
        return {"id": sid(m), "attachments": attachments(m.attachments)}
    if name == "burst":
        channel = messageable(cmd["channel"])
        sends = [channel.send(f"{cmd['content']} {i}") for i in range(int(cmd["count"]))]
        ids = []
        for done in asyncio.as_completed(sends):
            ids.append(sid(await done))
        return {"ids": ids}
    if name == "create_thread":
        channel = client.get_channel(int(cmd["channel"]))
        if not isinstance(channel, discord.TextChannel):
            raise LookupError(f"channel {cmd['channel']} is not a cached text channel ({channel!r})")
        t = await channel.create_thread(name=cmd["name"], type=discord.ChannelType.public_thread)
        return {"id": sid(t), "parent": sid(t.parent_id), "name": t.name}
    if name == "archive_thread":
        t = client.get_channel(int(cmd["channel"])) or await client.fetch_channel(int(cmd["channel"]))
        if not isinstance(t, discord.Thread):
            raise LookupError(f"channel {cmd['channel']} is not a thread ({t!r})")
        t = await t.edit(archived=True)
        return {"id": sid(t), "archived": t.archived}
    if name == "sync_commands":
        return await sync_commands(cmd.get("guild"))
    raise ValueError(f"unknown command {name!r}")


command_tree: "discord.app_commands.CommandTree | None" = None
# The fruits the `pick` command completes from.
FRUITS = ["apple", "apricot", "banana", "blueberry", "cherry"]


def app_command_tree() -> "discord.app_commands.CommandTree":
    """The client's one command tree: a slash command with choices and a ranged integer, a group
    with a subcommand taking a user and a text channel, a user context menu, and the commands
    that answer by autocomplete, ephemerally, deferred with follow-ups, with a button and with a
    modal (the same as the discord.js puppet's)."""
    global command_tree
    if command_tree is not None:
        return command_tree
    from discord import app_commands

    tree = app_commands.CommandTree(client)

    @app_commands.command(name="blep", description="Send a random adorable animal photo")
    @app_commands.describe(animal="The type of animal", count="How many")
    @app_commands.choices(animal=[app_commands.Choice(name="Dog", value="animal_dog"), app_commands.Choice(name="Cat", value="animal_cat")])
    async def blep(interaction: discord.Interaction, animal: app_commands.Choice[str], count: app_commands.Range[int, 1, 10] = 1) -> None:
        await interaction.response.send_message(f"{animal.value} x{count}")

    group = app_commands.Group(name="perms", description="Permissions", default_permissions=discord.Permissions(manage_guild=True))

    @group.command(name="get", description="Get permissions for a user")
    async def get(interaction: discord.Interaction, user: discord.User, channel: "discord.TextChannel | None" = None) -> None:
        await interaction.response.send_message("ok")

    @app_commands.context_menu(name="High Five")
    async def high_five(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message("high five")

    @app_commands.command(name="pick", description="Pick a fruit")
    @app_commands.describe(fruit="The fruit")
    async def pick(interaction: discord.Interaction, fruit: str) -> None:
        await interaction.response.send_message(f"picked {fruit}")

    @pick.autocomplete("fruit")
    async def pick_fruit(interaction: discord.Interaction, current: str) -> "list[app_commands.Choice[str]]":
        return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

    @app_commands.command(name="secret", description="Answers only you")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("psst", ephemeral=True)

    @app_commands.command(name="later", description="Answers later")
    async def later(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.2)
        await interaction.followup.send("later done")
        await interaction.followup.send("and more")

    @app_commands.command(name="press", description="A button to press")
    async def press(interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=120)
        button: "discord.ui.Button[discord.ui.View]" = discord.ui.Button(label="Press", custom_id="press:1", style=discord.ButtonStyle.primary)

        async def pressed(pressing: discord.Interaction) -> None:
            await pressing.response.edit_message(content=f"pressed by {pressing.user.id}", view=None)

        button.callback = pressed
        view.add_item(button)
        await interaction.response.send_message("press me", view=view)

    class Form(discord.ui.Modal, title="Form"):
        answer: "discord.ui.TextInput[Form]" = discord.ui.TextInput(label="Answer", custom_id="answer")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"answer: {self.answer.value}")

        async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
            fatal(f"the modal's handler failed: {type(error).__name__}: {error}")

    @app_commands.command(name="form", description="A form to fill in")
    async def form(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Form(custom_id="form:1"))

    @tree.error
    async def on_tree_error(interaction: discord.Interaction, error: Exception) -> None:
        print("".join(traceback.format_exception(error)), file=sys.stderr)
        fatal(f"the handler of /{interaction.command.name if interaction.command else '?'} failed: {type(error).__name__}: {error}")

    for command in (blep, group, high_five, pick, secret, later, press, form):
        tree.add_command(command)
    command_tree = tree
    return tree


async def sync_commands(guild: "str | None") -> dict:
    """`tree.sync()` (global) or, with a guild, the same commands copied to it and synced there."""
    tree = app_command_tree()
    if guild is None:
        synced = await tree.sync()
    else:
        target = discord.Object(id=int(guild))
        tree.copy_global_to(guild=target)
        synced = await tree.sync(guild=target)
    commands = sorted(({"id": sid(c), "name": c.name, "type": int(c.type.value), "guild": sid(c.guild_id)} for c in synced), key=lambda c: c["name"])
    return {"commands": commands}


async def answer(cmd: dict) -> None:
    try:
        result = await run_command(cmd)
    except Exception as e:  # the library's own error is the answer
        out("FAILED", {"id": cmd.get("id"), "error": f"{type(e).__name__}: {e}"})
        print(traceback.format_exc(), file=sys.stderr)
        return
    out("DONE", {"id": cmd.get("id"), **result})


async def read_commands() -> None:
    """Runs each stdin line as a command (concurrently); `quit` or end of input stops."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except ValueError as e:
            fatal(f"unreadable command {line!r}: {e}")
            return
        if cmd.get("cmd") == "quit":
            quitting.set()
            await client.close()
            out("DONE", {"id": cmd.get("id")})
            return
        task = asyncio.create_task(answer(cmd))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    quitting.set()
    await client.close()


async def main() -> int:
    started = asyncio.create_task(client.start(ARGS.token))
    ready = asyncio.create_task(ready_once.wait())
    finished, _ = await asyncio.wait({started, ready}, timeout=ARGS.timeout, return_when=asyncio.FIRST_COMPLETED)
    if ready not in finished:
        ready.cancel()
        if started in finished and started.exception() is not None:
            e = started.exception()
            fatal(f"{type(e).__name__}: {e}\n{''.join(traceback.format_exception(e))}")
        fatal(
            f"no READY within {ARGS.timeout:.0f}s (client ready={client.is_ready()}, guilds={len(client.guilds)}, "
            f"frames_binary={frames['binary']}, frames_text={frames['text']})"
        )
    commands = asyncio.create_task(read_commands())
    finished, _ = await asyncio.wait({started, commands}, return_when=asyncio.FIRST_COMPLETED)
    if started in finished and not quitting.is_set():
        e = started.exception()
        fatal(f"the client stopped: {type(e).__name__ if e else 'no error'}: {e}")
    await commands
    if not started.done():
        await client.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
