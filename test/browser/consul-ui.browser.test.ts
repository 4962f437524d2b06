import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'puppeteer-core';
import type { ExpressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import {
  launchChromium,
  openAndWaitForText,
  serviceRow,
  startFleet,
  waitForPassing,
} from './consul-ui';
import type { ChromiumSession } from './consul-ui';

const screenshots = resolve(__dirname, 'screenshots');

// The Consul UI of the test agent, in Debian's Chromium, showing three my_service instances that
// expressConsul() registered with real HTTP checks.
describe('the Consul UI shows services registered by expressConsul()', () => {
  const consul = new ConsulClient();
  const ui = `${process.env.CONSUL_HTTP_ADDR!}/ui/dc1`;
  let chromium: ChromiumSession | undefined;
  let fleet: ExpressConsul[] = [];
  let page: Page;
  const rendered: string[] = [];
  /** openAndWaitForText, noting how long the UI took to show the expected text. */
  const open = async (path: string, texts: readonly string[]): Promise<string> => {
    const started = Date.now();
    const text = await openAndWaitForText(page, `${ui}${path}`, texts);
    rendered.push(`${path} ${Date.now() - started} ms`);
    return text;
  };

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    // Another suite's leftovers would make "3 instances" a lie; say so instead of miscounting.
    expect((await consul.healthService('my_service')).data).toEqual([]);
    fleet = await startFleet('my_service', 3);
    await waitForPassing(consul, 'my_service', 3, 20_000);
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
  }, 90_000);

  afterAll(async () => {
    process.stdout.write(
      `consul ui measured (page shown with the expected text): ${rendered.join('; ')}\n`,
    );
    await chromium?.close();
    await Promise.all(fleet.map((instance) => instance.close()));
    await consul.close();
  });

  it('lists my_service with 3 instances and passing health on the services page', async () => {
    await open('/services', ['my_service', '3 instances']);
    // The health column is an icon; its state is the class of the row's health list.
    expect(await serviceRow(page, 'my_service')).toEqual({
      health: 'passing',
      detail: expect.stringContaining('3 instances'),
    });
    await page.screenshot({ path: resolve(screenshots, 'consul-ui-services.png') });
  });

  it('lists the three instances with all service checks passing', async () => {
    const ids = fleet.map((instance) => instance.registration.serviceId);
    const text = await open('/services/my_service/instances', ids);
    expect(text.split('All service checks passing').length - 1).toBe(3);
    await page.screenshot({ path: resolve(screenshots, 'consul-ui-instances.png') });
  });

  it("shows an instance's HTTP check and the output Consul recorded from our health route", async () => {
    const instance = fleet[0]!;
    const id = instance.registration.serviceId;
    const { data } = await consul.healthService('my_service');
    const entry = data.find((e) => e.Service.ID === id)!;
    const check = entry.Checks.find((c) => c.CheckID === `service:${id}:http`)!;
    expect(check.Output).toMatch(/^HTTP GET http:\/\/127\.0\.0\.1:\d+\/health: 200 OK Output: /);
    const text = await open(
      `/services/my_service/instances/${entry.Node.Node}/${id}/health-checks`,
      ['HTTP /health', `service:${id}:http`, check.Output!],
    );
    expect(text).toContain('{"status":"passing"');
    await page.screenshot({ path: resolve(screenshots, 'consul-ui-instance-checks.png') });
  });
});
