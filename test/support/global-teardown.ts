/** Stops the run's dev agent. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__CONSUL_AGENT__?.stop();
  globalThis.__CONSUL_AGENT__ = undefined;
}
