import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** The metrics of KV configuration watches and leader elections; labels are keys and names the code chose. */
export interface ControlPlaneMetrics {
  readonly configUpdates: Counter<'key'>;
  readonly configRefused: Counter<'key' | 'problem'>;
  readonly configErrors: Counter<'key'>;
  readonly configLastGood: Gauge<'key'>;
  readonly leader: Gauge<'name'>;
  readonly leaderTransitions: Counter<'name' | 'to'>;
}

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  // prom-client refuses a second metric of one name; every user of a registry shares the first.
  return (
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] })
  );
}

function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Gauge<L> {
  return (
    (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge({ name, help, labelNames, registers: [registry] })
  );
}

/** The control-plane metrics of `registry` under `prefix` (default `express_consul_`), created on first use. */
export function controlPlaneMetrics(registry: Registry, prefix: string): ControlPlaneMetrics {
  return {
    configUpdates: counter(
      registry,
      `${prefix}config_updates_total`,
      'Configuration values from Consul KV applied.',
      ['key'],
    ),
    configRefused: counter(
      registry,
      `${prefix}config_refused_total`,
      'Configuration changes refused (missing, unparsable, invalid); the last good value was kept.',
      ['key', 'problem'],
    ),
    configErrors: counter(
      registry,
      `${prefix}config_watch_errors_total`,
      'Failed queries of configuration watches.',
      ['key'],
    ),
    configLastGood: gauge(
      registry,
      `${prefix}config_last_good_timestamp_seconds`,
      'When the configuration value in use was last confirmed by Consul, in seconds since the epoch.',
      ['key'],
    ),
    leader: gauge(
      registry,
      `${prefix}leader`,
      '1 while this process is the leader of the election, else 0.',
      ['name'],
    ),
    leaderTransitions: counter(
      registry,
      `${prefix}leader_transitions_total`,
      'Leadership gained (to="leader") and lost (to="follower").',
      ['name', 'to'],
    ),
  };
}
