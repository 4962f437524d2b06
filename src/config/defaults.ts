function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Every default of every option, nested like the options themselves; the resolvers read their
 * defaults from here, so this object is the documentation. Options without a default (undefined
 * means "none" or "Consul's own") are not listed. Durations are in ms. Frozen.
 */
export const DEFAULTS = deepFreeze({
  service: {
    tags: [] as readonly string[],
    meta: {},
    check: {
      type: 'http',
      intervalMs: 10_000,
      /** Capped at intervalMs when that is shorter. */
      timeoutMs: 5_000,
      deregisterCriticalAfterMs: 300_000,
      tls: { verify: true },
    },
  },
  health: {
    path: '/health',
    indicatorTimeoutMs: 2_000,
  },
  shutdown: {
    handleSignals: true,
    signals: ['SIGTERM', 'SIGINT'] as readonly NodeJS.Signals[],
    mode: 'deregister',
    propagationDelayMs: 2_000,
    /** Raised to propagationDelayMs + 1000 when that is longer. */
    drainTimeoutMs: 15_000,
  },
  registration: {
    watchWaitMs: 30_000,
    retryBaseMs: 250,
    retryMaxMs: 4_000,
  },
  metrics: {
    prefix: 'express_consul_',
  },
  consul: {
    /** Used when neither `address` nor CONSUL_HTTP_ADDR is set. */
    address: 'http://127.0.0.1:8500',
    requestTimeoutMs: 5_000,
    /** Or EXPRESS_CONSUL_MAX_CONNECTIONS; see ConnectionBudget for the split. */
    maxConnections: 32,
    /**
     * 256 MiB: a real health entry (one HTTP check plus the node's) is about 2.7 KB, so this holds
     * a 50,000-instance answer with room to spare, and stays below V8's longest string.
     */
    maxResponseBytes: 256 * 1024 * 1024,
    tls: { verify: true },
    /** Offered to https agents only; plain http stays HTTP/1.1. */
    http2: true,
  },
  discovery: {
    watch: {
      waitMs: 60_000,
      /** maxMs is raised to baseMs when that is longer. */
      backoff: { baseMs: 250, maxMs: 10_000 },
      // With UPDATE_BURST (4): at most 4 queries back to back, 20 per second sustained, per watch.
      minUpdateIntervalMs: 50,
      pollRatePerSecond: 200,
      pollRefreshMs: 30_000,
      // The check watch's answer lists every check of the datacenter: twice a second at most.
      checkWatchIntervalMs: 500,
    },
    client: {
      passingOnly: true,
      stale: false,
      cached: false,
      balancer: 'round-robin',
      balancerOptions: {
        slowStartMs: 0,
        slowStartFloor: 0.1,
        virtualNodes: 100,
        scaleByWeight: false,
      },
      timeoutMs: 10_000,
      /** Raised to timeoutMs when that is longer. */
      deadlineMs: 30_000,
      maxAttempts: 3,
      /** maxMs is raised to baseMs when that is longer. */
      retryBackoff: { baseMs: 25, maxMs: 250 },
      connectTimeoutMs: 1_000,
      readyTimeoutMs: 2_000,
      outlierDetection: {
        consecutiveFailures: 5,
        baseEjectionMs: 30_000,
        maxEjectionMs: 300_000,
        maxEjectionPercent: 50,
        panicThresholdPercent: 50,
      },
      connectionsPerInstance: 32,
      keepAliveTimeoutMs: 4_000,
      bodyTimeoutMs: 30_000,
      maxRetryAfterMs: 2_000,
      tls: { verify: true },
    },
    /** A `fetch()` service nobody called this long is released; 0: never. */
    idleTimeoutMs: 600_000,
    /** Services watched at once, those in `discovery.services` not counted. */
    maxServices: 256,
    /** Also each service's own budget unless it sets `retryBudget`. */
    retryBudget: {
      ratio: 0.2,
      windowMs: 10_000,
      minRetriesPerSecond: 10,
    },
  },
  /** `consul.config(key, ...)` and `createConfig()`. */
  kvConfig: {
    format: 'json',
    /** How long `ready()` waits for a first good value before the default or an error. */
    readyTimeoutMs: 5_000,
    waitMs: 60_000,
    backoff: { baseMs: 250, maxMs: 10_000 },
    minUpdateIntervalMs: 100,
    stale: false,
  },
  /** `consul.leader(name, ...)` and `consul.lock(key)`. */
  leader: {
    /** Consul's LockDelay: after a session is invalidated, nobody may take its locks for this long. */
    lockDelayMs: 15_000,
    /** KV prefix of leader keys: `service/NAME/leader/ELECTION`. */
    keyPrefix: 'service',
    /** Wait before contending again after a failure (jittered, doubled up to maxMs). */
    retry: { baseMs: 250, maxMs: 4_000 },
  },
} as const);
