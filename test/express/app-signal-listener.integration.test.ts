import { startScript } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

// The signal contract with an app that listens to SIGTERM itself, in real processes: the app's
// listener hears the signal once (never our re-raise), its cleanup is not cut short, and the
// process ends with what a supervisor expects (143 = 128 + SIGTERM, or death by SIGTERM).

const FIXTURE = 'test/express/fixtures/own-signal-listener.ts';
const DRAIN_TIMEOUT_MS = 4_000;
/** The backstop: the drain deadline plus the handler's 750 ms exit grace, with room for a loaded machine. */
const EXIT_BOUND_MS = DRAIN_TIMEOUT_MS + 1_000;

async function signalAndWait(service: ChildService): Promise<{
  exitMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}> {
  const signalledAt = Date.now();
  service.child.kill('SIGTERM');
  let exitMs: number | undefined;
  void service.exited.then(() => {
    exitMs = Date.now() - signalledAt;
  });
  await waitFor('the service to exit', () => exitMs, {
    timeoutMs: EXIT_BOUND_MS + 10_000,
    intervalMs: 20,
  });
  return { exitMs: exitMs!, ...(await service.exited) };
}

describe("an app's own SIGTERM listener and the adapter's signal handler", () => {
  const children: ChildService[] = [];

  afterEach(async () => {
    for (const child of children) {
      if (child.child.exitCode === null && child.child.signalCode === null)
        child.child.kill('SIGKILL');
      await child.exited;
    }
    children.length = 0;
  });

  const start = (env: Record<string, string>): ChildService => {
    const service = startScript(FIXTURE, {
      SERVICE_NAME: uniqueService('own-listener'),
      DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
      ...env,
    });
    children.push(service);
    return service;
  };

  it('runs once, finishes its 500 ms flush, and the process exits 143 as soon as the app lets go', async () => {
    const service = start({ FLUSH_MS: '500', RELEASE_HANDLE: '1' });
    await service.next('listening');
    const exit = await signalAndWait(service);
    expect(await service.next('exit')).toMatchObject({
      code: 143,
      listenerRuns: 1,
      flushesDone: 1,
    });
    expect(exit).toMatchObject({ code: 143, signal: null });
    // Ended when the app's cleanup released its handle, not at the backstop.
    expect(exit.exitMs).toBeLessThan(DRAIN_TIMEOUT_MS);
  });

  it('with a handle the app never releases: its flush still completes, and the backstop exits 143', async () => {
    const service = start({ FLUSH_MS: '500', RELEASE_HANDLE: '0' });
    await service.next('listening');
    const exit = await signalAndWait(service);
    expect(await service.next('exit')).toMatchObject({
      code: 143,
      listenerRuns: 1,
      flushesDone: 1,
    });
    expect(exit).toMatchObject({ code: 143, signal: null });
    expect(exit.exitMs).toBeLessThan(EXIT_BOUND_MS);
  });

  it('two adapters in one process both finish their drain, then the process dies by SIGTERM', async () => {
    // No listener of the app's: the only listeners are the two adapters' handlers.
    const service = start({ OWN_LISTENER: '0', ADAPTERS: '2', HOOK_MS: '400' });
    await service.next('listening');
    const exit = await signalAndWait(service);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    // The first adapter's re-raised signal must not end the second one's drain.
    await expect(service.next('hook-done')).resolves.toMatchObject({ hooksDone: 1 });
    await expect(service.next('hook-done')).resolves.toMatchObject({ hooksDone: 2 });
    expect(exit.exitMs).toBeLessThan(EXIT_BOUND_MS);
  });
});
