// A discord.js bot driven by Accord's compatibility test (tests/compat.rs).
//
// It logs in against Accord, checks on ready that it sees the expected guild and channel, waits
// for a message from another (non-bot) user containing the trigger text, replies to it and exits 0.
// Structured lines on stdout:
//
//   GATEWAY <url>                     the URL GET /gateway/bot returned
//   CONNECT <url>                     each gateway connection the library opens
//   READY guilds=<n> guild=<id> channel=<id> compress=<kind> frames_binary=<n> frames_text=<n>
//   MESSAGE <id> author=<id>          the trigger message as the library parsed it
//   REPLIED <id>                      the reply the library created
//   ERROR <text>                      why it failed (exit status non-zero)
//
// Usage: node djs_bot.js --api URL --gateway URL --token T --guild ID --channel ID --trigger TEXT
//                        --compress json|zlib [--timeout SECONDS]
// --api is the versioned REST base (http://127.0.0.1:PORT/api/v10); --gateway is where the server's
// gateway listens: discord.js takes its URL from GET /gateway/bot, which must point there.
// Every option may also come from the environment: COMPAT_API, COMPAT_GATEWAY, COMPAT_TOKEN,
// COMPAT_GUILD, COMPAT_CHANNEL, COMPAT_TRIGGER, COMPAT_COMPRESS, COMPAT_TIMEOUT.
// Set COMPAT_DEBUG=1 for the library's debug log on stderr.
'use strict';

const Module = require('node:module');
const process = require('node:process');

function out(line) {
  process.stdout.write(`${line}\n`);
}

function fail(text, code = 1) {
  out(`ERROR ${text}`);
  process.exitCode = code;
  // Let stdout drain before leaving.
  setImmediate(() => process.exit(code));
}

function parseArgs() {
  const names = ['api', 'gateway', 'token', 'guild', 'channel', 'trigger', 'compress', 'timeout'];
  const args = {};
  for (const n of names) args[n] = process.env[`COMPAT_${n.toUpperCase()}`];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !names.includes(m[1])) throw new Error(`unknown argument ${argv[i]}`);
    args[m[1]] = m[2] ?? argv[++i];
    if (args[m[1]] === undefined) throw new Error(`--${m[1]} needs a value`);
  }
  args.compress ??= 'json';
  args.timeout = Number(args.timeout ?? 60);
  const missing = ['api', 'gateway', 'token', 'guild', 'channel', 'trigger'].filter(n => !args[n]);
  if (missing.length) throw new Error(`missing options: ${missing.map(n => `--${n}`).join(', ')}`);
  if (!['json', 'zlib'].includes(args.compress)) throw new Error(`--compress must be json or zlib`);
  return args;
}

let ARGS;
try {
  ARGS = parseArgs();
} catch (e) {
  fail(e.message, 2);
  return;
}

// discord.js 14 turns on zlib-stream exactly when `require('zlib-sync')` succeeds while its
// WebSocketManager module loads. For the plain JSON run, make that require fail in this process.
if (ARGS.compress === 'json') {
  const load = Module._load;
  Module._load = function loadWithoutZlibSync(request, ...rest) {
    if (request === 'zlib-sync') {
      const err = new Error("Cannot find module 'zlib-sync' (hidden for the json run)");
      err.code = 'MODULE_NOT_FOUND';
      throw err;
    }
    return load.call(this, request, ...rest);
  };
} else {
  try {
    require('zlib-sync');
  } catch (e) {
    fail(`zlib requested but zlib-sync does not load: ${e.message} (run tests/compat/install.sh)`);
    return;
  }
}

const { WebSocketShard } = require('@discordjs/ws');
const { Client, Events, GatewayIntentBits, version } = require('discord.js');

const EXPECTED = ARGS.compress === 'zlib' ? 'zlib-stream' : 'none';
const frames = { binary: 0, text: 0 };
const errors = [];
let replied = false;

// Count the frames the gateway sends: with zlib-stream every frame must be binary, without it text.
const onMessage = WebSocketShard.prototype.onMessage;
WebSocketShard.prototype.onMessage = function countingOnMessage(data, isBinary) {
  frames[isBinary ? 'binary' : 'text'] += 1;
  return onMessage.call(this, data, isBinary);
};

const restApi = ARGS.api.replace(/\/+$/, '').replace(/\/v\d+$/, '');
const client = new Client({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
  rest: { api: restApi },
});

function stopWith(text) {
  errors.push(text);
  finish();
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  for (const e of errors) out(`ERROR ${e}`);
  if (!errors.length && !replied) out('ERROR the client stopped before replying');
  const code = errors.length || !replied ? 1 : 0;
  client
    .destroy()
    .catch(e => out(`ERROR destroy failed: ${e.message}`))
    .finally(() => setImmediate(() => process.exit(code)));
}

const timer = setTimeout(() => {
  const ws = client.ws;
  stopWith(
    `timed out after ${ARGS.timeout}s (ready=${client.isReady()}, guilds=${client.guilds.cache.size}, ` +
      `ws status=${ws?.status}, frames_binary=${frames.binary}, frames_text=${frames.text})`,
  );
}, ARGS.timeout * 1000);

const expectedGateway = new URL(ARGS.gateway);
client.on(Events.Debug, msg => {
  if (process.env.COMPAT_DEBUG) process.stderr.write(`[debug] ${msg}\n`);
  const gw = /URL: (\S+)/.exec(msg);
  if (msg.includes('Fetched Gateway Information') && gw) {
    out(`GATEWAY ${gw[1]}`);
    const got = new URL(gw[1]);
    if (got.host !== expectedGateway.host) {
      stopWith(`GET /gateway/bot returned url ${gw[1]}, but the gateway listens at ${ARGS.gateway}`);
    }
  }
  const conn = /Connecting to (\S+)/.exec(msg);
  if (conn) {
    out(`CONNECT ${conn[1]}`);
    const params = new URL(conn[1]).searchParams;
    const compress = params.get('compress') ?? 'none';
    if (compress !== EXPECTED) stopWith(`gateway URL ${conn[1]} has compress=${compress}, wanted ${EXPECTED}`);
  }
});
client.on(Events.Warn, msg => process.stderr.write(`[warn] ${msg}\n`));
client.on(Events.Error, e => stopWith(`client error: ${e.stack ?? e}`));
client.on(Events.ShardError, (e, id) => stopWith(`shard ${id} error: ${e.stack ?? e}`));
client.on(Events.ShardDisconnect, (ev, id) => process.stderr.write(`[disconnect] shard ${id} code ${ev?.code}\n`));
client.on(Events.Invalidated, () => stopWith('session invalidated'));

client.once(Events.ClientReady, c => {
  const guild = c.guilds.cache.get(ARGS.guild);
  if (!guild) {
    stopWith(`ready: guild ${ARGS.guild} not in cache (guilds: ${[...c.guilds.cache.keys()].join(',')})`);
    return;
  }
  const channel = guild.channels.cache.get(ARGS.channel);
  if (!channel) {
    stopWith(`ready: channel ${ARGS.channel} not in guild (channels: ${[...guild.channels.cache.keys()].join(',')})`);
    return;
  }
  if (!channel.isTextBased()) {
    stopWith(`ready: channel ${ARGS.channel} has type ${channel.type}, not text`);
    return;
  }
  const wrongKind = ARGS.compress === 'zlib' ? frames.text : frames.binary;
  if (wrongKind || !(frames.binary + frames.text)) {
    stopWith(
      `frames do not match ${EXPECTED}: ${frames.binary} binary, ${frames.text} text ` +
        `(zlib-stream sends only binary frames, plain JSON only text)`,
    );
    return;
  }
  out(
    `READY guilds=${c.guilds.cache.size} guild=${guild.id} channel=${channel.id} compress=${EXPECTED} ` +
      `frames_binary=${frames.binary} frames_text=${frames.text} user=${c.user.id}`,
  );
});

client.on(Events.MessageCreate, async message => {
  try {
    if (!message.content.includes(ARGS.trigger) || message.author.id === client.user?.id) return;
    out(`MESSAGE ${message.id} author=${message.author.id} channel=${message.channelId}`);
    if (message.author.bot) return stopWith(`trigger message ${message.id} came from a bot account`);
    if (message.channelId !== ARGS.channel) {
      return stopWith(`trigger message arrived in channel ${message.channelId}, expected ${ARGS.channel}`);
    }
    if (message.guildId !== ARGS.guild) {
      return stopWith(`trigger message has guild ${message.guildId}, expected ${ARGS.guild}`);
    }
    const reply = await message.reply(`discord.js ${version} saw ${ARGS.trigger}`);
    if (reply.reference?.messageId !== message.id) {
      return stopWith(`reply ${reply.id} came back with reference ${JSON.stringify(reply.reference)}`);
    }
    out(`REPLIED ${reply.id}`);
    replied = true;
    return finish();
  } catch (e) {
    return stopWith(`handling the trigger message failed: ${e.stack ?? e}`);
  }
});

client.login(ARGS.token).catch(e => stopWith(`login failed: ${e.stack ?? e}`));
