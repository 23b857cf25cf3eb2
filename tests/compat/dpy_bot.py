"""A discord.py bot driven by Accord's compatibility test (tests/compat.rs).

It logs in against Accord, checks on ready that it sees the expected guild and channel, waits for a
message from another (non-bot) user containing the trigger text, replies to it and exits 0.
Structured lines on stdout:

    CONNECT <url>                      each gateway connection the library opens
    READY guilds=<n> guild=<id> channel=<id> compress=<kind> frames_binary=<n> frames_text=<n>
    MESSAGE <id> author=<id>           the trigger message as the library parsed it
    REPLIED <id>                       the reply the library created
    ERROR <text>                       why it failed (exit status non-zero)

Usage: dpy_bot.py --api URL --gateway URL --token T --guild ID --channel ID --trigger TEXT
                  --compress zlib|zstd [--timeout SECONDS]
Every option may also come from the environment: COMPAT_API, COMPAT_GATEWAY, COMPAT_TOKEN,
COMPAT_GUILD, COMPAT_CHANNEL, COMPAT_TRIGGER, COMPAT_COMPRESS, COMPAT_TIMEOUT.
Set COMPAT_DEBUG=1 for the library's debug log (every gateway event) on stderr.
"""

import argparse
import asyncio
import logging
import os
import sys


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", default=env("COMPAT_API"), help="REST base, e.g. http://127.0.0.1:3001/api/v10")
    p.add_argument("--gateway", default=env("COMPAT_GATEWAY"), help="gateway URL, e.g. ws://127.0.0.1:3002/")
    p.add_argument("--token", default=env("COMPAT_TOKEN"), help="bot token (without 'Bot ')")
    p.add_argument("--guild", default=env("COMPAT_GUILD"), help="guild id the bot must see")
    p.add_argument("--channel", default=env("COMPAT_CHANNEL"), help="text channel id the bot must see")
    p.add_argument("--trigger", default=env("COMPAT_TRIGGER"), help="text the awaited message contains")
    p.add_argument("--compress", default=env("COMPAT_COMPRESS", "zlib"), choices=["zlib", "zstd"])
    p.add_argument("--timeout", type=float, default=float(env("COMPAT_TIMEOUT", "60")))
    args = p.parse_args()
    missing = [n for n in ("api", "gateway", "token", "guild", "channel", "trigger") if not getattr(args, n)]
    if missing:
        fail(f"missing options: {', '.join('--' + m for m in missing)}", code=2)
    return args


def out(line: str) -> None:
    print(line, flush=True)


def fail(text: str, code: int = 1) -> "None":
    out(f"ERROR {text}")
    sys.exit(code)


ARGS = parse_args()

# discord.py decides its transport compression when `discord.utils` is imported: zstd-stream if
# `zstandard` (or Python 3.14's `compression.zstd`) imports, zlib-stream otherwise. Hiding both
# modules before the import forces zlib-stream for this process.
if ARGS.compress == "zlib":
    sys.modules["zstandard"] = None  # type: ignore[assignment]
    sys.modules["compression"] = None  # type: ignore[assignment]
elif ARGS.compress == "zstd":
    try:
        import zstandard  # noqa: F401
    except ImportError:
        fail("zstd requested but the zstandard module is not installed (run tests/compat/install.sh)")

import discord  # noqa: E402
import yarl  # noqa: E402

EXPECTED_COMPRESSION = f"{ARGS.compress}-stream"
active = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
if active != EXPECTED_COMPRESSION:
    fail(f"discord.py selected {active}, wanted {EXPECTED_COMPRESSION}")

logging.basicConfig(
    stream=sys.stderr,
    level=logging.DEBUG if os.environ.get("COMPAT_DEBUG") else logging.INFO,
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)

discord.http.Route.BASE = ARGS.api.rstrip("/")
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(ARGS.gateway)

# Count the frames the gateway sends: under transport compression every frame must be binary.
frames = {"binary": 0, "text": 0}
_received = discord.gateway.DiscordWebSocket.received_message


async def counting_received(self, msg, /):  # type: ignore[no-untyped-def]
    frames["binary" if isinstance(msg, bytes) else "text"] += 1
    return await _received(self, msg)


discord.gateway.DiscordWebSocket.received_message = counting_received  # type: ignore[method-assign]

GUILD_ID = int(ARGS.guild)
CHANNEL_ID = int(ARGS.channel)
errors: list[str] = []
done = asyncio.Event()


class Bot(discord.Client):
    """Replies once to the trigger message, then stops."""

    async def setup_hook(self) -> None:
        connect = self.http.ws_connect

        async def logged_connect(url: str, **kw):  # type: ignore[no-untyped-def]
            out(f"CONNECT {url}")
            if f"compress={EXPECTED_COMPRESSION}" not in url:
                errors.append(f"gateway URL {url} does not ask for {EXPECTED_COMPRESSION}")
            return await connect(url, **kw)

        self.http.ws_connect = logged_connect  # type: ignore[method-assign]

    async def on_ready(self) -> None:
        guild = self.get_guild(GUILD_ID)
        if guild is None:
            return self.stop_with(f"on_ready: guild {GUILD_ID} not in cache (guilds: {[g.id for g in self.guilds]})")
        channel = guild.get_channel(CHANNEL_ID)
        if channel is None:
            return self.stop_with(
                f"on_ready: channel {CHANNEL_ID} not in guild {GUILD_ID} (channels: {[c.id for c in guild.channels]})"
            )
        if not isinstance(channel, discord.TextChannel):
            return self.stop_with(f"on_ready: channel {CHANNEL_ID} is {type(channel).__name__}, not a text channel")
        if frames["text"]:
            return self.stop_with(
                f"{frames['text']} text frame(s) received although {EXPECTED_COMPRESSION} was requested "
                f"({frames['binary']} binary)"
            )
        if not frames["binary"]:
            return self.stop_with("no binary (compressed) frame received")
        out(
            f"READY guilds={len(self.guilds)} guild={guild.id} channel={channel.id} "
            f"compress={EXPECTED_COMPRESSION} frames_binary={frames['binary']} frames_text={frames['text']} "
            f"user={self.user.id if self.user else None}"
        )

    async def on_message(self, message: discord.Message) -> None:
        if ARGS.trigger not in message.content:
            return
        if self.user is not None and message.author.id == self.user.id:
            return
        out(f"MESSAGE {message.id} author={message.author.id} channel={message.channel.id}")
        if message.author.bot:
            return self.stop_with(f"trigger message {message.id} came from a bot account")
        if message.channel.id != CHANNEL_ID:
            return self.stop_with(f"trigger message arrived in channel {message.channel.id}, expected {CHANNEL_ID}")
        if message.guild is None or message.guild.id != GUILD_ID:
            return self.stop_with(f"trigger message has guild {message.guild}, expected {GUILD_ID}")
        reply = await message.reply(f"discord.py {discord.__version__} saw {ARGS.trigger}")
        ref = reply.reference
        if ref is None or ref.message_id != message.id:
            return self.stop_with(f"reply {reply.id} came back with message_reference {ref}")
        out(f"REPLIED {reply.id}")
        done.set()
        await self.close()

    async def on_error(self, event_method: str, /, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        import traceback

        self.stop_with(f"exception in {event_method}: {traceback.format_exc()}")

    def stop_with(self, text: str) -> None:
        errors.append(text)
        asyncio.get_running_loop().create_task(self.close())


async def main() -> int:
    intents = discord.Intents.default()
    intents.message_content = True
    bot = Bot(intents=intents)
    try:
        await asyncio.wait_for(bot.start(ARGS.token), timeout=ARGS.timeout)
    except asyncio.TimeoutError:
        errors.append(
            f"timed out after {ARGS.timeout:.0f}s (ready={bot.is_ready()}, guilds={len(bot.guilds)}, "
            f"frames_binary={frames['binary']}, frames_text={frames['text']})"
        )
    except Exception as e:  # the library's own error is the diagnosis: report it whole
        import traceback

        errors.append(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    finally:
        if not bot.is_closed():
            await bot.close()
    if errors:
        for e in errors:
            out(f"ERROR {e}")
        return 1
    if not done.is_set():
        out("ERROR the client stopped before replying")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
