import type { ConsulClient } from '../consul/consul-client';
import { POLL_CONNECTIONS, POLL_PIPELINING } from '../consul/connection-budget';
import { AbortedError } from '../errors';
import type { Logger } from '../logger';
import { Backoff } from '../resilience/backoff';
import { SLICED_APPLY_MIN_ENTRIES, runSliced, TimeSlicer } from '../consul/time-slicer';
import { decideIndex } from './blocking-index';
import { changedServices, NODE_CHECKS, summarizeChecks, summarizeInSteps } from './check-changes';
import type { CheckSummary } from './check-changes';
import { planSlots } from './slot-plan';
import type { SlotCandidate } from './slot-plan';
import { TokenBucket, UPDATE_BURST } from './token-bucket';
import type { ReadTurn, WatchTicket } from './watch-ticket';

/** Where the scheduler reads every check of a datacenter from. */
export type CheckStateSource = Pick<ConsulClient, 'healthStateAny'>;

/** Settings of a WatchScheduler, resolved (see the watch options for their meaning and defaults). */
export interface WatchSchedulerOptions {
  /** Connections the watches may hold at once (ConsulClient's `connectionBudget.watch`). */
  readonly connections: number;
  /**
   * The watch and poll lanes' shapes now (ConsulClient's `lanePlan`), read at every slot count:
   * over h2 a connection carries many blocking queries, and the protocol is learnt at the first
   * connection. Default: `connections` of HTTP/1.1, one blocking query each.
   */
  readonly lane?: () => WatchLane;
  /** Non-blocking reads per second of the services without a slot, at most. */
  readonly pollRatePerSecond: number;
  /** Each service without a slot is read at least this often, in ms, whatever the check watch says. */
  readonly pollRefreshMs: number;
  /** Least time between two answers of a datacenter's check watch in a churn, in ms (see follow). */
  readonly checkWatchIntervalMs: number;
  readonly waitMs: number;
  readonly minUpdateIntervalMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly now: () => number;
  readonly random: () => number;
  readonly delay: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
}

/** How the watches' connections carry blocking queries (see LanePlan). */
export interface WatchLane {
  /** Connections of the watch and poll lanes together. */
  readonly connections: number;
  /** Of them, the poll lane's (non-blocking reads only). */
  readonly pollConnections: number;
  /** Blocking queries one watch connection carries at once: 1 over HTTP/1.1, its streams over h2. */
  readonly streamsPerConnection: number;
}

/**
 * Reads of services without a slot that run at once: pipelined on the POLL_CONNECTIONS
 * connections of ConsulClient's poll lane (which the slots leave alone).
 */
const POLL_CONCURRENCY = POLL_CONNECTIONS * POLL_PIPELINING;
/** Largest share of a check-watch pause added at random (see follow). */
const CHECK_WATCH_JITTER = 0.25;
/** How often slots are re-planned from the usage counters, in ms. */
export const REBALANCE_INTERVAL_MS = 5_000;
/** After a 429, one connection of the budget comes back per this many ms without another. */
export const THROTTLE_RECOVERY_MS = 30_000;
/** Two 429s closer than this count as one (a burst of refusals shrinks the budget once). */
const THROTTLE_SHRINK_SPACING_MS = 2_000;

/** What a scheduler reports about itself (admin view, tests, benchmarks). */
export interface WatchSchedulerStatus {
  /** Watch connections the budget allows now (lower than configured after 429s). */
  readonly connections: number;
  /** Services with a blocking query of their own. */
  readonly slotted: number;
  /** Services read on change instead. */
  readonly polled: number;
  /** Non-blocking reads made for services without a slot. */
  readonly polledReads: number;
  /** Answers of the check watch (one blocking query per datacenter). */
  readonly checkWatchAnswers: number;
  /** 429 answers seen (Consul's per-client connection limit). */
  readonly throttled: number;
}

class Ticket implements WatchTicket {
  slotted = false;
  dirty = true;
  queued = false;
  released = false;
  movedAt: number | undefined;
  /** A non-blocking read of it is under way (its turn granted, not given back yet). */
  reading = false;
  /** A check index that read must bring back, else the service is read again (see markChanged). */
  awaitIndex = 0;
  lastReadAt = Number.NEGATIVE_INFINITY;
  rate = 0;
  lastUses = 0;
  slotAbort: AbortController | undefined;
  waiter: { resolve: (turn: ReadTurn) => void; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly scheduler: WatchScheduler,
    readonly key: string,
    readonly datacenter: string,
    readonly uses: () => number,
    readonly lastIndex: () => number,
  ) {}

  nextTurn(signal: AbortSignal): Promise<ReadTurn> {
    return this.scheduler.turn(this, signal);
  }

  release(): void {
    this.scheduler.release(this);
  }
}

/**
 * Shares the watch connections among every watched service, within the connection budget: the
 * most called services get a blocking query of their own (a "slot"); the others are followed by
 * one blocking query per datacenter on `/v1/health/state/any`, which answers on any check change
 * and names the service of each check, and are read (non-blocking, at a bounded rate) only when
 * their checks changed, or every `pollRefreshMs` at the latest. Slots move to the services called
 * most (usage counters, with hysteresis). A 429 (`limits.http_max_conns_per_client`) shrinks the
 * budget at once and it recovers one connection per THROTTLE_RECOVERY_MS.
 */
export class WatchScheduler {
  private readonly tickets = new Set<Ticket>();
  private readonly byService = new Map<string, Set<Ticket>>();
  private readonly queue: Ticket[] = [];
  /** The check watch of each datacenter with services to follow: its stop and its loop. */
  private readonly followers = new Map<
    string,
    { readonly stop: AbortController; readonly done: Promise<void> }
  >();
  private readonly abort = new AbortController();
  private readonly readRate: TokenBucket;
  /** Watch connections a 429 took away (given back one per THROTTLE_RECOVERY_MS). */
  private lost = 0;
  /** Blocking queries other loops keep on the watch lane (traffic management's watches). */
  private reservedElsewhere = 0;
  private inFlight = 0;
  /** Tickets holding a slot, counted as they move (counting them at each register was quadratic). */
  private slottedTickets = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastRebalanceAt: number;
  private lastThrottleAt = Number.NEGATIVE_INFINITY;
  private lastRecoveryAt = Number.NEGATIVE_INFINITY;
  private lastTickAt = Number.NEGATIVE_INFINITY;
  private throttleLogged = false;
  private counts = { polledReads: 0, checkWatchAnswers: 0, throttled: 0 };

  constructor(
    private readonly source: CheckStateSource,
    private readonly options: WatchSchedulerOptions,
  ) {
    this.readRate = new TokenBucket(
      Math.max(1, Math.ceil(options.pollRatePerSecond)),
      1_000 / options.pollRatePerSecond,
    );
    this.lastRebalanceAt = options.now();
    const tick = setInterval(() => this.tick(), 1_000);
    tick.unref();
    this.timers.push(tick);
  }

  /** A place for the watch of `service` (in `datacenter`, '' for the agent's own). */
  register(
    service: string,
    datacenter: string,
    uses: () => number,
    lastIndex: () => number,
  ): WatchTicket {
    const ticket = new Ticket(this, service.toLowerCase(), datacenter, uses, lastIndex);
    this.tickets.add(ticket);
    let same = this.byService.get(ticket.key);
    if (!same) this.byService.set(ticket.key, (same = new Set()));
    same.add(ticket);
    // First come, first slotted, until usage says otherwise.
    if (this.slottedCount() < this.slotCapacity()) {
      this.setSlotted(ticket, true);
    } else {
      this.ensureFollower(datacenter);
      // Over h2 the service past the last stream ends the "every service fits" plan: streams for
      // the check watch and the reads are freed now, else its first read waits on the client
      // until the next re-plan.
      if (this.slottedCount() > this.slotCapacity()) this.rebalance();
    }
    return ticket;
  }

  status(): WatchSchedulerStatus {
    const slotted = this.slottedCount();
    return {
      connections: this.connections(),
      slotted,
      polled: this.tickets.size - slotted,
      ...this.counts,
    };
  }

  /**
   * Keeps room for one blocking query a loop outside the scheduler holds on the watch lane (a
   * traffic-management watch), so that slotted watches never queue behind it: one slot fewer
   * until the returned function is called (idempotent).
   */
  reserveBlocking(): () => void {
    this.reservedElsewhere += 1;
    this.rebalance();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reservedElsewhere -= 1;
      if (!this.abort.signal.aborted) this.rebalance();
    };
  }

  /** Tells the scheduler about a failed watch read: a 429 shrinks the budget. */
  noteFailure(error: Error): void {
    if ((error as { status?: unknown }).status !== 429) return;
    this.counts.throttled += 1;
    const now = this.options.now();
    if (now - this.lastThrottleAt < THROTTLE_SHRINK_SPACING_MS) return;
    this.lastThrottleAt = now;
    const lane = this.lane();
    const before = this.connections();
    const after = Math.max(lane.pollConnections + 1, Math.floor(before / 2));
    this.lost = Math.max(0, lane.connections - after);
    if (!this.throttleLogged) {
      this.throttleLogged = true;
      this.options.logger.warn(
        { connections: after, before, configured: lane.connections },
        `express-consul: Consul refused a connection (429): this host holds more connections than the agent's limits.http_max_conns_per_client allows; watching within ${after} connections now. Lower consul.maxConnections (EXPRESS_CONSUL_MAX_CONNECTIONS) per process, or raise the agent's limit`,
      );
    }
    this.rebalance();
  }

  /** Stops the check watches and timers; every ticket's wait rejects. Idempotent. */
  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort(new AbortedError('WatchScheduler closed'));
    for (const timer of this.timers) clearInterval(timer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    const followers = [...this.followers.values()];
    for (const follower of followers) follower.stop.abort();
    await Promise.all(followers.map((follower) => follower.done));
  }

  /** @internal Ticket.nextTurn. */
  turn(ticket: Ticket, signal: AbortSignal): Promise<ReadTurn> {
    if (ticket.slotted) return Promise.resolve(this.blockingTurn(ticket));
    return new Promise<ReadTurn>((resolve, reject) => {
      const onAbort = (): void => {
        this.unqueue(ticket);
        ticket.waiter = undefined;
        reject(new AbortedError('watch closed', { cause: signal.reason }));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      ticket.waiter = {
        resolve: (turn) => {
          signal.removeEventListener('abort', onAbort);
          resolve(turn);
        },
        reject,
      };
      if (ticket.dirty) this.enqueue(ticket);
    });
  }

  /** @internal Ticket.release. */
  release(ticket: Ticket): void {
    if (ticket.released) return;
    ticket.released = true;
    // Its slot is free (the ticket keeps its flag: a late nextTurn still gets a blocking turn).
    if (ticket.slotted) this.slottedTickets -= 1;
    this.unqueue(ticket);
    ticket.slotAbort?.abort();
    this.tickets.delete(ticket);
    const same = this.byService.get(ticket.key);
    same?.delete(ticket);
    if (same?.size === 0) this.byService.delete(ticket.key);
    // A freed slot goes to the busiest service without one at the next tick.
  }

  private blockingTurn(ticket: Ticket): ReadTurn {
    const slotAbort = new AbortController();
    ticket.slotAbort = slotAbort;
    return { blocking: true, slotLost: slotAbort.signal, done: () => {} };
  }

  private slottedCount(): number {
    return this.slottedTickets;
  }

  private setSlotted(ticket: Ticket, slotted: boolean): void {
    if (ticket.slotted === slotted) return;
    ticket.slotted = slotted;
    this.slottedTickets += slotted ? 1 : -1;
  }

  private lane(): WatchLane {
    return (
      this.options.lane?.() ?? {
        connections: this.options.connections,
        pollConnections: POLL_CONNECTIONS,
        streamsPerConnection: 1,
      }
    );
  }

  /** Watch connections the budget allows now (fewer than the lane's after 429s). */
  private connections(): number {
    return Math.max(0, this.lane().connections - this.lost);
  }

  /**
   * Slots: the blocking queries the watch connections carry, less what following the services
   * without one takes: the check watches (one reserved even before there is one) and, where the
   * reads share the watch connections (h2, no poll connection of its own), POLL_CONCURRENCY
   * streams for them, and the blocking queries of other loops (reserveBlocking). Over h2, while
   * every service fits and no check watch runs, nothing else is reserved: 1,000 services on
   * 4 x 250 streams all block.
   */
  private slotCapacity(): number {
    const lane = this.lane();
    const blocking = Math.max(0, this.connections() - lane.pollConnections);
    const streams = Math.max(0, blocking * lane.streamsPerConnection - this.reservedElsewhere);
    const readsShareStreams = lane.pollConnections === 0;
    if (readsShareStreams && this.followers.size === 0 && this.tickets.size <= streams) {
      return streams;
    }
    const reserved = Math.max(1, this.followers.size) + (readsShareStreams ? POLL_CONCURRENCY : 0);
    return Math.max(0, streams - reserved);
  }

  /** The lanes changed shape (the agent declined h2): slots follow at once. */
  replan(): void {
    if (!this.abort.signal.aborted) this.rebalance();
  }

  private markDirty(ticket: Ticket): void {
    if (ticket.slotted || ticket.released) return;
    ticket.dirty = true;
    if (ticket.waiter) this.enqueue(ticket);
  }

  private enqueue(ticket: Ticket): void {
    if (!ticket.queued) {
      ticket.queued = true;
      this.queue.push(ticket);
    }
    this.pump();
  }

  private unqueue(ticket: Ticket): void {
    if (!ticket.queued) return;
    ticket.queued = false;
    const at = this.queue.indexOf(ticket);
    if (at >= 0) this.queue.splice(at, 1);
  }

  /** Grants reads to queued tickets within the concurrency and the read rate. */
  private pump(): void {
    if (this.abort.signal.aborted) return;
    while (this.inFlight < POLL_CONCURRENCY && this.queue.length > 0) {
      const now = this.options.now();
      const available = this.readRate.available(now);
      if (available < 1) {
        if (!this.pumpTimer) {
          const waitMs = Math.ceil(((1 - available) * 1_000) / this.options.pollRatePerSecond);
          this.pumpTimer = setTimeout(() => {
            this.pumpTimer = undefined;
            this.pump();
          }, waitMs);
          this.pumpTimer.unref();
        }
        return;
      }
      this.readRate.take(now);
      const ticket = this.queue.shift()!;
      ticket.queued = false;
      const waiter = ticket.waiter;
      ticket.waiter = undefined;
      if (!waiter) continue;
      ticket.dirty = false;
      ticket.reading = true;
      this.inFlight += 1;
      this.counts.polledReads += 1;
      let done = false;
      waiter.resolve({
        blocking: false,
        slotLost: undefined,
        done: (result = 'read') => {
          if (done) return;
          done = true;
          this.inFlight -= 1;
          ticket.reading = false;
          const awaited = ticket.awaitIndex;
          ticket.awaitIndex = 0;
          if (result === 'failed') {
            // Still due: the watcher's backoff, not the refresh period, decides the next read.
            ticket.dirty = true;
          } else {
            ticket.lastReadAt = this.options.now();
            // Answered before a check the check watch saw meanwhile: read again.
            if (ticket.lastIndex() < awaited) ticket.dirty = true;
          }
          this.pump();
        },
      });
    }
  }

  /** Every second: refresh what is due, recover the budget, re-plan the slots now and then. */
  private tick(): void {
    const now = this.options.now();
    if (now < this.lastTickAt) this.clockWentBack(now);
    this.lastTickAt = now;
    for (const ticket of this.tickets) {
      if (!ticket.slotted && now - ticket.lastReadAt >= this.options.pollRefreshMs) {
        this.markDirty(ticket);
      }
    }
    if (
      this.lost > 0 &&
      now - Math.max(this.lastThrottleAt, this.lastRecoveryAt) >= THROTTLE_RECOVERY_MS
    ) {
      this.lost -= 1;
      this.lastRecoveryAt = now;
      // Fully recovered: a later episode of 429s is worth its own log line.
      if (this.lost === 0) this.throttleLogged = false;
    }
    if (now - this.lastRebalanceAt >= REBALANCE_INTERVAL_MS) this.rebalance();
    this.stopIdleFollowers();
  }

  /**
   * The clock stepped back (Date.now, the default, after an NTP step or a resumed VM): times kept
   * from before are brought back to `now`, else refreshes, budget recovery, re-plans and slot
   * dwell would all wait for the clock to come back to them.
   */
  private clockWentBack(now: number): void {
    this.lastRebalanceAt = Math.min(this.lastRebalanceAt, now);
    this.lastThrottleAt = Math.min(this.lastThrottleAt, now);
    this.lastRecoveryAt = Math.min(this.lastRecoveryAt, now);
    for (const ticket of this.tickets) {
      ticket.lastReadAt = Math.min(ticket.lastReadAt, now);
      if (ticket.movedAt !== undefined) ticket.movedAt = Math.min(ticket.movedAt, now);
    }
  }

  /** Updates each ticket's call rate and moves slots as planSlots says. */
  private rebalance(): void {
    const now = this.options.now();
    const elapsedS = Math.max(0.001, (now - this.lastRebalanceAt) / 1_000);
    this.lastRebalanceAt = now;
    const candidates: SlotCandidate[] = [];
    for (const ticket of this.tickets) {
      const uses = ticket.uses();
      const instant = (uses - ticket.lastUses) / elapsedS;
      ticket.lastUses = uses;
      ticket.rate = ticket.rate * 0.5 + instant * 0.5;
      candidates.push({
        key: `${ticket.key}\u0000${candidates.length}`,
        rate: ticket.rate,
        slotted: ticket.slotted,
        movedAt: ticket.movedAt,
      });
    }
    const byKey = new Map<string, Ticket>();
    let i = 0;
    for (const ticket of this.tickets) byKey.set(`${ticket.key}\u0000${i++}`, ticket);
    const plan = planSlots(candidates, this.slotCapacity(), now);
    for (const key of plan.demote) this.demote(byKey.get(key)!, now);
    for (const key of plan.promote) this.promote(byKey.get(key)!, now);
  }

  private promote(ticket: Ticket, now: number): void {
    this.setSlotted(ticket, true);
    ticket.movedAt = now;
    this.unqueue(ticket);
    const waiter = ticket.waiter;
    ticket.waiter = undefined;
    waiter?.resolve(this.blockingTurn(ticket));
  }

  private demote(ticket: Ticket, now: number): void {
    this.setSlotted(ticket, false);
    ticket.movedAt = now;
    // The blocking query in flight may have been about to see a change: read once more.
    ticket.dirty = true;
    ticket.slotAbort?.abort();
    this.ensureFollower(ticket.datacenter);
  }

  private ensureFollower(datacenter: string): void {
    if (this.followers.has(datacenter) || this.abort.signal.aborted) return;
    const stop = new AbortController();
    const done = this.follow(datacenter, stop.signal).finally(() => {
      if (this.followers.get(datacenter)?.stop === stop) this.followers.delete(datacenter);
    });
    this.followers.set(datacenter, { stop, done });
  }

  /**
   * Stops the check watch of each datacenter where no service is followed by it any more (all
   * released or slotted): a failover to another datacenter, or a discovery chain naming many,
   * left one blocking query per datacenter held for the process's life.
   */
  private stopIdleFollowers(): void {
    if (this.followers.size === 0) return;
    const followed = new Set<string>();
    for (const ticket of this.tickets) if (!ticket.slotted) followed.add(ticket.datacenter);
    for (const [datacenter, follower] of this.followers) {
      if (followed.has(datacenter)) continue;
      follower.stop.abort();
      this.followers.delete(datacenter);
    }
  }

  /** The check watch of one datacenter: marks the services whose checks changed. */
  private async follow(datacenter: string, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.options.backoff, this.options.random);
    const rate = new TokenBucket(UPDATE_BURST, this.options.minUpdateIntervalMs);
    // Its answer is every check of the datacenter (a few hundred KB for 1,000 services, per
    // process), whatever changed: two queries are at least checkWatchIntervalMs apart, so that in
    // a churn it answers at most once per interval, while a query that waited that long (a quiet
    // time) is asked again at once and sees the next change as it comes. Unpaced, a churn of 20
    // changes a second cost each worker 20 such answers a second, and on the agent's host their
    // encoding and parsing delayed the slotted services' own blocking answers.
    let sentAt = Number.NEGATIVE_INFINITY;
    let index = 0;
    let summaries: Map<string, CheckSummary> | undefined;
    // After a failure every service is read again (changes may have been missed); not at the start,
    // when those not read yet are due anyway and those read already are judged by their index.
    let missedChanges = false;
    let pauseMs = 0;
    while (!signal.aborted) {
      try {
        if (pauseMs > 0) await this.options.delay(pauseMs, signal);
        // The first read (index 0, answered at once) does not count: the blocking query follows it.
        sentAt = index === 0 ? Number.NEGATIVE_INFINITY : this.options.now();
        const answer = await this.source.healthStateAny(
          { ...(datacenter !== '' && { datacenter }), index, waitMs: this.options.waitMs },
          { signal },
        );
        this.counts.checkWatchAnswers += 1;
        // A large answer in slices: the service's own requests keep being served meanwhile.
        const next =
          answer.data.length < SLICED_APPLY_MIN_ENTRIES
            ? summarizeChecks(answer.data)
            : await runSliced(summarizeInSteps(answer.data), new TimeSlicer({ signal }));
        this.markChanged(datacenter, summaries, next, missedChanges);
        missedChanges = false;
        summaries = next;
        // Consul's index rules, as a service watch applies them: backwards resets to 0, below 1 (a
        // Consul bug) or beyond 2^53 waits from 1 (such an index, sent back rounded, is no uint64:
        // Consul answered 400, and the check watch failed for good, reading every service each time).
        index = decideIndex(index, answer.meta.index).nextIndex;
        backoff.reset();
        const now = this.options.now();
        // At most the interval: a clock that stepped back while the query waited (Date.now, the
        // default, after an NTP step or a resumed VM) would else add the step to the pause.
        const paced = Math.min(
          this.options.checkWatchIntervalMs,
          Math.max(0, sentAt + this.options.checkWatchIntervalMs - now),
        );
        // Up to a quarter more of the pause at random: the workers of one host, woken by the same
        // change, would else all ask again at the same moment.
        const jitterMs =
          paced > 0 ? Math.floor(this.options.random() * paced * CHECK_WATCH_JITTER) : 0;
        pauseMs = Math.max(rate.take(now), paced + jitterMs);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof Error) this.noteFailure(error);
        missedChanges = true;
        index = 0;
        pauseMs = backoff.nextDelayMs();
        this.options.logger.warn(
          { datacenter: datacenter || undefined, retryInMs: pauseMs, error: String(error) },
          'express-consul: the check watch (/v1/health/state/any) failed; services without a slot are read on their refresh period meanwhile',
        );
      }
    }
  }

  private markChanged(
    datacenter: string,
    previous: ReadonlyMap<string, CheckSummary> | undefined,
    next: ReadonlyMap<string, CheckSummary>,
    missedChanges: boolean,
  ): void {
    // Without a previous answer (the first), services are judged by their index alone.
    const changed = previous ? changedServices(previous, next) : undefined;
    const everyone = missedChanges || (changed?.has(NODE_CHECKS) ?? false);
    for (const ticket of this.tickets) {
      if (ticket.slotted || ticket.datacenter !== datacenter) continue;
      const summary = next.get(ticket.key);
      // A check newer than the last read: covers a change between a read and the first answer.
      const newer = summary !== undefined && summary.maxIndex > ticket.lastIndex();
      if (everyone || changed?.has(ticket.key)) this.markDirty(ticket);
      else if (newer && ticket.reading) {
        // Its read is under way and may well have seen that check: judged by the index it brings
        // back (in done). Marked due now, the first read of every service under way at the first
        // answer was made twice (49-71 of 979 per worker at readiness, issue #12's scale test).
        ticket.awaitIndex = Math.max(ticket.awaitIndex, summary.maxIndex);
      } else if (newer) this.markDirty(ticket);
    }
  }
}
