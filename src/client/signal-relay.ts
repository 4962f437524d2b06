import { setMaxListeners } from 'node:events';

/** One relay per caller signal, alive exactly as long as the caller's signal is. */
const relays = new WeakMap<AbortSignal, AbortSignal>();

/**
 * The signal to hand to undici in place of a caller's `signal`: it aborts when, and with the
 * reason that, `signal` aborts. However many calls share the caller's signal (an app-wide shutdown
 * signal, say) and however many run at once, the caller's signal carries one listener of ours;
 * undici's per-request listeners sit on the relay, which we own and so may free from Node's
 * 10-listener warning. Each undici listener leaves with its response body, so nothing grows.
 */
export function relayOf(signal: AbortSignal): AbortSignal {
  let relay = relays.get(signal);
  if (relay === undefined) {
    const controller = new AbortController();
    relay = controller.signal;
    setMaxListeners(0, relay);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    relays.set(signal, relay);
  }
  return relay;
}
