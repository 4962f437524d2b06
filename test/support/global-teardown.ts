/** Stops the run's dev agent (process or container). */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__CONSUL__?.stop();
  globalThis.__CONSUL__ = undefined;
}
