import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TrackerStore } from './store/types.js';
import type { AnnounceEvent } from './store/types.js';

export type Endpoint = 'announce' | 'scrape' | 'other';
export type FailureKind = 'bad_request' | 'unpublished' | 'store_error';

/**
 * Prometheus metrics, all prefixed `dist_tracker_`, in a registry of their own so that several
 * trackers can live in one process (tests, `dist-seed --with-tracker`). No labels are looked up
 * per announce, which would cost more than the rest of the metric work: announces are counted
 * in plain fields until /metrics is read (see `announced`), and the failure and duration label
 * children are bound once.
 */
export class TrackerMetrics {
  readonly registry = new Registry();
  /** Announces answered since the last scrape of /metrics, by event; see `announced`. */
  private readonly unreported: Record<AnnounceEvent, number> = {
    started: 0,
    completed: 0,
    stopped: 0,
    update: 0,
  };
  private readonly failures: Record<FailureKind, Counter.Internal>;
  readonly scrapes: Counter;
  private readonly durations: Record<Endpoint, Histogram.Internal<string>>;

  constructor(store: TrackerStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'dist_tracker_' });
    const unreported = this.unreported;
    // Registered with the registry, which reads it through collect(): no handle kept.
    new Counter({
      name: 'dist_tracker_announces_total',
      help: 'Announces answered with peers, by event',
      labelNames: ['event'],
      registers: [this.registry],
      collect() {
        for (const event of Object.keys(unreported) as AnnounceEvent[]) {
          this.labels(event).inc(unreported[event]);
          unreported[event] = 0;
        }
      },
    });
    const failures = new Counter({
      name: 'dist_tracker_announce_failures_total',
      help: 'Announces and scrapes answered with a failure reason, by kind',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.failures = {
      bad_request: failures.labels('bad_request'),
      unpublished: failures.labels('unpublished'),
      store_error: failures.labels('store_error'),
    };
    this.scrapes = new Counter({
      name: 'dist_tracker_scrapes_total',
      help: 'Scrapes answered',
      registers: [this.registry],
    });
    const durations = new Histogram({
      name: 'dist_tracker_request_duration_seconds',
      help: 'Time from request to response, by endpoint',
      labelNames: ['endpoint'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2],
      registers: [this.registry],
    });
    this.durations = {
      announce: durations.labels('announce'),
      scrape: durations.labels('scrape'),
      other: durations.labels('other'),
    };
    // Swarm gauges are read from the store when Prometheus scrapes, not kept on the hot path.
    let totals: Promise<{ swarms: number; seeds: number; leechers: number }> | null = null;
    const readTotals = () => (totals ??= store.totals().finally(() => (totals = null)));
    const gauge = (name: string, help: string, read: () => Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set(await read());
        },
      });
    gauge(
      'dist_tracker_swarms',
      'Swarms with at least one peer',
      async () => (await readTotals()).swarms,
    );
    gauge(
      'dist_tracker_seeds',
      'Peers that have the whole file',
      async () => (await readTotals()).seeds,
    );
    gauge(
      'dist_tracker_leechers',
      'Peers still downloading',
      async () => (await readTotals()).leechers,
    );
    gauge(
      'dist_tracker_registry_entries',
      'Published files (live leases)',
      async () => (await store.entries()).length,
    );
  }

  /**
   * Counted in a plain field and added to the counter when /metrics is read: prom-client's
   * `inc()` validates and looks up its labels on every call, a measurable share of an announce.
   */
  announced(event: AnnounceEvent): void {
    this.unreported[event]++;
  }

  failed(kind: FailureKind): void {
    this.failures[kind].inc();
  }

  observe(endpoint: Endpoint, seconds: number): void {
    this.durations[endpoint].observe(seconds);
  }
}
