import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { request } from 'undici';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';
import { runCli, startCli } from './run-cli';
import type { CliResult } from './run-cli';

// Whoever can register a service (or answer a status URL) chooses the strings the CLI prints:
// they must reach the terminal as text, never as control sequences, and --json must stay exact.
// Each CLI run is a fresh Node process compiling TypeScript on a shared 2-core machine: seconds each.
jest.setTimeout(120_000);

/** Clear screen, set the window title, CR/LF with a forged line, a bidi override, a C1 CSI, DEL. */
const EVIL = '\x1b[2J\x1b]0;pwned\x07\r\nFAKE-LINE\u202e\u2066\x9b31m\x7f';
/** Every character of EVIL a terminal would act on. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

function expectTerminalSafe(result: CliResult): void {
  for (const output of [result.stdout, result.stderr]) {
    // The trailing LF of each line is the CLI's own; nothing else may be a control.
    const body = output.replace(/\n/g, '');
    expect(body).not.toMatch(CONTROLS);
    expect(output).not.toMatch(/^FAKE-LINE/m);
  }
}

async function consulPut(path: string, body: unknown): Promise<void> {
  const answer = await request(`${process.env.CONSUL_HTTP_ADDR}${path}`, {
    method: 'PUT',
    body: JSON.stringify(body),
  });
  const text = await answer.body.text();
  if (answer.statusCode !== 200) throw new Error(`PUT ${path}: ${answer.statusCode} ${text}`);
}

describe('the CLI shows hostile Consul data as text', () => {
  const service = uniqueService('hostile');
  const node = `node${EVIL}`;
  const id = `id${EVIL}`;

  beforeAll(async () => {
    // A catalog registration on a node of its own: every field the CLI prints is the attacker's.
    await consulPut('/v1/catalog/register', {
      Node: node,
      Address: '127.0.0.1',
      Service: {
        Service: service,
        ID: id,
        Address: `10.0.0.1${EVIL}`,
        Port: 8080,
        Tags: [`tag${EVIL}`],
        Meta: { owner: `meta${EVIL}` },
      },
    });
  });
  afterAll(async () => {
    await consulPut('/v1/catalog/deregister', { Node: node });
  });

  it('instances: one row, every control escaped, and --json exact', async () => {
    const [text, json] = await Promise.all([
      runCli(['instances', service], {}, 60_000),
      runCli(['instances', service, '--json'], {}, 60_000),
    ]);
    expect(text.code).toBe(0);
    expectTerminalSafe(text);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(
      '\\x1b[2J\\x1b]0;pwned\\x07\\x0d\\x0aFAKE-LINE\\u202e\\u2066\\x9b31m\\x7f',
    );

    expect(json.code).toBe(0);
    expectTerminalSafe(json);
    const [instance] = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(instance).toMatchObject({
      id: `${node}/${id}`,
      node,
      serviceId: id,
      address: `10.0.0.1${EVIL}`,
      tags: [`tag${EVIL}`],
      meta: { owner: `meta${EVIL}` },
    });
  });

  it('services: hostile tags escaped, and --json exact', async () => {
    const [text, json] = await Promise.all([
      runCli(['services'], {}, 60_000),
      runCli(['services', '--json'], {}, 60_000),
    ]);
    expect(text.code).toBe(0);
    expectTerminalSafe(text);
    expect(text.stdout).toMatch(new RegExp(`^${service}\\s+1\\s+1\\s+0\\s+0\\s+tag\\\\x1b`, 'm'));
    expect(json.code).toBe(0);
    expectTerminalSafe(json);
    const summaries = JSON.parse(json.stdout) as { name: string; tags: string[] }[];
    expect(summaries.find((s) => s.name === service)?.tags).toEqual([`tag${EVIL}`]);
  });

  it.each([[[] as string[]], [['--json']]])(
    'watch %j: the change line is terminal-safe',
    async (flags) => {
      const watch = startCli(['watch', service, ...flags]);
      await watch.waitForStdout(/\n/, 60_000);
      watch.child.kill('SIGINT');
      const result = await watch.exited;
      expectTerminalSafe(result);
      if (flags.length > 0) {
        // Its address is not one (it carries controls): the library leaves the instance out and
        // the CLI says so, with the attacker's strings exact in JSON.
        const event = JSON.parse(result.stdout.split('\n')[0]!) as {
          leftOut: { node: string; serviceId: string; reason: string };
        };
        expect(event.leftOut).toMatchObject({ node, serviceId: id, reason: 'address' });
      } else {
        expect(result.stdout).toContain('! node\\x1b[2J');
        expect(result.stdout).toContain('left out (address)');
      }
    },
  );
});

describe('the CLI shows a hostile status answer as text', () => {
  let server: Server;
  let answer: { status: number; body: string };

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(answer.body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  const url = (): string =>
    `http://127.0.0.1:${(server.address() as { port: number }).port}/status`;

  const document = {
    service: { name: `gw${EVIL}`, id: `gw-1${EVIL}`, state: 'running', registration: 'registered' },
    upstreams: [
      {
        service: `up${EVIL}`,
        ready: true,
        stalenessMs: 0,
        balancer: `rr${EVIL}`,
        retryBudget: { available: 1, requests: 1, retries: 0, exhausted: 0 },
        ejected: 0,
        instances: [
          {
            id: `n/${EVIL}`,
            serviceId: EVIL,
            node: `n${EVIL}`,
            address: `a${EVIL}`,
            port: 1,
            health: `h${EVIL}`,
            weight: 1,
            inFlight: 0,
            latencyMs: null,
            ejectedForMs: null,
            slowStartShare: null,
          },
        ],
        traffic: {
          index: 1,
          refused: true,
          lastRefusal: `refusal${EVIL}`,
          routes: [{ match: `m${EVIL}`, next: `r${EVIL}` }],
          splits: [{ weight: 100, next: `s${EVIL}` }],
          targets: [{ id: `t${EVIL}`, instances: 0, failingOverTo: `f${EVIL}` }],
        },
      },
    ],
  };

  it('status: every string escaped; --json exact with no control in its bytes', async () => {
    answer = { status: 200, body: JSON.stringify(document) };
    const [text, json] = await Promise.all([
      runCli(['status', url()], {}, 60_000),
      runCli(['status', url(), '--json'], {}, 60_000),
    ]);
    expect(text.code).toBe(0);
    expectTerminalSafe(text);
    expect(text.stdout).toContain('gw\\x1b[2J');
    expect(text.stdout).toContain('gw-1\\x1b[2J');
    expect(text.stdout).toContain('balancer rr\\x1b[2J');
    for (const shown of ['refusal', 'm', 'r', 's', 't', 'f'])
      expect(text.stdout).toContain(`${shown}\\x1b[2J`);
    expect(json.code).toBe(0);
    expectTerminalSafe(json);
    expect(JSON.parse(json.stdout)).toEqual(document);
  });

  it('status: an answer that is not JSON is quoted terminal-safe on stderr', async () => {
    answer = { status: 200, body: `\u202e${EVIL}` };
    const result = await runCli(['status', url()], {}, 60_000);
    expect(result.code).toBe(5);
    expectTerminalSafe(result);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('status: a hostile URL typed by the user is not echoed raw either', async () => {
    await waitFor('the server', () => (server.listening ? true : undefined));
    const result = await runCli(['status', EVIL], {}, 60_000);
    expect(result.code).toBe(1);
    expectTerminalSafe(result);
  });
});
