// The discord.js puppet of Accord's compatibility suite: implements the contract in
// tests/compat/README.md (options, READY/EVENT/DONE/FAILED/ERROR lines, stdin commands) with the
// unmodified discord.js 14 pinned in package-lock.json, driven by tests/compat.rs.
//
// Usage: node djs_bot.js --api URL --gateway URL --token TOKEN --compress json|zlib
//                        [--intents default|no-content|presence] [--shards N] [--timeout SECONDS]
// Every option may also come from the environment as COMPAT_<NAME>; COMPAT_DEBUG=1 sends the
// library's debug log to stderr.
//
// How the contract maps onto discord.js (where it is not one-to-one, the closest faithful choice):
// - --api is the versioned REST base; discord.js wants it without the version (`rest.api`).
// - --gateway: discord.js has no gateway URL option; it connects where GET /gateway/bot points and
//   later to READY's resume_gateway_url. Those URLs are reported as `connect` events; a host other
//   than --gateway's is only noted on stderr (gateway.public_url may legitimately name a proxy).
// - --compress: discord.js requests zlib-stream exactly when `zlib-sync` loads, so for `json` this
//   process makes that require fail. Every frame is counted (through WebSocketShard#onMessage); a
//   frame of the wrong kind (text under zlib-stream, binary under json) is an ERROR.
// - --intents: discord.js has no default intents; `default` uses every non-privileged intent (the
//   same set as discord.py's Intents.default()) plus GuildMembers and MessageContent.
// - --shards N: `shards: [0..N-1], shardCount: N`. An event's `shard` is the shard discord.js hands
//   the packet to (Client#ws.handlePacket); `connect` names the @discordjs/ws shard that logged
//   "Connecting to <url>" right before opening that socket; `resumed` is Client#shardResume.
// - All partials are enabled. discord.js still emits some events only when its cache allows:
//   guildMemberUpdate only when the member changed, presenceUpdate only when the presence differs
//   from the cached one, guildMemberAdd/Remove only on a Ready shard, and role update/delete,
//   channel update/delete, pins and webhooks updates only for a cached guild/channel (every guild
//   the bot is in is cached from GUILD_CREATE).
// - member_update `roles` is member.roles.cache without @everyone (discord.js adds it, and drops
//   role ids it does not know).
// - unreact fetches the message (GET) to get discord.js's MessageReaction, then
//   reaction.users.remove() (DELETE .../@me): discord.js has no "remove own reaction by id" call.
// - execute_webhook uses discord.js's WebhookClient (its own @discordjs/rest instance; send()
//   always passes wait=true).
// - READY `me`: the bot's member is cached and not partial (GuildMemberManager#me would invent a
//   partial member when partials are on).
// - DONE is `{"id": n, ...result}`, so a result's own `id` (the message's, the webhook's) replaces
//   the command's: answers are matched by order (the harness sends one command at a time).
//   Commands run concurrently; `quit` (or stdin closing) first waits for those still running.
// - ERROR carries the first line of the failure (a stack's message line); all of it goes to stderr.
'use strict';

const Module = require('node:module');
const process = require('node:process');
const readline = require('node:readline');

const OPTIONS = ['api', 'gateway', 'token', 'compress', 'intents', 'shards', 'timeout'];

function out(keyword, obj) {
  process.stdout.write(`${keyword} ${JSON.stringify(obj)}\n`);
}

function log(text) {
  process.stderr.write(`${text}\n`);
}

let dying = false;
/** Prints the run-failing ERROR line (the first line of `text`; all of it, e.g. a stack, goes to
 * stderr) and exits. */
function die(text, code = 1) {
  if (dying) return;
  dying = true;
  log(`[error] ${text}`);
  process.stdout.write(`ERROR ${String(text).split('\n')[0]}\n`);
  process.exit(code);
}

function parseArgs() {
  const args = {};
  for (const n of OPTIONS) args[n] = process.env[`COMPAT_${n.toUpperCase()}`];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !OPTIONS.includes(m[1])) throw new Error(`unknown argument ${argv[i]}`);
    args[m[1]] = m[2] ?? argv[++i];
    if (args[m[1]] === undefined) throw new Error(`--${m[1]} needs a value`);
  }
  const missing = ['api', 'gateway', 'token', 'compress'].filter(n => !args[n]);
  if (missing.length) throw new Error(`missing options: ${missing.map(n => `--${n}`).join(', ')}`);
  if (!['json', 'zlib'].includes(args.compress)) throw new Error('--compress must be json or zlib');
  args.intents ??= 'default';
  if (!['default', 'no-content', 'presence'].includes(args.intents)) {
    throw new Error('--intents must be default, no-content or presence');
  }
  args.shards = Number(args.shards ?? 1);
  if (!Number.isInteger(args.shards) || args.shards < 1) throw new Error('--shards must be a positive integer');
  args.timeout = Number(args.timeout ?? 60);
  if (!(args.timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
  return args;
}

let ARGS;
try {
  ARGS = parseArgs();
} catch (e) {
  die(e.message, 2);
  return;
}
const DEBUG = Boolean(process.env.COMPAT_DEBUG && process.env.COMPAT_DEBUG !== '0');

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
    die(`zlib requested but zlib-sync does not load: ${e.message} (run tests/compat/install.sh)`);
    return;
  }
}

// --- Gateway connections and frames, hooked before discord.js loads @discordjs/ws -------------

const WANT_COMPRESS = ARGS.compress === 'zlib' ? 'zlib-stream' : null;
const frames = { binary: 0, text: 0 };
let connectingShard = null;

// @discordjs/ws opens every gateway connection with `new (require('ws').WebSocket)(url)`, right
// after its shard logs "Connecting to <url>"; wrap that constructor to report each connection.
const ws = require('ws');
const LibraryWebSocket = ws.WebSocket;
class ReportingWebSocket extends LibraryWebSocket {
  constructor(url, ...rest) {
    super(url, ...rest);
    const shard = connectingShard;
    connectingShard = null;
    reportConnect(String(url), shard);
  }
}
ws.WebSocket = ReportingWebSocket;

const { WebSocketShard } = require('@discordjs/ws');

const shardDebug = WebSocketShard.prototype.debug;
WebSocketShard.prototype.debug = function debugNotingConnects(messages) {
  if (typeof messages?.[0] === 'string' && messages[0].startsWith('Connecting to ')) connectingShard = this.id;
  return shardDebug.call(this, messages);
};

const shardOnMessage = WebSocketShard.prototype.onMessage;
WebSocketShard.prototype.onMessage = function countingOnMessage(data, isBinary) {
  frames[isBinary ? 'binary' : 'text'] += 1;
  if (WANT_COMPRESS && !isBinary) {
    die(`shard ${this.id} received a text frame under zlib-stream (every frame must be binary)`);
  } else if (!WANT_COMPRESS && isBinary) {
    die(`shard ${this.id} received a binary frame without transport compression`);
  }
  return shardOnMessage.call(this, data, isBinary);
};

const {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  Partials,
  TextInputBuilder,
  TextInputStyle,
  RESTEvents,
  WebhookClient,
  PermissionFlagsBits,
  parseEmoji,
  version,
} = require('discord.js');

function reportConnect(url, shard) {
  let compress = null;
  try {
    compress = new URL(url).searchParams.get('compress');
  } catch (e) {
    die(`discord.js opened a gateway connection to an invalid URL ${url}: ${e.message}`);
    return;
  }
  out('EVENT', { t: 'connect', shard, url });
  if (compress !== WANT_COMPRESS) {
    die(`gateway URL ${url} asks for compress=${compress}, wanted ${WANT_COMPRESS ?? 'none'}`);
    return;
  }
  const wanted = new URL(ARGS.gateway);
  if (new URL(url).host !== wanted.host) log(`[note] discord.js connects to ${url}, --gateway is ${ARGS.gateway}`);
}

// --- The client -----------------------------------------------------------------------------

const PRIVILEGED = [GatewayIntentBits.GuildMembers, GatewayIntentBits.GuildPresences, GatewayIntentBits.MessageContent];
const NON_PRIVILEGED = Object.values(GatewayIntentBits)
  .filter(bit => typeof bit === 'number' && !PRIVILEGED.includes(bit))
  .reduce((all, bit) => all | bit, 0);
const INTENTS = {
  default: NON_PRIVILEGED | GatewayIntentBits.GuildMembers | GatewayIntentBits.MessageContent,
  'no-content': NON_PRIVILEGED | GatewayIntentBits.GuildMembers,
  presence:
    NON_PRIVILEGED |
    GatewayIntentBits.GuildMembers |
    GatewayIntentBits.MessageContent |
    GatewayIntentBits.GuildPresences,
}[ARGS.intents];

const restApi = ARGS.api.replace(/\/+$/, '').replace(/\/v\d+$/, '');
const client = new Client({
  intents: INTENTS,
  partials: Object.values(Partials).filter(p => typeof p === 'number'),
  shards: Array.from({ length: ARGS.shards }, (_, i) => i),
  shardCount: ARGS.shards,
  rest: { api: restApi },
});
log(`[info] discord.js ${version}, intents ${INTENTS}, ${ARGS.shards} shard(s), compress ${ARGS.compress}`);

// The shard whose packet discord.js is handling: its packet handlers run synchronously inside
// handlePacket (also for packets it queued before READY), so every event they emit is attributed.
let currentShard = null;
const handlePacket = client.ws.handlePacket;
client.ws.handlePacket = function handlePacketOnShard(packet, shard) {
  const outer = currentShard;
  currentShard = shard?.id ?? null;
  try {
    return handlePacket.call(this, packet, shard);
  } finally {
    currentShard = outer;
  }
};

const sorted = ids => [...ids].map(String).sort();
const emojiText = emoji => (emoji.id ? `${emoji.name}:${emoji.id}` : emoji.name);
const attachmentsOf = message =>
  [...message.attachments.values()].map(a => ({ id: a.id, filename: a.name, size: a.size, url: a.url }));

/** Prints one EVENT line; `shard` is the packet's shard, or else the guild's. */
function event(t, fields, guild = null) {
  out('EVENT', { t, shard: currentShard ?? guild?.shardId ?? null, ...fields });
}

/** Registers a handler whose exceptions fail the run. */
function on(name, handler) {
  client.on(name, (...args) => {
    try {
      handler(...args);
    } catch (e) {
      die(`the ${name} handler threw: ${e.stack ?? e}`);
    }
  });
}

on(Events.MessageCreate, m =>
  event(
    'message_create',
    {
      id: m.id,
      channel: m.channelId,
      guild: m.guildId ?? null,
      author: m.author?.id ?? null,
      content: m.content ?? null,
      reference: m.reference?.messageId ?? null,
      webhook: m.webhookId ?? null,
      attachments: attachmentsOf(m),
    },
    m.guild,
  ),
);
const messageFields = m => ({ id: m.id, channel: m.channelId, guild: m.guildId ?? null });
on(Events.MessageUpdate, (_old, m) =>
  event('message_update', { ...messageFields(m), content: m.content ?? null }, m.guild),
);
on(Events.MessageDelete, m => event('message_delete', messageFields(m), m.guild));
for (const [name, t] of [
  [Events.MessageReactionAdd, 'reaction_add'],
  [Events.MessageReactionRemove, 'reaction_remove'],
]) {
  on(name, (reaction, user) => {
    const m = reaction.message;
    const fields = { message: m.id, channel: m.channelId, guild: m.guildId ?? null, user: user.id };
    event(t, { ...fields, emoji: emojiText(reaction.emoji) }, m.guild);
  });
}
on(Events.ChannelPinsUpdate, c => event('pins_update', { channel: c.id, guild: c.guildId ?? null }, c.guild));
on(Events.GuildMemberAdd, m => event('member_add', { guild: m.guild.id, user: m.id }, m.guild));
on(Events.GuildMemberRemove, m => event('member_remove', { guild: m.guild.id, user: m.id }, m.guild));
on(Events.GuildMemberUpdate, (_old, m) => {
  const roles = sorted(m.roles.cache.keys()).filter(id => id !== m.guild.id);
  event('member_update', { guild: m.guild.id, user: m.id, nick: m.nickname ?? null, roles }, m.guild);
});
on(Events.GuildBanAdd, ban => event('ban_add', { guild: ban.guild.id, user: ban.user.id }, ban.guild));
on(Events.GuildRoleCreate, r => event('role_create', { guild: r.guild.id, role: r.id, name: r.name }, r.guild));
on(Events.GuildRoleUpdate, (_old, r) => event('role_update', { guild: r.guild.id, role: r.id, name: r.name }, r.guild));
on(Events.GuildRoleDelete, r => event('role_delete', { guild: r.guild.id, role: r.id, name: null }, r.guild));
const channelFields = c => ({ guild: c.guildId ?? null, channel: c.id, name: c.name ?? null });
on(Events.ChannelCreate, c => event('channel_create', channelFields(c), c.guild));
on(Events.ChannelUpdate, (_old, c) => event('channel_update', channelFields(c), c.guild));
on(Events.ChannelDelete, c => event('channel_delete', channelFields(c), c.guild));
on(Events.TypingStart, typing =>
  event('typing', { channel: typing.channel.id, guild: typing.guild?.id ?? null, user: typing.user.id }, typing.guild),
);
on(Events.PresenceUpdate, (_old, p) =>
  event('presence', { guild: p.guild?.id ?? null, user: p.userId, status: p.status ?? null }, p.guild),
);
on(Events.WebhooksUpdate, c => event('webhooks_update', { guild: c.guildId ?? null, channel: c.id }, c.guild));
on(Events.ThreadCreate, t =>
  event('thread_create', { guild: t.guildId, channel: t.id, parent: t.parentId ?? null, name: t.name }, t.guild),
);
on(Events.ThreadUpdate, (_old, t) =>
  event('thread_update', { guild: t.guildId, channel: t.id, archived: t.archived ?? null }, t.guild),
);
on(Events.ThreadMembersUpdate, (added, _removed, t) => {
  for (const m of added.values()) {
    event('thread_member_join', { guild: t.guildId, channel: t.id, user: m.id }, t.guild);
  }
});
on(Events.ThreadDelete, t =>
  event('thread_delete', { guild: t.guildId, channel: t.id, parent: t.parentId ?? null }, t.guild),
);
on(Events.ShardResume, id => out('EVENT', { t: 'resumed', shard: id }));

// --- Readiness and failures -------------------------------------------------------------------

const unavailable = new Map();
on(Events.ShardReady, (id, missing) => {
  log(`[info] shard ${id} ready`);
  if (missing?.size) unavailable.set(id, [...missing]);
});

const readyTimer = setTimeout(() => {
  const statuses = [...client.ws.shards.values()].map(s => s.status);
  die(
    `timed out after ${ARGS.timeout}s before READY (shard statuses ${JSON.stringify(statuses)}, ` +
      `guilds ${client.guilds.cache.size}, frames_binary ${frames.binary}, frames_text ${frames.text})`,
  );
}, ARGS.timeout * 1000);

on(Events.ClientReady, c => {
  clearTimeout(readyTimer);
  if (unavailable.size) {
    const missing = JSON.stringify(Object.fromEntries(unavailable));
    die(`guilds of READY that never arrived (after waitGuildTimeout), by shard: ${missing}`);
    return;
  }
  if (!(frames.binary + frames.text)) {
    die('ready without any gateway frame counted');
    return;
  }
  const guilds = {};
  for (const g of c.guilds.cache.values()) {
    if (!g.available) {
      die(`guild ${g.id} is unavailable at ready`);
      return;
    }
    // Not GuildMemberManager#me: with partials on it invents a partial member when none is cached.
    const me = g.members.cache.get(c.user.id);
    guilds[g.id] = {
      channels: sorted(g.channels.cache.keys()),
      roles: sorted(g.roles.cache.keys()),
      me: Boolean(me && !me.partial),
    };
  }
  out('READY', {
    user: c.user.id,
    shards: c.ws.shards.size,
    compress: WANT_COMPRESS ?? 'json',
    frames_binary: frames.binary,
    frames_text: frames.text,
    guilds,
  });
});

client.on(Events.Debug, msg => {
  if (DEBUG) log(`[debug] ${msg}`);
});
client.on(Events.Warn, msg => log(`[warn] ${msg}`));
// The fruits the `pick` command completes from.
const FRUITS = ['apple', 'apricot', 'banana', 'blueberry', 'cherry'];

// Answers the puppet's commands the way the discord.py puppet does (README: sync_commands):
// immediately, by autocomplete, ephemerally, deferred with follow-ups, with a button and its
// press, and with a modal and its submission.
async function answerInteraction(i) {
  if (i.isAutocomplete()) {
    if (i.commandName !== 'pick') return;
    const current = i.options.getFocused();
    await i.respond(FRUITS.filter(f => f.startsWith(current)).map(f => ({ name: f, value: f })));
    return;
  }
  if (i.isButton()) {
    if (i.customId === 'press:1') await i.update({ content: `pressed by ${i.user.id}`, components: [] });
    return;
  }
  if (i.isModalSubmit()) {
    if (i.customId === 'form:1') await i.reply({ content: `answer: ${i.fields.getTextInputValue('answer')}` });
    return;
  }
  if (!i.isChatInputCommand()) return;
  switch (i.commandName) {
    case 'blep': {
      const animal = i.options.getString('animal', true);
      const count = i.options.getInteger('count') ?? 1;
      await i.reply({ content: `${animal} x${count}` });
      return;
    }
    case 'pick':
      await i.reply({ content: `picked ${i.options.getString('fruit', true)}` });
      return;
    case 'secret':
      await i.reply({ content: 'psst', flags: MessageFlags.Ephemeral });
      return;
    case 'later':
      await i.deferReply();
      await new Promise(r => setTimeout(r, 200));
      await i.followUp({ content: 'later done' });
      await i.followUp({ content: 'and more' });
      return;
    case 'press': {
      const button = new ButtonBuilder().setCustomId('press:1').setLabel('Press').setStyle(ButtonStyle.Primary);
      await i.reply({ content: 'press me', components: [new ActionRowBuilder().addComponents(button)] });
      return;
    }
    case 'form': {
      const input = new TextInputBuilder().setCustomId('answer').setLabel('Answer').setStyle(TextInputStyle.Short);
      const modal = new ModalBuilder().setCustomId('form:1').setTitle('Form')
        .addComponents(new ActionRowBuilder().addComponents(input));
      await i.showModal(modal);
      return;
    }
    default:
  }
}
client.on(Events.InteractionCreate, interaction => {
  answerInteraction(interaction).catch(e => die(`answering interaction ${interaction.id} failed: ${e.stack ?? e}`));
});
client.on(Events.Error, e => die(`client error: ${e.stack ?? e}`));
// A dropped connection (the harness's relay cuts them) surfaces here; discord.js then resumes.
client.on(Events.ShardError, (e, id) => log(`[shard ${id} error] ${e.stack ?? e}`));
client.on(Events.ShardReconnecting, id => log(`[info] shard ${id} reconnecting`));
client.on(Events.ShardDisconnect, (ev, id) => die(`shard ${id} closed for good with code ${ev?.code}`));
client.rest.on(RESTEvents.RateLimited, i =>
  log(`[rate limited] ${i.method} ${i.route} scope=${i.scope} global=${i.global} retry after ${i.retryAfter} ms`),
);
if (DEBUG) client.rest.on(RESTEvents.Debug, msg => log(`[rest] ${msg}`));
process.on('unhandledRejection', e => die(`unhandled rejection: ${e?.stack ?? e}`));
process.on('uncaughtException', e => die(`uncaught exception: ${e?.stack ?? e}`));

// --- Commands ---------------------------------------------------------------------------------

async function textChannel(id) {
  const channel = await client.channels.fetch(String(id));
  if (!channel?.isTextBased()) throw new Error(`channel ${id} is not a text channel (type ${channel?.type})`);
  return channel;
}

const webhookClients = new Map();
function webhookClient(id, token) {
  const key = `${id}/${token}`;
  if (!webhookClients.has(key)) {
    webhookClients.set(key, new WebhookClient({ id: String(id), token }, { rest: { api: restApi } }));
  }
  return webhookClients.get(key);
}

const COMMANDS = {
  async send({ channel, content }) {
    const m = await (await textChannel(channel)).send({ content });
    return { id: m.id };
  },
  async reply({ channel, message, content }) {
    const m = await (await textChannel(channel)).send({ content, reply: { messageReference: String(message) } });
    return { id: m.id, reference: m.reference?.messageId ?? null };
  },
  async edit({ channel, message, content }) {
    const m = await (await textChannel(channel)).messages.edit(String(message), { content });
    return { id: m.id, content: m.content ?? null };
  },
  async react({ channel, message, emoji }) {
    await (await textChannel(channel)).messages.react(String(message), emoji);
    return {};
  },
  async unreact({ channel, message, emoji }) {
    const m = await (await textChannel(channel)).messages.fetch({ message: String(message), force: true });
    const parsed = parseEmoji(emoji);
    const reaction = parsed && m.reactions.resolve(parsed.id ?? parsed.name);
    if (!reaction) {
      const keys = [...m.reactions.cache.keys()].join(',');
      throw new Error(`message ${m.id} as fetched has no reaction ${emoji} (reactions: ${keys})`);
    }
    await reaction.users.remove();
    return {};
  },
  async pin({ channel, message }) {
    await (await textChannel(channel)).messages.pin(String(message));
    return {};
  },
  async delete({ channel, message }) {
    await (await textChannel(channel)).messages.delete(String(message));
    return {};
  },
  async create_webhook({ channel, name }) {
    const w = await (await textChannel(channel)).createWebhook({ name });
    return { id: w.id, token: w.token ?? null };
  },
  async execute_webhook({ webhook, token, content }) {
    const m = await webhookClient(webhook, token).send({ content });
    return { id: m.id };
  },
  async upload({ channel, filename, data, content }) {
    const file = { attachment: Buffer.from(data, 'base64'), name: filename };
    const m = await (await textChannel(channel)).send({ content, files: [file] });
    return { id: m.id, attachments: attachmentsOf(m) };
  },
  async create_thread({ channel, name }) {
    const t = await (await textChannel(channel)).threads.create({ name, type: ChannelType.PublicThread });
    return { id: t.id, parent: t.parentId ?? null, name: t.name };
  },
  async archive_thread({ channel }) {
    const t = await client.channels.fetch(String(channel));
    if (!t?.isThread()) throw new Error(`channel ${channel} is not a thread (type ${t?.type})`);
    const after = await t.setArchived(true);
    return { id: after.id, archived: after.archived ?? null };
  },
  async burst({ channel, count, content }) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`burst count must be a positive integer, got ${count}`);
    const target = await textChannel(channel);
    const ids = [];
    await Promise.all(Array.from({ length: count }, () => target.send({ content }).then(m => ids.push(m.id))));
    return { ids };
  },
  async sync_commands({ guild }) {
    // The same commands the discord.py puppet defines, as discord.js application command data.
    const data = [
      {
        name: 'blep',
        description: 'Send a random adorable animal photo',
        options: [
          {
            type: ApplicationCommandOptionType.String, name: 'animal', description: 'The type of animal', required: true,
            choices: [{ name: 'Dog', value: 'animal_dog' }, { name: 'Cat', value: 'animal_cat' }],
          },
          { type: ApplicationCommandOptionType.Integer, name: 'count', description: 'How many', minValue: 1, maxValue: 10 },
        ],
      },
      {
        name: 'perms',
        description: 'Permissions',
        defaultMemberPermissions: PermissionFlagsBits.ManageGuild,
        options: [{
          type: ApplicationCommandOptionType.Subcommand, name: 'get', description: 'Get permissions for a user',
          options: [
            { type: ApplicationCommandOptionType.User, name: 'user', description: 'user', required: true },
            { type: ApplicationCommandOptionType.Channel, name: 'channel', description: 'channel', channelTypes: [ChannelType.GuildText] },
          ],
        }],
      },
      { name: 'High Five', type: ApplicationCommandType.User },
      {
        name: 'pick',
        description: 'Pick a fruit',
        options: [{ type: ApplicationCommandOptionType.String, name: 'fruit', description: 'The fruit', required: true, autocomplete: true }],
      },
      { name: 'secret', description: 'Answers only you' },
      { name: 'later', description: 'Answers later' },
      { name: 'press', description: 'A button to press' },
      { name: 'form', description: 'A form to fill in' },
    ];
    const set = guild === undefined || guild === null
      ? await client.application.commands.set(data)
      : await client.application.commands.set(data, String(guild));
    const commands = [...set.values()]
      .map(c => ({ id: c.id, name: c.name, type: c.type, guild: c.guildId ?? null }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { commands };
  },
};

// Commands still running; quit answers them first (a `quit` line's own run is added only after
// quit() has taken its snapshot, so it does not wait for itself).
const pending = new Set();

let quitting = false;
async function quit(id) {
  if (quitting) return;
  quitting = true;
  await Promise.allSettled([...pending]);
  if (id !== undefined) out('DONE', { id });
  clearTimeout(readyTimer);
  try {
    for (const w of webhookClients.values()) w.destroy();
    await client.destroy();
  } catch (e) {
    die(`closing the client failed: ${e.stack ?? e}`);
    return;
  }
  process.exit(0);
}

async function runCommand(line) {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    die(`stdin line is not JSON (${e.message}): ${line}`);
    return;
  }
  const { id, cmd } = command ?? {};
  if (typeof id !== 'number') {
    die(`command without a numeric "id": ${line}`);
    return;
  }
  if (cmd === 'quit') {
    await quit(id);
    return;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    out('FAILED', { id, error: `unknown command ${JSON.stringify(cmd)}` });
    return;
  }
  try {
    const result = await run(command);
    out('DONE', { id, ...result });
  } catch (e) {
    if (DEBUG) log(`[command ${id} ${cmd}] ${e.stack ?? e}`);
    out('FAILED', { id, error: e?.message ?? String(e) });
  }
}

const stdin = readline.createInterface({ input: process.stdin, terminal: false });
stdin.on('line', line => {
  const running = runCommand(line);
  pending.add(running);
  void running.finally(() => pending.delete(running));
});
stdin.on('close', () => void quit());

client.login(ARGS.token).catch(e => die(`login failed: ${e.stack ?? e}`));
