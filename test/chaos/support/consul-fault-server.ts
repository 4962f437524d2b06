// An HTTP server in front of the real Consul agent that forwards every request, except the health
// answers of one service, which it replaces by the garbage of the current `mode`.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { Pool } from 'undici';

/** What the health answers of the watched service are replaced with. */
export type FaultMode =
  /** Forwarded untouched. */
  | 'pass'
  /** A truncated JSON document. */
  | 'bad-json'
  /** Entries whose fields have the wrong types (a string port, a number address, ...). */
  | 'wrong-types'
  /** Entries without Node, Checks or the service's ID. */
  | 'missing-fields'
  /** An object where a list belongs. */
  | 'not-a-list'
  /** The real answer with X-Consul-Index 0 (a Consul bug the watcher must survive). */
  | 'index-zero'
  /** The real answer with X-Consul-Index 1, below any index seen before. */
  | 'index-backwards'
  /** 403 with Consul's permission-denied text. */
  | 'acl-403'
  /** 500 with Consul's no-leader text. */
  | 'status-500'
  /**
   * Valid JSON with {@link HUGE_ENTRIES} entries: the real ones, then copies of them under new
   * service IDs (same addresses, so every entry is reachable), with a rising index.
   */
  | 'huge';

/** Entries of a `huge` answer. */
export const HUGE_ENTRIES = 50_000;

const STATUS: Partial<Record<FaultMode, [number, string]>> = {
  'acl-403': [403, 'Permission denied: token lacks permission \'service:read\' on "svc"'],
  'status-500': [500, 'rpc error making call: No cluster leader'],
};

const GARBAGE: Partial<Record<FaultMode, string>> = {
  'bad-json': '[{"Node":{"Node":"n1","Address":"127.0.0.1"},"Service":{"ID":"a',
  'wrong-types': JSON.stringify([
    {
      // Addresses stay loopback ones: a client that trusts this answer must not leave the host.
      Node: { Node: 5, Address: '127.0.0.1' },
      Service: { ID: [], Service: 'x', Port: '1', Address: '127.0.0.1' },
      Checks: 'passing',
    },
  ]),
  'missing-fields': JSON.stringify([{ Service: { Service: 'x', Port: 1 } }]),
  'not-a-list': JSON.stringify({ Service: { ID: 'a' } }),
};

/** The fault server; `mode` may be changed at any time. */
export class ConsulFaultServer {
  mode: FaultMode = 'pass';
  /** Health queries of the watched service answered in each mode. */
  readonly answered = new Map<FaultMode, number>();
  /** Every request received: its URL and the X-Consul-Token header it carried. */
  readonly requests: { readonly url: string; readonly token: string | undefined }[] = [];
  /** When the last `huge` answer was written out (performance.now()). */
  hugeSentAt: number | undefined;

  private constructor(
    private readonly server: Server,
    private readonly agent: Pool,
    private readonly service: string,
    /** `http://127.0.0.1:PORT` */
    readonly address: string,
  ) {}

  /** Starts it on a free loopback port, in front of `agentAddress`, garbling `service`'s health. */
  static async start(agentAddress: string, service: string): Promise<ConsulFaultServer> {
    const agent = new Pool(agentAddress);
    let handler: (request: IncomingMessage, response: ServerResponse) => void = () => undefined;
    const server = createServer((request, response) => handler(request, response));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const fault = new ConsulFaultServer(server, agent, service, `http://127.0.0.1:${port}`);
    handler = (request, response) => {
      fault.handle(request, response).catch(() => response.destroy());
    };
    return fault;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.agent.destroy();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const token = request.headers['x-consul-token'];
    this.requests.push({ url: request.url ?? '', token: Array.isArray(token) ? token[0] : token });
    const watched = request.url?.startsWith(`/v1/health/service/${this.service}`) === true;
    const mode = watched ? this.mode : 'pass';
    if (watched) this.answered.set(mode, (this.answered.get(mode) ?? 0) + 1);
    const status = STATUS[mode];
    if (status !== undefined) {
      response.writeHead(status[0], { 'content-type': 'text/plain' });
      response.end(status[1]);
      return;
    }
    const garbage = GARBAGE[mode];
    if (garbage !== undefined) {
      // A plausible, rising index: only the body is wrong.
      response.writeHead(200, {
        'content-type': 'application/json',
        'x-consul-index': String(1_000_000 + (this.answered.get(mode) ?? 0)),
      });
      response.end(garbage);
      return;
    }
    const upstream = await this.agent.request({
      method: request.method as 'GET',
      path: request.url ?? '/',
      headers: request.headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? null : request,
    });
    const headers = { ...upstream.headers };
    if (mode === 'huge' && upstream.statusCode === 200) {
      const body = hugeAnswer((await upstream.body.json()) as { Service: { ID: string } }[]);
      headers['x-consul-index'] = String(2_000_000 + (this.answered.get(mode) ?? 0));
      delete headers['content-length'];
      delete headers['transfer-encoding'];
      response.writeHead(200, headers);
      response.end(body, () => (this.hugeSentAt = performance.now()));
      return;
    }
    if (mode === 'index-zero') headers['x-consul-index'] = '0';
    if (mode === 'index-backwards') headers['x-consul-index'] = '1';
    response.writeHead(upstream.statusCode, headers);
    for await (const chunk of upstream.body) response.write(chunk);
    response.end();
  }
}

/** {@link HUGE_ENTRIES} entries as JSON: `real` first, then copies of them under new service IDs. */
function hugeAnswer(real: { Service: { ID: string } }[]): string {
  if (real.length === 0) return '[]';
  const entries: unknown[] = [...real];
  for (let i = entries.length; i < HUGE_ENTRIES; i += 1) {
    const model = real[i % real.length]!;
    entries.push({ ...model, Service: { ...model.Service, ID: `${model.Service.ID}-copy-${i}` } });
  }
  return JSON.stringify(entries);
}
