import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ExpressConsulError } from '../errors';

const run = promisify(execFile);

/**
 * Every namespace, link and directory the harness creates starts with this, followed by the
 * creating process's pid (5 base-36 digits) and a counter: leftovers of a killed run are found by
 * the prefix and removed once their creator is gone, never while it still runs.
 */
export const HOSTS_PREFIX = 'ech-';

/** The private range the hosts' /24 is taken from: 10.213.X.0/24 with a random, unused X. */
const SUBNET_BASE = '10.213';

/** One host of a planned network. */
export interface PlannedHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
}

/**
 * The names and addresses of one network: a switch namespace holding the bridge (so bridged
 * traffic meets that namespace's empty firewall, not this machine's), one namespace per host with
 * a veth to the bridge, and a veth from this namespace to it for the test itself.
 */
export interface NetworkPlan {
  readonly tag: string;
  readonly subnet: string;
  readonly gatewayAddress: string;
  readonly switchNamespace: string;
  /** The link in this (the test's) namespace. */
  readonly rootLink: string;
  readonly hosts: readonly PlannedHost[];
}

let created = 0;

/** A tag no other network of this process nor of any live process uses. */
export function nextTag(pid = process.pid): string {
  const tag = `${pid.toString(36).padStart(5, '0')}${(created % 36).toString(36)}`;
  created += 1;
  return tag;
}

/** The pid that created a name with the harness prefix, or undefined for other names. */
export function ownerOf(name: string): number | undefined {
  const match = /^ech-([0-9a-z]{5})[0-9a-z](?:-|$)/.exec(name);
  return match ? parseInt(match[1]!, 36) : undefined;
}

/** Names and addresses for `hostNames` on 10.213.`octet`.0/24 (pure). */
export function planNetwork(tag: string, hostNames: readonly string[], octet: number): NetworkPlan {
  const net = `${SUBNET_BASE}.${octet}`;
  return {
    tag,
    subnet: `${net}.0/24`,
    gatewayAddress: `${net}.1`,
    switchNamespace: `${HOSTS_PREFIX}${tag}-sw`,
    rootLink: `${HOSTS_PREFIX}${tag}-r`,
    hosts: hostNames.map((name, i) => ({
      name,
      namespace: `${HOSTS_PREFIX}${tag}-${name}`,
      address: `${net}.${i + 2}`,
    })),
  };
}

async function ip(args: readonly string[]): Promise<string> {
  try {
    return (await run('ip', args, { encoding: 'utf8' })).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new ExpressConsulError(
      'EXPRESS_CONSUL_INVALID_STATE',
      `ip ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`,
      { cause: error },
    );
  }
}

/** Third octets of 10.213.X.0/24 this machine already has an address or a route in. */
async function usedOctets(): Promise<Set<number>> {
  const text = `${await ip(['-o', '-4', 'addr', 'show'])}\n${await ip(['-4', 'route', 'show', 'table', 'all'])}`;
  const used = new Set<number>();
  for (const match of text.matchAll(/\b10\.213\.(\d{1,3})\./g)) used.add(Number(match[1]));
  // A route to a wider prefix (10.0.0.0/8, 10.213.0.0/16) covers them all.
  if (/\b10\.(?:0\.0\.0\/[0-8]|213\.0\.0\/(?:1[0-6]|[0-9]))\b/.test(text))
    for (let octet = 0; octet < 256; octet++) used.add(octet);
  return used;
}

/** A random third octet, 1 to 254, that no address or route of this machine uses. */
export async function chooseOctet(random: () => number = Math.random): Promise<number> {
  const used = await usedOctets();
  const free = Array.from({ length: 254 }, (_, i) => i + 1).filter((octet) => !used.has(octet));
  if (free.length === 0)
    throw new ExpressConsulError(
      'EXPRESS_CONSUL_INVALID_STATE',
      `no free /24 left in ${SUBNET_BASE}.0.0/16 on this machine`,
    );
  return free[Math.floor(random() * free.length)]!;
}

/** Creates the namespaces, bridge and links of `plan`; on failure removes what it made. */
export async function createNetwork(plan: NetworkPlan): Promise<void> {
  const sw = plan.switchNamespace;
  try {
    await ip(['netns', 'add', sw]);
    await ip(['-n', sw, 'link', 'set', 'lo', 'up']);
    await ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const host of plan.hosts) {
      await ip(['netns', 'add', host.namespace]);
      // The veth's bridge end lives in the switch namespace only: no name of ours in this one.
      await ip([
        '-n',
        sw,
        'link',
        'add',
        host.name,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        host.namespace,
      ]);
      await ip(['-n', sw, 'link', 'set', host.name, 'master', 'br0', 'up']);
      await ip(['-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
      await ip(['-n', host.namespace, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', host.namespace, 'link', 'set', 'lo', 'up']);
    }
    await ip(['link', 'add', plan.rootLink, 'type', 'veth', 'peer', 'name', 'up0', 'netns', sw]);
    await ip(['-n', sw, 'link', 'set', 'up0', 'master', 'br0', 'up']);
    await ip(['addr', 'add', `${plan.gatewayAddress}/24`, 'dev', plan.rootLink]);
    await ip(['link', 'set', plan.rootLink, 'up']);
  } catch (error) {
    removeNetworkSync(plan);
    throw error;
  }
}

function namespacesOf(plan: NetworkPlan): string[] {
  return [...plan.hosts.map((host) => host.namespace), plan.switchNamespace];
}

/**
 * Whether `pid` still runs. A zombie does not: it has exited and holds nothing but its pid. Where
 * the machine's init does not reap (a micro-VM's agent as pid 1), a killed orphan stays a zombie
 * for good, so "the pid exists" is the wrong question.
 */
export function isRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== '';
}

/** How long removal waits for SIGKILLed processes to stop before it goes on regardless. */
const KILL_WAIT_MS = 2_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function killNamespaceSync(namespace: string): void {
  let pids: string;
  try {
    pids = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return;
  }
  const killed = pids.split('\n').filter(Boolean).map(Number);
  for (const pid of killed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  // SIGKILL is delivered, not awaited: wait (bounded) so that the caller sees them stopped.
  const deadline = Date.now() + KILL_WAIT_MS;
  while (killed.some(isRunning) && Date.now() < deadline) sleepSync(10);
}

function ipSync(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'pipe' });
  } catch {
    // Already gone: removal is best effort and idempotent.
  }
}

/**
 * Removes `plan`'s namespaces (killing what still runs in them) and links. Synchronous, so that a
 * process 'exit' hook can run it too. Idempotent.
 */
export function removeNetworkSync(plan: NetworkPlan): void {
  for (const namespace of namespacesOf(plan)) killNamespaceSync(namespace);
  for (const namespace of namespacesOf(plan)) ipSync(['netns', 'del', namespace]);
  // Deleting the switch namespace takes the root link's peer, hence the link; this is for a
  // switch namespace that was never made.
  ipSync(['link', 'del', plan.rootLink]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what runs killed before their clean-up left: namespaces, links in this namespace and
 * data directories whose name has the prefix and whose creating process no longer runs.
 * Returns what it removed.
 */
export async function removeLeftovers(
  alive: (pid: number) => boolean = isAlive,
): Promise<string[]> {
  const stale = (name: string): boolean => {
    const owner = ownerOf(name);
    return owner !== undefined && owner !== process.pid && !alive(owner);
  };
  const removed: string[] = [];
  const namespaces = (await ip(['netns', 'list']))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(stale);
  for (const namespace of namespaces) killNamespaceSync(namespace);
  for (const namespace of namespaces) {
    ipSync(['netns', 'del', namespace]);
    removed.push(`netns ${namespace}`);
  }
  const links = [...(await ip(['-o', 'link', 'show'])).matchAll(/^\d+: ([^:@\s]+)/gm)]
    .map((match) => match[1]!)
    .filter(stale);
  for (const link of links) {
    ipSync(['link', 'del', link]);
    removed.push(`link ${link}`);
  }
  for (const entry of readdirSync(tmpdir()).filter(stale)) {
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    removed.push(`directory ${join(tmpdir(), entry)}`);
  }
  return removed;
}
