// Separate "hosts" for multi-worker tests on one machine: each is a Linux network namespace
// joined to the root namespace by its own veth pair, with forwarders in this process that
// let it reach the Redis and Postgres listening on the root namespace's 127.0.0.1.
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, statfsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Every namespace this module names is `mpiaas-<owner pid>-<hex>-h<index>`. */
const NAMESPACE_PATTERN = /^mpiaas-(\d+)-[0-9a-f]+-h\d+$/;
/**
 * Root-side veths are `mpiaasv<slot>`: names fit IFNAMSIZ (15 characters) and carry the
 * slot, so the kernel's refusal of a duplicate name is the lock two runs need to never share
 * a subnet. The owning namespace's name is in the veth's alias.
 */
const VETH_PREFIX = 'mpiaasv';
/** Slot s is the /30 at 10.231.0.0 + 4s: .1 on the root side, .2 inside the namespace. */
const SLOTS = 16_384;
const INNER_INTERFACE = 'eth0';
/** Where `cut()` points the neighbour entries: a MAC no interface here has. */
const NOWHERE_MAC = '02:00:5e:00:de:ad';
const NSFS_MAGIC = 0x6e736673;

export interface NetnsHostsOptions {
  /** Port of the Redis on the root namespace's 127.0.0.1 that hosts reach. Default 6379. */
  redisPort?: number;
  /** Port of the Postgres on the root namespace's 127.0.0.1 that hosts reach. Default 5432. */
  postgresPort?: number;
}

/** Runs `ip`; rejects with its stderr. */
async function ip(args: readonly string[]): Promise<string> {
  try {
    return (await execFileAsync('ip', args, { encoding: 'utf8' })).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

async function ipJson<T>(args: readonly string[]): Promise<T[]> {
  const out = (await ip(['-j', ...args])).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

const ipv4ToInt = (address: string): number => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const intToIpv4 = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');

function overlaps(a: number, aBits: number, b: number, bBits: number): boolean {
  const bits = Math.min(aBits, bBits);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** IPv4 networks already on the root namespace's interfaces and routes, as [base, bits]. */
async function networksInUse(): Promise<Array<[number, number]>> {
  const used: Array<[number, number]> = [];
  const links = await ipJson<{ addr_info?: Array<{ family: string; local: string; prefixlen: number }> }>(['-4', 'addr']);
  for (const info of links.flatMap((l) => l.addr_info ?? [])) used.push([ipv4ToInt(info.local), info.prefixlen]);
  for (const route of await ipJson<{ dst: string }>(['-4', 'route', 'show', 'table', 'all'])) {
    const [address, bits] = route.dst.split('/');
    if (address && /^\d+\.\d+\.\d+\.\d+$/.test(address)) used.push([ipv4ToInt(address), bits === undefined ? 32 : Number(bits)]);
  }
  return used;
}

/** Whether the process that named a namespace is gone (then its namespace is debris). */
function ownerIsGone(namespace: string): boolean {
  const pid = Number(NAMESPACE_PATTERN.exec(namespace)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // /run is on disk on some machines: a name left from before a reboot is a plain file (no
  // namespace mounted on it, and older than the boot), and its pid may now be anyone's.
  try {
    const file = `/run/netns/${namespace}`;
    return statfsSync(file).type !== NSFS_MAGIC && statSync(file).mtimeMs < bootTimeMs();
  } catch {
    return false;
  }
}

/** When this machine booted (`btime` of /proc/stat), in ms. */
function bootTimeMs(): number {
  return Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0) * 1000;
}

/** SIGKILLs every process inside the namespace (children that left a process group too). */
async function killNamespaceProcesses(namespace: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const pids = (await ip(['netns', 'pids', namespace]).catch(() => '')).split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await delay(50);
  }
}

/** Forwards TCP from a root-side address to 127.0.0.1:`targetPort`. */
class Forwarder {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly port: number,
  ) {}

  static async start(address: string, preferredPort: number, targetPort: number): Promise<Forwarder> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => Forwarder.accept(client, targetPort, sockets));
    const listen = (port: number): Promise<number> =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => {
          server.off('error', reject);
          resolve((server.address() as { port: number }).port);
        });
      });
    // The preferred port keeps URLs familiar; if it is taken on this address, any free one.
    const port = await listen(preferredPort).catch(() => listen(0));
    return new Forwarder(server, sockets, port);
  }

  /**
   * Nothing here reacts to `cut()`: on a cut link the client's packets just vanish, so a
   * connection stalls (and resumes after `restore()`) as it would on a real network, rather
   * than being reset by us.
   */
  private static accept(client: Socket, targetPort: number, sockets: Set<Socket>): void {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One simulated host: a network namespace with its own link to the root namespace. */
export class NetnsHost {
  private readonly children = new Set<ChildProcess>();
  private readonly forwarders: Forwarder[] = [];
  private macs = { root: '', inner: '' };
  private redisPort = 0;
  private postgresPort = 0;

  private constructor(
    /** The network namespace's name (`ip netns exec <name> …`). */
    readonly name: string,
    /** The root-side veth. */
    readonly veth: string,
    /** The root-side address, where the forwarders listen: this host's way to the services. */
    readonly address: string,
    /** The namespace's own address on its veth. */
    readonly innerAddress: string,
  ) {}

  /** Creates the namespace and claims a free slot for its link (see VETH_PREFIX). */
  static async create(name: string, options: NetnsHostsOptions): Promise<NetnsHost> {
    await ip(['netns', 'add', name]);
    let host: NetnsHost | undefined;
    try {
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
      host = await NetnsHost.link(name);
      host.redisPort = await host.forward(options.redisPort ?? 6379);
      host.postgresPort = await host.forward(options.postgresPort ?? 5432);
      return host;
    } catch (error) {
      await (host ? host.dispose() : NetnsHost.remove(name));
      throw error;
    }
  }

  private static async link(name: string): Promise<NetnsHost> {
    const used = await networksInUse();
    const start = Math.floor(Math.random() * SLOTS);
    for (let i = 0; i < SLOTS; i++) {
      const slot = (start + i) % SLOTS;
      const base = ipv4ToInt('10.231.0.0') + slot * 4;
      if (used.some(([network, bits]) => overlaps(base, 30, network, bits))) continue;
      const veth = `${VETH_PREFIX}${slot}`;
      try {
        await ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', INNER_INTERFACE, 'netns', name]);
      } catch (error) {
        if (/File exists/.test((error as Error).message)) continue;
        throw error;
      }
      await ip(['link', 'set', veth, 'alias', name]);
      const host = new NetnsHost(name, veth, intToIpv4(base + 1), intToIpv4(base + 2));
      await host.configure();
      return host;
    }
    throw new Error('no free /30 left in 10.231.0.0/16');
  }

  private async configure(): Promise<void> {
    await ip(['addr', 'add', `${this.address}/30`, 'dev', this.veth]);
    await ip(['link', 'set', this.veth, 'up']);
    await ip(['-n', this.name, 'addr', 'add', `${this.innerAddress}/30`, 'dev', INNER_INTERFACE]);
    await ip(['-n', this.name, 'link', 'set', INNER_INTERFACE, 'up']);
    const [root] = await ipJson<{ address: string }>(['link', 'show', this.veth]);
    const [inner] = await ipJson<{ address: string }>(['-n', this.name, 'link', 'show', INNER_INTERFACE]);
    this.macs = { root: root?.address ?? '', inner: inner?.address ?? '' };
    await this.setNeighbours(this.macs);
  }

  /**
   * Pins both ends' neighbour (ARP) entries. With the true MACs no ARP is ever needed; with
   * a MAC nobody has, every frame is discarded by the receiving veth while both links stay
   * up: the host is cut off the way a real network partition cuts it (see `cut()`).
   */
  private async setNeighbours(macs: { root: string; inner: string }): Promise<void> {
    await ip(['neigh', 'replace', this.innerAddress, 'lladdr', macs.inner, 'dev', this.veth, 'nud', 'permanent']);
    await ip(['-n', this.name, 'neigh', 'replace', this.address, 'lladdr', macs.root, 'dev', INNER_INTERFACE, 'nud', 'permanent']);
  }

  /** Redis as this host reaches it, through its forwarder. */
  get redisUrl(): string {
    return `redis://${this.address}:${this.redisPort}`;
  }

  /** `address:port` of this host's Postgres forwarder. */
  get postgresHostPort(): string {
    return `${this.address}:${this.postgresPort}`;
  }

  /**
   * Makes 127.0.0.1:`targetPort` of the root namespace reachable from this host; returns the
   * port to use on `address` (`targetPort` itself unless that is taken there).
   */
  async forward(targetPort: number, listenPort = targetPort): Promise<number> {
    const forwarder = await Forwarder.start(this.address, listenPort, targetPort);
    this.forwarders.push(forwarder);
    return forwarder.port;
  }

  /** `originalUrl` (a Postgres URL on 127.0.0.1) with host and port of this host's forwarder. */
  databaseUrl(originalUrl: string): string {
    const url = new URL(originalUrl);
    url.host = this.postgresHostPort;
    return url.toString();
  }

  /**
   * Runs a program inside the namespace. `ip netns exec` execs it, so the returned child's
   * pid is the program's own and `kill()` reaches it.
   */
  spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], options);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Cuts the host off: packets between it and the root namespace are dropped, both ways.
   * The links stay up, so nothing fails fast: new connections hang in SYN retries and
   * established ones stall, then resume on `restore()` thanks to TCP retransmission.
   */
  async cut(): Promise<void> {
    await this.setNeighbours({ root: NOWHERE_MAC, inner: NOWHERE_MAC });
  }

  /** Undoes `cut()`. */
  async restore(): Promise<void> {
    await this.setNeighbours(this.macs);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.forwarders.splice(0).map((f) => f.close()));
    const exited = [...this.children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.race([Promise.all(exited), delay(2_000)]);
    await NetnsHost.remove(this.name, this.veth);
  }

  /**
   * Kills what runs inside, then deletes the veth pair explicitly (a namespace that some
   * process still holds outlives `ip netns del`, and its veth with it) and the namespace.
   */
  static async remove(name: string, veth?: string): Promise<void> {
    await killNamespaceProcesses(name);
    if (veth) await ip(['link', 'del', veth]).catch(() => undefined);
    await ip(['netns', 'del', name]).catch(() => undefined);
  }
}

/**
 * Several simulated hosts for one test file. Needs root (see `supported()`); two of these
 * can exist at once (vitest runs files in parallel): names and subnets never collide.
 */
export class NetnsHosts {
  private constructor(
    /** Prefix of this run's namespace names, `mpiaas-<pid>-<hex>`. */
    readonly runId: string,
    readonly hosts: readonly NetnsHost[],
  ) {}

  /** Why these hosts cannot be made here, or undefined when they can. */
  static unsupportedReason(): string | undefined {
    if (process.platform !== 'linux') return 'network namespaces need Linux';
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return "iproute2's `ip` is not installed (scripts/test.sh installs iproute2)";
    return undefined;
  }

  static supported(): boolean {
    return NetnsHosts.unsupportedReason() === undefined;
  }

  /** Creates `count` hosts; on failure removes the ones already made. */
  static async create(count: number, options: NetnsHostsOptions = {}): Promise<NetnsHosts> {
    const reason = NetnsHosts.unsupportedReason();
    if (reason) throw new Error(reason);
    const runId = `mpiaas-${process.pid}-${randomBytes(3).toString('hex')}`;
    const hosts: NetnsHost[] = [];
    try {
      for (let i = 0; i < count; i++) hosts.push(await NetnsHost.create(`${runId}-h${i}`, options));
    } catch (error) {
      await Promise.all(hosts.map((host) => host.dispose()));
      throw error;
    }
    return new NetnsHosts(runId, hosts);
  }

  /** Kills everything spawned, closes the forwarders, deletes veths and namespaces. Idempotent. */
  async dispose(): Promise<void> {
    await Promise.all(this.hosts.map((host) => host.dispose()));
  }

  /**
   * Removes the namespaces and veths of runs whose process is gone (a crashed or killed
   * test). Those of live runs, such as a test file running in parallel, are left alone.
   * Returns the namespace names it cleaned up.
   */
  static async cleanupStale(): Promise<string[]> {
    const stale = (name: string | undefined): name is string => !!name && NAMESPACE_PATTERN.test(name) && ownerIsGone(name);
    const veths = (await ipJson<{ ifname: string; ifalias?: string }>(['link', 'show', 'type', 'veth'])).filter((l) =>
      l.ifname.startsWith(VETH_PREFIX),
    );
    const namespaces = (await ipJson<{ name: string }>(['netns', 'list'])).map((n) => n.name).filter(stale);
    const orphans = veths.filter((l) => stale(l.ifalias) && !namespaces.includes(l.ifalias));
    await Promise.all(orphans.map((l) => ip(['link', 'del', l.ifname]).catch(() => undefined)));
    await Promise.all(
      namespaces.map((name) => NetnsHost.remove(name, veths.find((l) => l.ifalias === name)?.ifname)),
    );
    return [...namespaces, ...orphans.map((l) => l.ifalias as string)];
  }
}
