// `npm run screenshots`: regenerates docs/images/consul-ui-services.png, the Consul UI screenshot in
// the README and docs/demo.md, from the real thing: a dev agent of our own, three my_service
// instances registered by expressConsul() with passing HTTP checks, and Debian's Chromium
// (apt-get install -y chromium).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConsulClient } from '../src/consul/consul-client';
import {
  launchChromium,
  openAndWaitForText,
  serviceRow,
  startFleet,
  waitForPassing,
} from '../test/browser/consul-ui';
import { startConsul } from '../src/testing';

const images = resolve(__dirname, '../docs/images');

async function main(): Promise<void> {
  const agent = await startConsul({ mode: 'binary', nodeName: 'express-consul-demo' });
  const consul = new ConsulClient({ address: agent.address });
  let fleet: Awaited<ReturnType<typeof startFleet>> = [];
  let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    fleet = await startFleet('my_service', 3, agent.address);
    chromium = await launchChromium();
    await waitForPassing(consul, 'my_service', 3, 30_000);
    const page = await chromium.browser.newPage();
    await openAndWaitForText(page, `${agent.address}/ui/dc1/services`, [
      'my_service',
      '3 instances',
    ]);
    const row = await serviceRow(page, 'my_service');
    if (row?.health !== 'passing')
      throw new Error(`my_service is not shown passing: ${JSON.stringify(row)}`);
    mkdirSync(images, { recursive: true });
    const file = resolve(images, 'consul-ui-services.png');
    await page.screenshot({ path: file, clip: { x: 0, y: 0, width: 1280, height: 440 } });
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await chromium?.close();
    await Promise.all(fleet.map((instance) => instance.close()));
    await consul.close();
    await agent.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `screenshots failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
