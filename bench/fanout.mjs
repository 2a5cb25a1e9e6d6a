// Does Redis pub/sub fan-out beat the runtime's list/pointer fan-out for collectives?
// K agents (2, 4, 8) are simulated in this process, each with its own two connections, as a
// real agent has them: one for commands, one that is either blocked in BLMPOP on the agent's
// inbox ("lists") or subscribed to the job's channel ("pubsub"). Variants:
//   lists      the runtime's scheme from 3 agents on, reproduced from packages/runtime/src/redis (lua-scripts.ts,
//              redis-transport.ts) and engine/collective-rendezvous.ts: every agent EVALSHAs its
//              bundle into the rendezvous hash, the completing agent gets every bundle in the
//              reply and the script RPUSHes them into the other inboxes; envelopes > 64 KiB go
//              as SET key + pointer, each reader GETs it and counts itself out (RELEASE).
//   pubsub     the completing EVALSHA PUBLISHes the bundles once on the job's channel instead of
//              K-1 RPUSHes; bcast needs no rendezvous: the root PUBLISHes its data. Every message
//              carries a sequence number (per channel, from an INCR in the same script) so a
//              subscriber sees a gap; PUBLISH's receiver count must be K (all agents subscribed).
//   pubsub+log the same, and the script also keeps each message in a capped stream (ID 0-<seq>)
//              from which a subscriber that missed messages recovers (XRANGE): the price of
//              being able to reconnect instead of failing the job.
//   allpush    the runtime's scheme between 2 agents: no rendezvous, every agent delivers its
//              bundle to the others' inboxes (DELIVER_SCRIPT) and completes with theirs.
// bcast also runs in other shapes (lists without rendezvous; pub/sub via rendezvous, plain
// PUBLISH, pointer) in a second table. Each iteration is one whole collective: every agent starts it at once and it
// ends when the last agent has its result; iterations run back to back, the median is shown.
// Then: a recovery check (a subscriber killed mid-run catches up from the stream) and what
// 8 MiB messages do against `client-output-buffer-limit pubsub`.
// Usage: node bench/fanout.mjs [--quick]     (prints Markdown; Redis from MPIAAS_REDIS_URL)
import os from 'node:os';
import { Redis } from 'ioredis';

const { connectRedis } = await import('../packages/runtime/dist/redis/connect.js');

const quick = process.argv.includes('--quick');
const url = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench:fanout:${process.pid}:`;
const TTL_MS = 60_000;
const LARGE_ENVELOPE_BYTES = 64 * 1024; // redis-transport.ts
const POP_BATCH = 512; // redis-transport.ts
const AGENT_COUNTS = [2, 4, 8];
const ITERATIONS = quick ? { small: 100, large: 6 } : { small: 500, large: 20 };
const WARMUP = quick ? { small: 20, large: 2 } : { small: 100, large: 3 };
const MiB = 1024 * 1024;

// ------------------------------------------------------------------ Lua scripts

// The runtime's own scripts (packages/runtime/src/redis/lua-scripts.ts, built by `npm run build`).
const { DELIVER_SCRIPT, RENDEZVOUS_SCRIPT, RELEASE_SCRIPT } = await import('../packages/runtime/dist/redis/lua-scripts.js');

// Pub/sub message: u32 LE kind (1: sequence per channel, 2: sequence per publisher) | u32 seq |
// u32 from (agent whose command published it) | u32 count | count × (u32 length | bundle).
// The optional log is a stream, entry ID 0-<seq>, field m = the message, holding about the last
// ARGV[LOGARG] messages (0: no log).
const LOG_LUA = `
if ARGV[LOGARG] ~= '0' then
  redis.call('XADD', KEYS[LOGKEY], 'MAXLEN', '~', ARGV[LOGARG], '0-' .. seq, 'm', message)
  redis.call('PEXPIRE', KEYS[LOGKEY], ARGV[2])
end`;

/**
 * The rendezvous, publishing instead of pushing. KEYS: hash, channel sequence counter, log
 * stream. ARGV: agents, ttl ms, this agent, bundle, channel, log length (0: none). Returns false until the
 * set is complete; then {receivers, message} (the completing agent reads the reply).
 */
const PUBSUB_RENDEZVOUS_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return false
end
local bundles = redis.call('HVALS', KEYS[1])
redis.call('DEL', KEYS[1])
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local parts = { struct.pack('<I4I4I4I4', 1, seq, tonumber(ARGV[3]), #bundles) }
for i = 1, #bundles do
  parts[#parts + 1] = struct.pack('<I4', #bundles[i])
  parts[#parts + 1] = bundles[i]
end
local message = table.concat(parts)
${LOG_LUA.replaceAll('LOGARG', '6').replaceAll('LOGKEY', '3')}
return { redis.call('PUBLISH', ARGV[5], message), message }
`;

/** One bundle published at once (bcast root). KEYS: counter, log. ARGV: channel, ttl, agent, bundle, log length. */
const PUBSUB_PUBLISH_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local message = struct.pack('<I4I4I4I4I4', 1, seq, tonumber(ARGV[3]), 1, #ARGV[4]) .. ARGV[4]
${LOG_LUA.replaceAll('LOGARG', '5').replaceAll('LOGKEY', '2')}
return redis.call('PUBLISH', ARGV[1], message)
`;

// ------------------------------------------------------------------ envelopes (envelope.ts)

const { encodeEnvelope, decodeEnvelope } = await import('../packages/runtime/dist/redis/envelope.js');
const { joined } = await import('../packages/runtime/dist/protocol/pieces.js');

const peekKind = (raw) => String.fromCharCode(raw[10]);

/** Every member's parts by comm rank, from the agents' bundles (finishIfComplete). */
function unbundle(envelopes) {
  const all = [];
  for (const { header, body: pieces } of envelopes) {
    if (header.t !== 'g') continue;
    const body = joined(pieces); // decodeEnvelope hands the body on as pieces
    let offset = 0;
    for (const [rank, lengths] of header.m) all[rank] = lengths.map((length) => body.subarray(offset, (offset += length)));
  }
  return all;
}

function u32s(...values) {
  const buffer = Buffer.allocUnsafe(4 * values.length);
  values.forEach((value, i) => buffer.writeUInt32LE(value, 4 * i));
  return buffer;
}

/** The bundles of a pub/sub message (raw envelopes: 'g' bundles or 'x' pointers). */
function messageBundles(message) {
  const count = message.readUInt32LE(12);
  const bundles = [];
  let offset = 16;
  for (let i = 0; i < count; i++) {
    const length = message.readUInt32LE(offset);
    bundles.push(message.subarray(offset + 4, (offset += 4 + length)));
  }
  return bundles;
}

// ------------------------------------------------------------------ agents

const faults = [];
const fault = (error) => faults.push(error);

/** A connection as the runtime opens it (connectRedis): a lost connection is a fault, never retried. */
async function connect(name) {
  const redis = await connectRedis(url, name);
  redis.defineCommand('mpiDeliver', { lua: DELIVER_SCRIPT });
  redis.defineCommand('mpiRendezvous', { lua: RENDEZVOUS_SCRIPT });
  redis.defineCommand('mpiRelease', { lua: RELEASE_SCRIPT });
  redis.defineCommand('psRendezvous', { lua: PUBSUB_RENDEZVOUS_SCRIPT });
  redis.defineCommand('psPublish', { lua: PUBSUB_PUBLISH_SCRIPT });
  return redis;
}

class JobKeys {
  constructor(jobId) {
    this.base = `${prefix}{${jobId}}:`;
  }
  mailbox = (agent) => `${this.base}mb:${agent}`;
  collective = (ctx, seq) => `${this.base}coll:${ctx}:${seq}`;
  payload = (agent, id) => `${this.base}pl:${agent}:${id}`;
  channel = () => `${this.base}ch`;
  sequence = () => `${this.base}ch:seq`;
  log = () => `${this.base}ch:log`;
  loose = () => `${this.base}loose`;
}

/** Common to both: pointers to large envelopes (RedisTransport.stored / resolve). */
class AgentBase {
  stopped = false;
  pending = new Map();
  nextPayloadId = 0;

  constructor(index, agents, keys, commands) {
    Object.assign(this, { index, agents, keys, commands });
    commands.on('close', () => this.stopped || fault(new Error(`agent ${index}: command connection closed`)));
  }

  stored(envelope, readers) {
    if (envelope.length <= LARGE_ENVELOPE_BYTES) return envelope;
    const key = this.keys.payload(this.index, this.nextPayloadId++);
    this.commands.set(key, envelope, 'PX', TTL_MS).catch(fault);
    return encodeEnvelope({ t: 'x', k: key, r: readers });
  }

  async resolve(raw) {
    if (peekKind(raw) !== 'x') return raw;
    const pointer = decodeEnvelope(raw).header;
    let stored;
    if (pointer.r <= 1) {
      stored = await this.commands.getdelBuffer(pointer.k);
    } else {
      const fetched = this.commands.getBuffer(pointer.k);
      const released = this.commands.mpiRelease(3, this.keys.loose(), `${pointer.k}:n`, pointer.k, pointer.r, TTL_MS);
      [stored] = await Promise.all([fetched, released]);
    }
    if (!stored) throw new Error(`stored envelope ${pointer.k} is missing`);
    return stored;
  }

  /** The pending collective `key`, made on first sight (its result may arrive before it starts). */
  op(key) {
    let op = this.pending.get(key);
    if (!op) this.pending.set(key, (op = { started: false, envelopes: undefined }));
    return op;
  }

  bundle(seq, parts) {
    return encodeEnvelope({ t: 'g', c: 'w', q: seq, a: this.index, n: this.agents, m: [[this.index, parts.map((p) => p.length)]] }, parts);
  }

  finish(key, op) {
    if (!op.started || !op.envelopes) return;
    this.pending.delete(key);
    op.resolve(unbundle(op.envelopes));
  }
}

/** Today's agent: CollectiveRendezvous over RedisTransport (rendezvous + inbox pump). */
class ListsAgent extends AgentBase {
  static async create(index, agents, keys) {
    const name = `${prefix}lists:${agents}:${index}`;
    const agent = new ListsAgent(index, agents, keys, await connect(`${name}:commands`));
    agent.blocking = await connect(`${name}:inbox`);
    agent.blocking.on('close', () => agent.stopped || fault(new Error(`agent ${index}: inbox connection closed`)));
    agent.pumping = agent.pump();
    return agent;
  }

  /**
   * Every agent takes part in every collective; `parts` are its (one) rank's contribution.
   * `shape` 'push' (bcast only, not the runtime's code): no rendezvous, the root delivers its
   * bundle to the other inboxes with DELIVER_SCRIPT, as a point-to-point send is delivered.
   * 'allpush' (the runtime's between two agents): no rendezvous, every agent delivers its
   * bundle to the others' inboxes.
   */
  contribute(seq, parts, { shape, root } = {}) {
    return new Promise((resolve, reject) => {
      const key = `w#${seq}`;
      const op = this.op(key);
      Object.assign(op, { started: true, resolve, reject, expect: shape === 'push' ? 1 : this.agents });
      op.bundles ??= new Map();
      const others = [];
      for (let a = 0; a < this.agents; a++) if (a !== this.index) others.push(this.keys.mailbox(a));
      if (shape === 'allpush') {
        // Every agent delivers its bundle to the others' inboxes; it has its own already.
        const own = this.bundle(seq, parts);
        this.commands.mpiDeliver(others.length, ...others, TTL_MS, this.stored(own, others.length)).catch(reject);
        op.bundles.set(this.index, decodeEnvelope(own));
        return this.complete(key, op);
      }
      if (shape === 'push') {
        if (this.index !== root) return this.complete(key, op);
        this.commands
          .mpiDeliver(others.length, ...others, TTL_MS, this.stored(this.bundle(seq, parts), others.length))
          .then(() => {
            op.envelopes = [];
            this.finish(key, op);
          })
          .catch(reject);
        return;
      }
      this.commands
        // The runtime's script with publishing off (-1): its inbox path.
        .mpiRendezvousBuffer(
          4 + others.length,
          this.keys.collective('w', seq),
          this.keys.sequence(),
          this.keys.log(),
          this.keys.loose(),
          ...others,
          this.agents,
          TTL_MS,
          this.index,
          this.stored(this.bundle(seq, parts), this.agents),
          '',
          -1,
          0,
        )
        .then(async (bundles) => {
          if (!bundles) return;
          const envelopes = await Promise.all(bundles.map(async (raw) => decodeEnvelope(await this.resolve(raw))));
          for (const envelope of envelopes) this.onBundle(envelope);
        })
        .catch(reject);
    });
  }

  onBundle(envelope) {
    const key = `${envelope.header.c}#${envelope.header.q}`;
    const op = this.op(key); // made on first sight: with 'push' a bundle may come first
    op.bundles ??= new Map();
    op.bundles.set(envelope.header.a, envelope);
    this.complete(key, op);
  }

  complete(key, op) {
    if (op.started && op.bundles.size === op.expect) {
      op.envelopes = [...op.bundles.values()];
      this.finish(key, op);
    }
  }

  async pump() {
    const inbox = this.keys.mailbox(this.index);
    while (!this.stopped) {
      let reply;
      try {
        reply = await this.blocking.callBuffer('BLMPOP', 0, 1, inbox, 'LEFT', 'COUNT', POP_BATCH);
      } catch (error) {
        if (!this.stopped) fault(error);
        return;
      }
      if (!Array.isArray(reply)) continue;
      try {
        for (const raw of reply[1]) this.onBundle(decodeEnvelope(peekKind(raw) === 'x' ? await this.resolve(raw) : raw));
      } catch (error) {
        fault(error);
        return;
      }
    }
  }

  async stop() {
    this.stopped = true;
    this.blocking.disconnect();
    await this.pumping;
    this.commands.disconnect();
  }
}

/**
 * An agent whose second connection is subscribed to the job's channel. Messages are handled
 * one at a time in arrival order (pointers resolved in line, as the inbox pump does).
 */
class PubSubAgent extends AgentBase {
  lastSeq = 0; // per-channel sequence (kind 1)
  lastFrom = new Map(); // per-publisher sequence (kind 2)
  published = 0; // this agent's own kind-2 messages
  recovered = 0;
  gaps = 0;
  queue = Promise.resolve();

  static async create(index, agents, keys, { recover = false } = {}) {
    const name = `${prefix}pubsub:${agents}:${index}`;
    const agent = new PubSubAgent(index, agents, keys, await connect(`${name}:commands`));
    agent.name = name;
    agent.recover = recover;
    await agent.subscribe();
    return agent;
  }

  async subscribe() {
    const subscriber = await connect(`${this.name}:subscriber`);
    subscriber.on('messageBuffer', (_channel, message) => {
      this.queue = this.queue.then(() => this.onMessage(message)).catch(fault);
    });
    subscriber.on('close', () => {
      if (this.stopped) return;
      if (!this.recover) return fault(new Error(`agent ${this.index}: subscriber connection closed`));
      // A new connection takes over: this one must not reconnect and re-subscribe by itself
      // (ioredis would, and with the offline queue off its SUBSCRIBE could fail unhandled:
      // "Stream isn't writeable", which once ended a --quick run).
      subscriber.disconnect();
      // Re-subscribe, then read what was published meanwhile from the log.
      this.queue = this.queue.then(() => this.resubscribe()).catch(fault);
    });
    await subscriber.subscribe(this.keys.channel());
    this.subscriber = subscriber;
  }

  async resubscribe() {
    await this.subscribe();
    await this.catchUp(Infinity);
  }

  /** Reads logged messages after lastSeq (up to before `until`) and handles them. */
  async catchUp(until) {
    const end = Number.isFinite(until) ? `0-${until - 1}` : '+';
    const entries = await this.commands.xrangeBuffer(this.keys.log(), `(0-${this.lastSeq}`, end);
    for (const [, fields] of entries) {
      const message = fields[1];
      if (message.readUInt32LE(4) !== this.lastSeq + 1) throw new Error(`agent ${this.index}: log lacks message ${this.lastSeq + 1}`);
      this.recovered++;
      await this.handle(message);
    }
  }

  async onMessage(message) {
    const kind = message.readUInt32LE(0);
    const seq = message.readUInt32LE(4);
    const from = message.readUInt32LE(8);
    if (kind === 1) {
      if (seq <= this.lastSeq) return; // already read from the log
      if (seq !== this.lastSeq + 1) {
        this.gaps++;
        if (!this.recover) throw new Error(`agent ${this.index}: missed messages ${this.lastSeq + 1}..${seq - 1}`);
        await this.catchUp(seq);
      }
      await this.handle(message);
    } else {
      const last = this.lastFrom.get(from) ?? 0;
      if (seq !== last + 1) throw new Error(`agent ${this.index}: missed messages ${last + 1}..${seq - 1} from agent ${from}`);
      this.lastFrom.set(from, seq);
      if (from !== this.index) await this.deliver(message);
    }
  }

  async handle(message) {
    this.lastSeq = message.readUInt32LE(4);
    // The agent whose command published a message got it in the reply already.
    if (message.readUInt32LE(8) !== this.index) await this.deliver(message);
  }

  async deliver(message) {
    const envelopes = [];
    for (const raw of messageBundles(message)) envelopes.push(decodeEnvelope(await this.resolve(raw)));
    const key = `${envelopes[0].header.c}#${envelopes[0].header.q}`;
    const op = this.op(key);
    op.envelopes = envelopes;
    this.finish(key, op);
  }

  /** Fewer receivers than agents: one is not subscribed (reconnecting: it will read the log). */
  checkReceivers(receivers) {
    if (receivers === this.agents) return;
    this.shortPublishes = (this.shortPublishes ?? 0) + 1;
    if (!this.recover) fault(new Error(`agent ${this.index}: PUBLISH reached ${receivers} of ${this.agents} agents`));
  }

  /**
   * `shape`: 'rendezvous' (every agent contributes, the completing script publishes), or for
   * bcast: 'direct' (the root's script publishes its bundle), 'plain' (the root PUBLISHes it,
   * no script, sequence per publisher), 'pointer' (root SETs it and publishes a pointer).
   */
  contribute(seq, parts, { shape, root, log }) {
    return new Promise((resolve, reject) => {
      const key = `w#${seq}`;
      const op = this.op(key);
      Object.assign(op, { started: true, resolve, reject });
      // Large messages are costly to keep: a log of 4 of them is already 32 MiB.
      const logFlag = String(log ? (parts.some((p) => p.length > LARGE_ENVELOPE_BYTES) ? 4 : 1024) : 0);
      if (shape === 'rendezvous') {
        this.commands
          .psRendezvousBuffer(3, this.keys.collective('w', seq), this.keys.sequence(), this.keys.log(), this.agents, TTL_MS, this.index, this.bundle(seq, parts), this.keys.channel(), logFlag)
          .then((reply) => {
            if (!reply) return;
            this.checkReceivers(reply[0]);
            op.envelopes = messageBundles(reply[1]).map(decodeEnvelope);
            this.finish(key, op);
          })
          .catch(reject);
        return;
      }
      if (this.index !== root) return this.finish(key, op); // waits for the root's message
      const bundle = this.bundle(seq, parts);
      let published;
      if (shape === 'plain') {
        const header = u32s(2, ++this.published, this.index, 1, bundle.length);
        published = this.commands.publish(this.keys.channel(), Buffer.concat([header, bundle]));
      } else {
        const sent = shape === 'pointer' ? this.stored(bundle, this.agents - 1) : bundle;
        published = this.commands.psPublish(2, this.keys.sequence(), this.keys.log(), this.keys.channel(), TTL_MS, this.index, sent, logFlag);
      }
      published
        .then((receivers) => {
          this.checkReceivers(receivers);
          op.envelopes = []; // the root of a bcast receives nothing
          this.finish(key, op);
        })
        .catch(reject);
    });
  }

  async stop() {
    this.stopped = true;
    await this.queue;
    this.subscriber.disconnect();
    this.commands.disconnect();
  }
}

// ------------------------------------------------------------------ collectives

const OPS = [
  { name: 'bcast 8 B', coll: 'bcast', bytes: 8 },
  { name: 'bcast 8 MiB', coll: 'bcast', bytes: 8 * MiB },
  { name: 'allreduce 8 B', coll: 'allgather', bytes: 8 },
  { name: 'barrier', coll: 'barrier', bytes: 0 },
];

function contribution(op, agent, seq, root) {
  if (op.coll === 'barrier') return [];
  if (op.coll === 'allgather') return [u32s(agent, seq)];
  return agent === root ? [Buffer.alloc(op.bytes, seq & 0xff)] : [];
}

function check(op, all, agent, seq, root) {
  const fail = (what) => {
    throw new Error(`${op.name}: agent ${agent}, collective ${seq}: ${what}`);
  };
  if (op.coll === 'bcast') {
    if (agent === root) return;
    const data = all[root]?.[0];
    if (!data || data.length !== op.bytes || data[0] !== (seq & 0xff) || data[data.length - 1] !== (seq & 0xff)) fail('wrong data');
  } else {
    if (all.length !== all.filter(Boolean).length) fail(`${all.length} members`);
    for (let r = 0; r < all.length; r++) {
      if (op.coll === 'barrier' ? all[r].length !== 0 : all[r][0].readUInt32LE(0) !== r || all[r][0].readUInt32LE(4) !== seq) fail(`part ${r}`);
    }
  }
}

/** Runs `count` collectives back to back on `set`; returns their latencies in µs. */
async function runCollectives(set, op, variant, count) {
  const samples = [];
  for (let i = 0; i < count; i++) {
    const seq = set.seq++;
    const root = seq % set.agents.length;
    const started = process.hrtime.bigint();
    const results = await Promise.all(
      set.agents.map((agent, a) =>
        agent.contribute(seq, contribution(op, a, seq, root), { ...variant, shape: variant.shape(op), root }),
      ),
    );
    samples.push(Number(process.hrtime.bigint() - started) / 1000);
    results.forEach((all, a) => check(op, all, a, seq, root));
    if (faults.length) throw faults[0];
  }
  return samples;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];
const fmt = (micros) => (micros >= 1000 ? `${(micros / 1000).toFixed(2)} ms` : `${micros.toFixed(0)} µs`);

const VARIANTS = [
  { label: 'lists', kind: 'lists', shape: () => 'rendezvous' },
  { label: 'pubsub', kind: 'pubsub', log: false, shape: (op) => (op.coll === 'bcast' ? 'direct' : 'rendezvous') },
  { label: 'pubsub+log', kind: 'pubsub', log: true, shape: (op) => (op.coll === 'bcast' ? 'direct' : 'rendezvous') },
];
/** Every op also runs with no rendezvous at all: each agent pushes its bundle to the others. */
const PUSHED_VARIANT = { label: 'lists, every agent pushes its bundle to the others (no rendezvous)', kind: 'lists', shape: () => 'allpush' };
/**
 * Other shapes of bcast (no log): which part of a gain is pub/sub's and which is dropping the
 * rendezvous, and how the 8 MiB payload should move.
 */
const BCAST_VARIANTS = [
  { label: 'lists, root pushes to inboxes (no rendezvous)', kind: 'lists', shape: () => 'push' },
  { label: 'pubsub, rendezvous (as allreduce)', kind: 'pubsub', log: false, shape: () => 'rendezvous' },
  { label: 'pubsub, plain PUBLISH (seq per publisher)', kind: 'pubsub', log: false, shape: () => 'plain' },
  { label: 'pubsub, SET + pointer published', kind: 'pubsub', log: false, shape: () => 'pointer', large: true },
];

// ------------------------------------------------------------------ baselines

async function pingMicros() {
  const redis = await connect(`${prefix}ping`);
  for (let i = 0; i < 500; i++) await redis.ping();
  const samples = [];
  for (let round = 0; round < 3; round++) {
    const n = 5000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await redis.ping();
    samples.push(Number(process.hrtime.bigint() - started) / n / 1000);
  }
  redis.disconnect();
  return median(samples);
}

/** SET 8 MiB then GET it on `readers` connections at once: the floor for one 8 MiB fan-out. */
async function largeCopyMicros(readers) {
  const writer = await connect(`${prefix}large:w`);
  const readerConnections = await Promise.all(Array.from({ length: readers }, (_, i) => connect(`${prefix}large:r${i}`)));
  const key = `${prefix}large`;
  const payload = Buffer.alloc(8 * MiB, 7);
  const samples = [];
  for (let i = 0; i < (quick ? 5 : 11); i++) {
    const started = process.hrtime.bigint();
    await writer.set(key, payload);
    await Promise.all(readerConnections.map((r) => r.getBuffer(key)));
    samples.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  await writer.del(key);
  for (const r of [writer, ...readerConnections]) r.disconnect();
  return median(samples);
}

// ------------------------------------------------------------------ recovery check

/**
 * K=4 pubsub+log agents run barriers; agent 1's subscriber connection is killed (CLIENT KILL,
 * as Redis does past an output buffer limit) while barriers go on. It re-subscribes and reads
 * the messages it missed from the log; every barrier must still complete on every agent.
 */
async function recoveryCheck() {
  const keys = new JobKeys('recovery');
  const agents = [];
  for (let a = 0; a < 4; a++) agents.push(await PubSubAgent.create(a, 4, keys, { recover: true }));
  const set = { agents, seq: 0 };
  const variant = { kind: 'pubsub', log: true, shape: () => 'rendezvous' };
  const op = OPS.find((o) => o.coll === 'barrier');
  await runCollectives(set, op, variant, 10);
  const admin = await connect(`${prefix}admin`);
  const list = await admin.client('LIST', 'TYPE', 'pubsub');
  const id = /id=(\d+) /.exec(list.split('\n').find((l) => l.includes(`name=${agents[1].name}:subscriber `)))[1];
  // Contributions of agent 1 go on (its command connection is fine); its results are missed.
  const killed = admin.client('KILL', 'ID', id);
  const samples = await runCollectives(set, op, variant, 50);
  await killed;
  admin.disconnect();
  const result = {
    barriers: set.seq,
    recovered: agents[1].recovered,
    gaps: agents[1].gaps,
    short: agents.reduce((n, a) => n + (a.shortPublishes ?? 0), 0),
    slowest: Math.max(...samples),
  };
  for (const agent of agents) await agent.stop();
  return result;
}

// ------------------------------------------------------------------ output buffer limit

async function clientOmem(admin, name) {
  const list = await admin.client('LIST', 'TYPE', 'pubsub');
  const line = list.split('\n').find((l) => l.includes(`name=${name} `));
  return line ? Number(/omem=(\d+)/.exec(line)[1]) : null;
}

/**
 * (a) A root running ahead: 8 × 8 MiB PUBLISHed back to back to 8 live subscribers.
 * (b) One subscriber that does not read (its socket paused): 8 MiB messages published one by
 * one until Redis drops it; its output buffer (omem) after each.
 */
async function outputBufferProbe() {
  const admin = await connect(`${prefix}admin`);
  const limits = (await admin.config('GET', 'client-output-buffer-limit'))[1];
  const channel = `${prefix}obl`;
  const payload = Buffer.alloc(8 * MiB, 1);
  const openSubscribers = async (n, tag) => {
    const subscribers = [];
    for (let i = 0; i < n; i++) {
      const name = `${prefix}obl:${tag}:${i}`;
      const s = await connect(name);
      Object.assign(s, { received: 0, closed: false, label: name });
      s.on('messageBuffer', () => s.received++);
      s.on('close', () => (s.closed = true));
      await s.subscribe(channel);
      subscribers.push(s);
    }
    return subscribers;
  };
  const settle = async (subscribers, expected) => {
    for (let waited = 0; waited < 10_000; waited += 20) {
      if (subscribers.every((s) => s.closed || s.received >= expected)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  // (a), three times: whether Redis drops the subscribers depends on how fast they read.
  const burstResults = [];
  for (let trial = 0; trial < 3; trial++) {
    const burst = await openSubscribers(8, `burst${trial}`);
    const messages = 8;
    const started = process.hrtime.bigint();
    const receivers = await Promise.all(Array.from({ length: messages }, () => admin.publish(channel, payload)));
    await settle(burst, messages);
    burstResults.push({
      messages,
      millis: Number(process.hrtime.bigint() - started) / 1e6,
      receivers,
      received: burst.map((s) => s.received),
      dropped: burst.filter((s) => s.closed).length,
    });
    for (const s of burst) s.disconnect();
  }

  // (b)
  const [slow, live] = await openSubscribers(2, 'slow');
  slow.stream.pause();
  const steps = [];
  for (let i = 1; i <= 8 && steps.at(-1)?.omem !== null; i++) {
    const count = await admin.publish(channel, payload);
    await new Promise((resolve) => setTimeout(resolve, 100));
    steps.push({ message: i, receivers: count, omem: await clientOmem(admin, slow.label) });
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const slowResult = { steps, dropped: (await clientOmem(admin, slow.label)) === null, liveReceived: live.received };
  slow.disconnect();
  live.disconnect();
  admin.disconnect();
  return { limits, bursts: burstResults, slow: slowResult };
}

// ------------------------------------------------------------------ main

async function cleanup() {
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (found.length) await redis.del(...found);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

async function main() {
  const loadBefore = os.loadavg();
  const ping = await pingMicros();
  const copies = {};
  const readerCounts = [...new Set([1, ...AGENT_COUNTS.flatMap((k) => [k - 1, k])])].sort((a, b) => a - b);
  for (const n of readerCounts) copies[n] = await largeCopyMicros(n);

  const rows = [];
  const extra = [];
  for (const k of AGENT_COUNTS) {
    const lists = { agents: [], seq: 0 };
    const pubsub = { agents: [], seq: 0 };
    for (let a = 0; a < k; a++) {
      lists.agents.push(await ListsAgent.create(a, k, new JobKeys(`lists-${k}`)));
      pubsub.agents.push(await PubSubAgent.create(a, k, new JobKeys(`pubsub-${k}`)));
    }
    for (const op of OPS) {
      const large = op.bytes > LARGE_ENVELOPE_BYTES;
      const n = large ? ITERATIONS.large : ITERATIONS.small;
      const variants = [...VARIANTS, PUSHED_VARIANT, ...(op.coll === 'bcast' ? BCAST_VARIANTS.filter((v) => large || !v.large) : [])];
      const samples = new Map(variants.map((v) => [v, []]));
      // Two rounds, variants alternating, so a drift in the machine's load hits all of them.
      for (let round = 0; round < 2; round++) {
        for (const variant of variants) {
          const set = variant.kind === 'lists' ? lists : pubsub;
          if (round === 0) await runCollectives(set, op, variant, large ? WARMUP.large : WARMUP.small);
          samples.get(variant).push(...(await runCollectives(set, op, variant, n / 2)));
        }
      }
      const stats = (v) => ({ median: median(samples.get(v)), p90: percentile(samples.get(v), 0.9) });
      rows.push({ op: op.name, k, lists: stats(variants[0]), pubsub: stats(variants[1]), logged: stats(variants[2]) });
      if (variants.length > VARIANTS.length) {
        for (const v of variants.slice(VARIANTS.length)) extra.push({ op: op.name, k, label: v.label, ...stats(v), lists: stats(variants[0]).median });
      }
    }
    for (const agent of [...lists.agents, ...pubsub.agents]) await agent.stop();
  }

  const recovery = await recoveryCheck();
  const buffers = await outputBufferProbe();
  const loadAfter = os.loadavg();

  const load = (l) => l.map((x) => x.toFixed(2)).join(', ');
  console.log(`# Redis fan-out for collectives: lists vs pub/sub${quick ? ' (--quick)' : ''}\n`);
  console.log(`${os.cpus().length} CPUs, load average before ${load(loadBefore)}, after ${load(loadAfter)}; Redis ${url}`);
  console.log(`Iterations per cell: ${ITERATIONS.small} (8 B, barrier), ${ITERATIONS.large} (8 MiB), after ${WARMUP.small}/${WARMUP.large} warm-up.\n`);
  console.log('## Floor\n');
  console.log(`- PING round trip: ${fmt(ping)}`);
  console.log(`- SET + GET of 8 MiB: ${fmt(copies[1])}`);
  console.log(
    `- SET 8 MiB + n parallel GETs on n connections (the data movement of one 8 MiB fan-out to n readers; a bcast to K agents has K-1): ` +
      `${readerCounts.map((n) => `n=${n} ${fmt(copies[n])}`).join(', ')}\n`,
  );
  console.log('## Median latency of one collective (every agent has its result)\n');
  console.log('| op | K | lists | pubsub | ratio pubsub/lists | pubsub+log | ratio +log/lists |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.op} | ${r.k} | ${fmt(r.lists.median)} | ${fmt(r.pubsub.median)} | ${(r.pubsub.median / r.lists.median).toFixed(2)} | ${fmt(r.logged.median)} | ${(r.logged.median / r.lists.median).toFixed(2)} |`,
    );
  }
  console.log('\n90th percentile: ');
  console.log('| op | K | lists | pubsub | pubsub+log |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.op} | ${r.k} | ${fmt(r.lists.p90)} | ${fmt(r.pubsub.p90)} | ${fmt(r.logged.p90)} |`);
  console.log('\n## Other shapes (ratio to lists = to the rendezvous + lists)\n');
  console.log('| op | K | shape | median | p90 | ratio /lists |');
  console.log('|---|---:|---|---:|---:|---:|');
  for (const e of extra) console.log(`| ${e.op} | ${e.k} | ${e.label} | ${fmt(e.median)} | ${fmt(e.p90)} | ${(e.median / e.lists).toFixed(2)} |`);
  console.log('\n## Recovery check (K=4, pubsub+log, barriers)\n');
  console.log(
    `Agent 1's subscriber killed during ${recovery.barriers} barriers: it re-subscribed and read ${recovery.recovered} missed message(s) from the log ` +
      `(${recovery.gaps} gap(s) seen on live messages; ${recovery.short} PUBLISH(es) reached fewer than 4 agents); every barrier completed with the right result on every agent; slowest barrier ${fmt(recovery.slowest)}.\n`,
  );
  console.log('## 8 MiB messages and the pubsub output buffer limit\n');
  console.log(`client-output-buffer-limit: \`${buffers.limits}\`\n`);
  buffers.bursts.forEach((b, trial) =>
    console.log(
      `- Root running ahead (trial ${trial + 1}): ${b.messages} × 8 MiB PUBLISHed back to back to 8 reading subscribers: receivers per PUBLISH ${b.receivers.join(',')}; ` +
        `messages received per subscriber ${b.received.join(',')}; subscribers dropped by Redis: ${b.dropped}; ${b.millis.toFixed(0)} ms.`,
    ),
  );
  const s = buffers.slow;
  console.log(
    `- One subscriber not reading: after each 8 MiB PUBLISH its omem was ${s.steps.map((x) => (x.omem === null ? 'gone' : `${x.omem} B`)).join(' → ')}` +
      ` (soft limit ${buffers.limits.split('pubsub ')[1]?.split(' ')[1]} B)` +
      `; receivers ${s.steps.map((x) => x.receivers).join(',')}; dropped by Redis: ${s.dropped ? 'yes' : 'no'}; the other subscriber received ${s.liveReceived}.`,
  );
}

let failed = false;
process.once('SIGINT', () => cleanup().finally(() => process.exit(130)));
try {
  await main();
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
