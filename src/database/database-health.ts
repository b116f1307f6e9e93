/** Readiness of the database, for `/readyz`: a trivial round trip. */
import { Injectable } from '@nestjs/common';
import { Database } from './executor';

@Injectable()
export class DatabaseHealth {
  constructor(private readonly db: Database) {}

  /** Resolves when the database answers; rejects with the driver's error when it does not. */
  async ping(): Promise<void> {
    await this.db.rows('SELECT 1 AS ok');
  }
}
