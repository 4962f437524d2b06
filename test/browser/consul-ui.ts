import express from 'express';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import type { ConsulClient } from '../../src/consul/consul-client';
import { aggregateStatus } from '../support/consul-reads';
import { waitFor } from '../../harness/wait-for';

// The page functions below run inside Chromium; the project compiles without the DOM lib, so this
// module declares the little of it they touch.
interface PageElement {
  readonly innerText: string;
  readonly textContent: string | null;
  readonly className: string;
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  readonly body: PageElement;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};

/** Debian's `chromium` package; CHROMIUM_PATH points elsewhere. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium with a fresh profile; `close()` quits it and removes the profile. */
export interface ChromiumSession {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Starts Debian's Chromium through puppeteer-core; fails with the install command when it is missing. */
export async function launchChromium(): Promise<ChromiumSession> {
  if (!existsSync(chromiumPath))
    throw new Error(
      `Chromium not found at ${chromiumPath}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  const userDataDir = mkdtempSync(join(tmpdir(), 'express-consul-chromium-'));
  try {
    const browser = await puppeteer.launch({
      executablePath: chromiumPath,
      headless: true,
      userDataDir,
      defaultViewport: { width: 1280, height: 800 },
      // Root needs --no-sandbox; the rest keeps Chromium from calling home (no traffic off loopback)
      // and from filling the small /dev/shm of containers.
      args: [
        '--no-sandbox',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    return {
      browser,
      close: async () => {
        await browser.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Opens `url` and waits until the rendered text contains every one of `texts`. The Consul UI keeps
 * blocking queries open, so "network idle" never comes; its text is the only honest signal.
 */
export async function openAndWaitForText(
  page: Page,
  url: string,
  texts: readonly string[],
  timeoutMs = 60_000,
): Promise<string> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  try {
    await page.waitForFunction(
      (wanted: readonly string[]) => wanted.every((t) => document.body.innerText.includes(t)),
      { timeout: timeoutMs, polling: 250 },
      texts,
    );
  } catch (error) {
    const seen = await page.evaluate(() => document.body.innerText).catch(() => '(page gone)');
    throw new Error(
      `${url} never showed ${JSON.stringify(texts)} within ${timeoutMs} ms; it showed:\n${seen}`,
      { cause: error },
    );
  }
  return page.evaluate(() => document.body.innerText);
}

/** Starts `count` instances of `name` on 127.0.0.1, each with a real HTTP check every second. */
export async function startFleet(
  name: string,
  count: number,
  consulAddress?: string,
): Promise<ExpressConsul[]> {
  const fleet: ExpressConsul[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      const app = express();
      const consul = expressConsul(app, {
        service: {
          name,
          tags: ['example'],
          meta: { instance: `${name}-${i}` },
          check: { intervalMs: 1_000 },
        },
        ...(consulAddress !== undefined && { consul: { address: consulAddress } }),
        metrics: false,
        shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
      });
      app.get('/', (_req, res) => void res.json({ message: `Hello from ${name}-${i}` }));
      await consul.listen(0, '127.0.0.1');
      fleet.push(consul);
    }
  } catch (error) {
    await Promise.all(fleet.map((consul) => consul.close()));
    throw error;
  }
  return fleet;
}

/** The services page's row for `service`: the state class of its health icon and its detail line. */
export async function serviceRow(
  page: Page,
  service: string,
): Promise<{ health: string; detail: string } | undefined> {
  return page.evaluate((name: string) => {
    const link = Array.from(document.querySelectorAll('li a')).find(
      (a) =>
        a.getAttribute('href')?.endsWith(`/services/${name}`) && a.textContent?.trim() === name,
    );
    const row = link?.closest('li');
    if (!row) return undefined;
    return {
      health: row.querySelector('.header dl')?.className ?? '',
      detail: row.querySelector('.detail')?.innerText ?? '',
    };
  }, service);
}

/** Resolves once Consul lists exactly `count` instances of `service`, every one passing. */
export async function waitForPassing(
  consul: ConsulClient,
  service: string,
  count: number,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `${count} ${service} instances passing in Consul`,
    async () => {
      const { data } = await consul.healthService(service);
      return data.length === count && data.every((e) => aggregateStatus(e) === 'passing')
        ? true
        : undefined;
    },
    { timeoutMs },
  );
}
