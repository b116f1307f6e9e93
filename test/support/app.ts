/** Starts the real service on loopback for a test file, on the file's own database. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Type } from '@nestjs/common';
import { createApp, BuiltApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import type { Clock } from '../../src/common/clock/clock';
import type { DatabaseTarget } from '../../src/database/data-source';

export interface TestApp extends BuiltApp {
  config: AppConfig;
  baseUrl: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  database: DatabaseTarget;
  clock?: Clock;
  extraModules?: Type[];
}

let fileDataDir: string | undefined;

/** One DATA_DIR per test file (its generated KEK must survive the file's restarts). */
export function testDataDir(): string {
  fileDataDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-data-'));
  return fileDataDir;
}

export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', HOST: '127.0.0.1', DATA_DIR: testDataDir(), ...(options.env ?? {}) });
  const built = await createApp(config, { database: options.database, clock: options.clock, extraModules: options.extraModules });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const address = built.app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const scheme = config.tls ? 'https' : 'http';
  return {
    ...built,
    config,
    baseUrl: `${scheme}://127.0.0.1:${port}`,
    close: () => built.app.close(),
  };
}
