/** Prometheus metrics of one service instance (its own registry, so test apps never collide). */
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'bootkey_http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly attestations = new Counter({
    name: 'bootkey_attestations_total',
    help: 'Attestation attempts by kind (boot, runtime, registration) and outcome (verified, failed) and error code',
    labelNames: ['kind', 'outcome', 'code'] as const,
    registers: [this.registry],
  });

  readonly verificationSeconds = new Histogram({
    name: 'bootkey_quote_verification_seconds',
    help: 'Time to verify one quote (DCAP and policy)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly collateralEvents = new Counter({
    name: 'bootkey_collateral_events_total',
    help: 'Collateral fetches and fallbacks by source and result (fresh, cached, stale, failed)',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });

  readonly connectionsRefused = new Counter({
    name: 'bootkey_connections_refused_total',
    help: 'Connections closed on arrival, by reason (per_ip_limit: MAX_CONNECTIONS_PER_IP reached)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly keyReplacements = new Counter({
    name: 'bootkey_key_replacements_total',
    help: 'Replacements of a volume key in use by another generation, by cause (rekey: a sync asked for a fresh key; restore: a miner or admin restored an older one)',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  readonly keyGenerationsShredded = new Counter({
    name: 'bootkey_key_generations_shredded_total',
    help: 'Volume key generations shredded, by reason (purge: past KEY_RETENTION_DAYS; shred: asked for by a miner, an admin or a server deletion)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly requestsShed = new Counter({
    name: 'bootkey_requests_shed_total',
    help: 'Requests answered 503 OVERLOADED before any work because MAX_INFLIGHT requests were in flight',
    registers: [this.registry],
  });

  /** How many requests are in flight; the app factory points it at the load shedder. */
  inFlightSource: () => number = () => 0;

  readonly requestsInFlight: Gauge = new Gauge({
    name: 'bootkey_requests_in_flight',
    help: 'Requests admitted and not yet answered (health, readiness and metrics not counted)',
    registers: [this.registry],
    collect: (): void => this.requestsInFlight.set(this.inFlightSource()),
  });

  readonly dcapRootCaOverridden = new Gauge({
    name: 'bootkey_dcap_root_ca_overridden',
    help: '1 when DCAP_ROOT_CA_FILE replaces the pinned Intel SGX Root CA as the DCAP trust anchor (tests only), else 0',
    registers: [this.registry],
  });

  readonly measurementEntriesSkipped = new Gauge({
    name: 'bootkey_measurement_entries_skipped',
    help: 'Entries (or hardware items) of MEASUREMENTS_FILE left out at its last read because they are malformed (the log and /readyz say which and why)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'bootkey_' });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
