import { ServiceWatcher } from '../watch/service-watcher';
import type { InvalidInstanceEvent, ServiceChangeEvent, ServiceInstance } from '../index';
import type { Command, CommandContext } from './command';
import { printJson, withConsul } from './command';
import { readInstances } from './consul-reads';
import { healthTone, paint } from './table';
import { terminalSafe } from './terminal-safe';

/** What changed between two lists of instances, by identity. */
interface Difference {
  readonly added: readonly ServiceInstance[];
  readonly removed: readonly ServiceInstance[];
  readonly changed: readonly { before: ServiceInstance; after: ServiceInstance }[];
}

function difference(event: ServiceChangeEvent): Difference {
  const before = new Map(event.previous.map((i) => [i.id, i]));
  const after = new Map(event.instances.map((i) => [i.id, i]));
  return {
    added: event.instances.filter((i) => !before.has(i.id)),
    removed: event.previous.filter((i) => !after.has(i.id)),
    changed: event.instances.flatMap((i) => {
      const old = before.get(i.id);
      return old && JSON.stringify(old) !== JSON.stringify(i) ? [{ before: old, after: i }] : [];
    }),
  };
}

function describeInstance(instance: ServiceInstance, colour: boolean): string {
  const health = paint(instance.status, healthTone(instance.status), colour);
  return `${terminalSafe(`${instance.id} ${instance.address}:${instance.port}`)} ${health} weight ${instance.weight}`;
}

function printChange(context: CommandContext, event: ServiceChangeEvent): void {
  const { io, json } = context;
  const diff = difference(event);
  const time = new Date().toISOString();
  if (json) {
    printJson(io, {
      time,
      service: event.service,
      index: event.index,
      instances: event.instances,
      added: diff.added.map((i) => i.id),
      removed: diff.removed.map((i) => i.id),
      changed: diff.changed.map((c) => c.after.id),
    });
    return;
  }
  const parts = [
    ...diff.added.map((i) => `+ ${describeInstance(i, io.colour)}`),
    ...diff.removed.map((i) => paint(`- ${i.id}`, 'red', io.colour)),
    ...diff.changed.map((c) => `~ ${describeInstance(c.after, io.colour)}`),
  ];
  io.out(
    `${paint(time, 'dim', io.colour)} ${terminalSafe(event.service)} index ${event.index}: ` +
      `${event.instances.length} passing or warning | ${parts.join(' | ')}`,
  );
}

/** One line per registration the library leaves out, so an operator sees why it gets no traffic. */
function printLeftOut(context: CommandContext, event: InvalidInstanceEvent): void {
  const { io, json } = context;
  const time = new Date().toISOString();
  if (json) {
    printJson(io, {
      time,
      service: event.service,
      leftOut: {
        node: event.node,
        serviceId: event.serviceId,
        reason: event.reason,
        detail: event.detail,
      },
    });
    return;
  }
  io.out(
    `${paint(time, 'dim', io.colour)} ${terminalSafe(event.service)} ` +
      paint(
        `! ${terminalSafe(`${event.node}/${event.serviceId}`)} left out (${event.reason}): ${terminalSafe(event.detail)}`,
        'red',
        io.colour,
      ),
  );
}

/**
 * `express-consul watch NAME`: follows a service with the library's ServiceWatcher (blocking
 * queries) and prints one line per change until Ctrl-C. Failures are reported on stderr while the
 * watch keeps going, as the library does.
 */
export const watchCommand: Command = {
  name: 'watch',
  usage: 'NAME',
  summary: 'follow a service with blocking queries; one line per change until Ctrl-C',
  arity: 1,
  async run(context) {
    const { args, io, signal } = context;
    const service = args[0]!;
    await withConsul(async (consul) => {
      // Unknown service, ACL or unreachable Consul end the command at once with their exit code.
      await readInstances(consul, service, signal);
      const watcher = new ServiceWatcher(consul, service, { passingOnly: false });
      try {
        watcher.onChange((event) => printChange(context, event));
        watcher.onInvalidInstance((event) => printLeftOut(context, event));
        watcher.onError((event) =>
          io.err(
            terminalSafe(
              `watch of '${service}' failed (${event.consecutiveErrors} in a row, retrying in ${event.retryInMs} ms): ${event.error.message}`,
            ),
          ),
        );
        watcher.start();
        // The library unrefs its timers so it never holds a process open; the CLI wants exactly
        // that until Ctrl-C, so a ref'd timer keeps it alive between queries.
        const keepAlive = setInterval(() => undefined, 60_000);
        try {
          if (!signal.aborted)
            await new Promise<void>((resolve) =>
              signal.addEventListener('abort', () => resolve(), { once: true }),
            );
        } finally {
          clearInterval(keepAlive);
        }
      } finally {
        await watcher.close();
      }
    });
  },
};
