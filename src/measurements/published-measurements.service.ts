/**
 * The published measurement sets (active, not release candidates) for `GET /servers/tee/measurements`,
 * kept in this replica's memory for 60 s: the route is anonymous and VMs and miners poll it. A
 * new or retired set shows within a minute (Chutes caches an hour).
 */
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { PublishedMeasurementView, toPublishedMeasurement } from './dto/published-measurement.response';
import { MeasurementSetsService } from './measurement-sets.service';

export const PUBLISHED_CACHE_MS = 60_000;

@Injectable()
export class PublishedMeasurementsService {
  private cached?: { at: number; views: Promise<PublishedMeasurementView[]> };

  constructor(
    private readonly sets: MeasurementSetsService,
    private readonly clock: Clock,
  ) {}

  list(): Promise<PublishedMeasurementView[]> {
    const now = this.clock.now().getTime();
    if (this.cached && now - this.cached.at < PUBLISHED_CACHE_MS && now >= this.cached.at) return this.cached.views;
    // Concurrent callers share one read; a failed read is not kept.
    const views = this.sets.active().then((sets) => sets.map(toPublishedMeasurement));
    const entry = { at: now, views };
    this.cached = entry;
    views.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return views;
  }
}
