// The multi-host harness itself: isolation between hosts, and nothing left behind, after close(),
// after a failed start, and after a run that was killed (removed by the next start). Needs root.
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { ConsulUnavailableError } from '../../src/errors';
import { hostsUnsupportedReason, startHosts } from '../../src/testing';
import { isRunning } from '../../src/testing/host-network';
import { waitFor } from '../../harness/wait-for';
import type { StartedHosts } from '../../src/testing';

const unsupported = hostsUnsupportedReason();
const describeHosts = unsupported === undefined || process.env.CI ? describe : describe.skip;
if (unsupported !== undefined && !process.env.CI)
  process.stdout.write(`[hosts] skipped: ${unsupported}\n`);

/** Namespaces, links in this namespace and temporary directories of the harness right now. */
function harnessState(): { namespaces: string[]; links: string[]; dirs: string[] } {
  const names = (text: string) => text.split('\n').map((line) => line.split(' ')[0] ?? '');
  return {
    namespaces: names(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).filter((n) =>
      n.startsWith('ech-'),
    ),
    links: [
      ...execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).matchAll(
        /^\d+: ([^:@\s]+)/gm,
      ),
    ]
      .map((m) => m[1]!)
      .filter((n) => n.startsWith('ech-')),
    dirs: readdirSync(tmpdir()).filter((n) => n.startsWith('ech-')),
  };
}

const ofPid = (pid: number) => (name: string) =>
  name.startsWith(`ech-${pid.toString(36).padStart(5, '0')}`);

describeHosts('startHosts: hosts as network namespaces, an agent on each', () => {
  let hosts: StartedHosts | undefined;

  afterAll(async () => {
    await hosts?.close();
  }, 60_000);

  it('gives each host its own address and loopback, reachable from each other and from the test', async () => {
    hosts = await startHosts({ clients: 1 });
    const [h1, h2] = hosts.hosts as [StartedHosts['hosts'][0], StartedHosts['hosts'][0]];
    expect([h1.role, h2.role]).toEqual(['server', 'client']);
    expect(hosts.subnet).toMatch(/^10\.213\.\d{1,3}\.0\/24$/);
    process.stdout.write(`[hosts] 2 hosts with a leader in ${hosts.startupMs} ms\n`);

    // Inside h2: its own eth0 address only, and its agent on Consul's default 127.0.0.1:8500.
    const script = `
      const os = require('node:os');
      fetch('http://127.0.0.1:8500/v1/agent/self').then((r) => r.json()).then((self) => {
        const addresses = Object.values(os.networkInterfaces()).flat().filter((i) => i.family === 'IPv4').map((i) => i.address).sort();
        console.log(JSON.stringify({ addresses, node: self.Config.NodeName, member: self.Member.Addr }));
      });`;
    const probe = hosts.host('h2').run(process.execPath, ['-e', script]);
    const line = await probe.waitForLine(/^\{/, { timeoutMs: 30_000 });
    expect(JSON.parse(line)).toEqual({
      addresses: ['127.0.0.1', h2.address].sort(),
      node: 'h2',
      member: h2.address,
    });
    expect(await probe.exited).toEqual({ code: 0, signal: null });

    // A server on h1's loopback: h1 reaches it, h2's loopback is another one.
    const server = h1.run(process.execPath, [
      '-e',
      "require('node:http').createServer((q, s) => s.end('h1')).listen(9099, '127.0.0.1', () => console.log('up'))",
    ]);
    await server.waitForLine(/^up$/);
    const get = `fetch('http://127.0.0.1:9099/').then((r) => r.text(), (e) => 'refused:' + e.cause?.code).then(console.log)`;
    const fromH1 = h1.run(process.execPath, ['-e', get]);
    const fromH2 = hosts.host('h2').run(process.execPath, ['-e', get]);
    expect(await fromH1.waitForLine(/./)).toBe('h1');
    expect(await fromH2.waitForLine(/./)).toBe('refused:ECONNREFUSED');
    // The test reaches every host's agent at the host's address.
    const members = (await (await fetch(`${h2.consulAddress}/v1/agent/members`)).json()) as {
      Name: string;
      Status: number;
    }[];
    expect(members.map((m) => [m.Name, m.Status]).sort()).toEqual([
      ['h1', 1],
      ['h2', 1],
    ]);
    const exit = await server.stop();
    expect(exit.signal).toBe('SIGTERM');
  }, 120_000);

  it('close() stops every process and removes namespaces, links and data directories', async () => {
    const running = hosts!;
    const sleeper = running.host('h2').run('sleep', ['600']);
    const tagged = (running.hosts[0]!.namespace.match(/^ech-[0-9a-z]{6}/) ?? [''])[0];
    const mine = (name: string) => name.startsWith(tagged);
    const before = harnessState();
    expect(before.namespaces.filter(mine).sort()).toEqual(
      [`${tagged}-h1`, `${tagged}-h2`, `${tagged}-sw`].sort(),
    );
    expect(before.links.filter(mine)).toEqual([`${tagged}-r`]);
    expect(before.dirs.filter(mine)).toHaveLength(2);
    await running.close();
    await running.close();
    expect(await sleeper.exited).toEqual({ code: null, signal: 'SIGTERM' });
    const after = harnessState();
    expect([after.namespaces, after.links, after.dirs].map((list) => list.filter(mine))).toEqual([
      [],
      [],
      [],
    ]);
    expect(() => running.host('h1').run('true', [])).toThrow(/closed/);
    hosts = undefined;
  }, 60_000);

  it('a start-up that fails (the agent exits) removes what it created and says why', async () => {
    const before = harnessState();
    // The readiness polls go through the global fetch: counted, to see that they stop.
    const polls = jest.spyOn(globalThis, 'fetch');
    try {
      const failure = await startHosts({
        clients: 0,
        binary: '/bin/false',
        startupTimeoutMs: 20_000,
      }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ConsulUnavailableError);
      expect((failure as Error).message).toMatch(/agent of h1 exited during start-up \(code 1\)/);
      expect(harnessState()).toEqual(before);
      // The start gave up: its leader polls (one every 100 ms until the start-up timeout) must
      // have stopped with it, or they hold the caller's process for the 20 s. Watched for ten of
      // their intervals; this is the absence of an event, so a window is the only way to see it.
      const pollsAtFailure = polls.mock.calls.length;
      expect(pollsAtFailure).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(polls.mock.calls.length).toBe(pollsAtFailure);
    } finally {
      polls.mockRestore();
    }
  }, 60_000);

  it('the next start removes what a killed run left behind (and nothing of a live one)', async () => {
    const root = resolve(__dirname, '../..');
    // A run killed with SIGKILL: no afterAll, no 'exit' hook.
    const victim = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-e',
        "require('./src/testing').startHosts({ clients: 1 }).then((hosts) => { hosts.host('h2').run('sleep', ['600']); console.log('ready'); })",
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pid = victim.pid!;
    let printed = '';
    const ready = new Promise<void>((done) =>
      victim.stdout.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
        if (printed.includes('ready')) done();
      }),
    );
    const exited = new Promise((done) => victim.once('exit', done));
    await Promise.race([
      ready,
      exited.then(() =>
        Promise.reject(new Error('the victim run exited before its hosts were ready')),
      ),
    ]);
    victim.kill('SIGKILL');
    await exited;
    const left = harnessState();
    expect(left.namespaces.filter(ofPid(pid))).toHaveLength(3);
    // Still running in the dead run's h2 (agents may die of their closed pipes; sleep writes nothing).
    const orphans = await waitFor(
      "the orphaned sleep in the dead run's h2",
      () => {
        const namespace = left.namespaces.filter(ofPid(pid)).find((n) => n.endsWith('-h2'))!;
        const pids = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean)
          .map(Number);
        return pids.length > 0 ? pids : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(orphans.filter(isRunning)).toEqual(orphans);

    hosts = await startHosts({ clients: 0 });
    const after = harnessState();
    expect(
      [after.namespaces, after.links, after.dirs].map((list) => list.filter(ofPid(pid))),
    ).toEqual([[], [], []]);
    // Stopped: gone, or a zombie where this machine's init does not reap orphans.
    expect(orphans.filter(isRunning)).toEqual([]);
    // This run's own hosts are there: only the dead run's were removed.
    expect(after.namespaces.filter(ofPid(process.pid)).length).toBeGreaterThan(0);
  }, 180_000);
});
