import { ConsulClient, createDiscovery } from '../src';
import { ConsulAgent } from '../tools/consul-agent';
import { startTargetFleet } from './request/target-fleet';
import { Pool } from 'undici';
import { attempt } from '../src/client/attempt';
async function main() {
  const agent = await ConsulAgent.start();
  const fleet = await startTargetFleet(3);
  const consul = new ConsulClient({ address: agent.address });
  for (const [i, port] of fleet.ports.entries()) await consul.registerService({ Name: 't', ID: `t-${i}`, Address: '127.0.0.1', Port: port });
  const d = createDiscovery({ consul: { address: agent.address } });
  const d2 = createDiscovery({ consul: { address: agent.address }, metrics: false });
  const c = d.service('t'); await c.ready();
  const c2 = d2.service('t'); await c2.ready();
  const pools = fleet.ports.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: 32 }));
  let next = 0;
  const modes: Record<string, () => Promise<void>> = {
    pool: async () => { const r = await pools[next++ % 3]!.request({ method: 'GET', path: '/' }); await r.body.text(); },
    helper: async () => { const r = await c.request({ path: '/' }); await r.body.text(); },
    rawroute: async () => { const route = (c as any).table.pick(undefined, undefined); const r = await route.pool.request({ method: 'GET', path: '/', headers: {}, body: null, signal: null, headersTimeout: 10000 }); await r.body.text(); },
    attemptonly: async () => { const route = (c as any).table.pick(undefined, undefined); const o: any = await attempt(route.pool, { method: 'GET', path: '/', headers: {}, body: null, signal: undefined, undiciSignal: undefined }, 10000, false, undefined); await o.response.body.text(); },
    nometrics: async () => { const r = await c2.request({ path: '/' }); await r.body.text(); },
  };
  const best: Record<string, number> = {};
  for (let round = 0; round < Number(process.env.ROUNDS ?? 6); round++) {
    for (const [mode, call] of Object.entries(modes)) {
      const cpu = process.cpuUsage(); let n = 0;
      await Promise.all(Array.from({ length: 32 }, async () => { while (n < 20000) { n++; await call(); } }));
      const u = process.cpuUsage(cpu); const us = (u.user + u.system) / n;
      if (round > 0) best[mode] = Math.min(best[mode] ?? Infinity, us);
    }
  }
  for (const [m, v] of Object.entries(best)) console.log(m, v.toFixed(2), (v / best.pool!).toFixed(3));
  await d.close(); await d2.close(); await Promise.all(pools.map((p) => p.close())); await consul.close(); await fleet.stop(); await agent.stop();
}
main();
