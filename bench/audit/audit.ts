/**
 * `npm run bench:audit`: the admin audit trail at fleet scale. Fills a fresh PostgreSQL database
 * with 1,000,000 `boot_attestations` rows over 10,000 VMs of 200 miners, spread over 400 days
 * (one INSERT … SELECT generate_series, in chunks), starts the real broker (built dist) on it,
 * and times signed `GET /admin/attestations` calls — one at a time, so the figures are query
 * latency, not queueing — with the `hotkey`, `vm_name`, `since` and `kind` filters and cursor
 * paging. Prints per query shape, then one summary line:
 *
 *   audit: rows=1000000 vms=10000 requests=… p50_ms=… p99_ms=… [shape=p50/p99 …]
 *
 *   npm run bench:audit -- [--rows 1000000] [--vms 10000] [--samples 100] [--before] [--no-build]
 *                          [--database NAME (reuse a filled one; kept)] [--keep]
 * --before measures without the AuditIndexes migration (its down() applied) for comparison.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeAddress } from '@polkadot/util-crypto';
import { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { AuditIndexes1763801100000 } from '../../migrations/1763801100000-AuditIndexes';
import { openDatabase } from '../../src/database/data-source';
import { signedHeaders, testKeypair, unixSeconds } from '../../test/support/hotkey';
import { BrokerProcess, buildBroker, createPgDatabase, DEFAULT_PG_ADMIN_URL, freePort, log, PgDatabase, prepareFixtures, REPO } from '../../test/support/stack';

const CHUNK = 100_000;
/** The bench stores no secret; a fixed KEK lets `--database` reuse a filled database. */
const BENCH_KEK = `bench:${Buffer.alloc(32, 7).toString('base64')}`;
const MINERS = 200;

function options() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      vms: { type: 'string', default: '10000' },
      samples: { type: 'string', default: '100' },
      before: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      database: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  return {
    rows: Number(values.rows),
    vms: Number(values.vms),
    samples: Number(values.samples),
    before: values.before,
    build: !values['no-build'],
    database: values.database,
    keep: values.keep || values.database !== undefined,
  };
}

function databaseUrl(name: string): string {
  const url = new URL(process.env.PG_ADMIN_URL ?? DEFAULT_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The miners' hotkeys: valid ss58 addresses of fixed 32-byte public keys (no key derivation needed). */
function minerHotkeys(): string[] {
  return Array.from({ length: MINERS }, (_, i) => encodeAddress(Buffer.alloc(32, i + 1), 42));
}

function vmName(v: number): string {
  return `vm-${String(v).padStart(5, '0')}`;
}

/** Row g: VM g % vms (of miner ⌊vm / (vms / MINERS)⌋), spread evenly over 400 days before `now`; 5 % failed. */
async function fill(client: Client, rows: number, vms: number, now: Date): Promise<void> {
  const perMiner = Math.ceil(vms / MINERS);
  for (let from = 1; from <= rows; from += CHUNK) {
    const to = Math.min(rows, from + CHUNK - 1);
    await client.query(
      `INSERT INTO boot_attestations (id, created_at, miner_hotkey, vm_name, client_ip, quote_sha256, outcome, error_code,
                                      measurement_name, measurement_version, tcb_status, advisory_ids, verdict)
       SELECT gen_random_uuid(),
              $1::timestamptz - (g::float8 / $2) * interval '400 days',
              ($3::text[])[1 + (g % $4) / $5],
              'vm-' || lpad((g % $4)::text, 5, '0'),
              '10.' || ((g % $4) / 65536) || '.' || ((g % $4) / 256 % 256) || '.' || (g % $4 % 256),
              md5(g::text) || md5((g + 1)::text),
              CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'verified' END,
              CASE WHEN g % 20 = 0 THEN 'MEASUREMENT_MISMATCH' END,
              'gpu-vm', '1.0.0', 'UpToDate', '[]'::jsonb,
              CASE WHEN g % 20 = 0
                   THEN jsonb_build_object('measurement', jsonb_build_object('mrtd', jsonb_build_object('expected', repeat('a1', 48), 'actual', repeat('a2', 48))))
                   ELSE '{"nonce": "ok", "quote": "ok", "binding": "ok", "measurement": "ok", "dcap": "ok", "td_attributes": "ok"}'::jsonb END
         FROM generate_series($6::int, $7::int) AS g`,
      [now, rows, minerHotkeys(), vms, perMiner, from, to],
    );
    log(`audit: filled ${to.toLocaleString('en')} / ${rows.toLocaleString('en')} rows`);
  }
  await client.query('ANALYZE boot_attestations');
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Page {
  items: unknown[];
  next_cursor: string | null;
}

async function main(): Promise<void> {
  const opts = options();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-audit-'));
  let database: PgDatabase | undefined;
  let broker: BrokerProcess | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let main = path.join(REPO, 'dist/src/main.js');
    if (opts.build || !fs.existsSync(main)) {
      log('audit: building the broker (tsc → dist/)');
      main = buildBroker();
    }
    const url = opts.database ? databaseUrl(opts.database) : (database = await createPgDatabase('audit')).url;
    // Migrate (the broker would too) and fill, unless a reused database is already filled.
    const source = await openDatabase({ url });
    const client = new Client({ connectionString: url });
    await client.connect();
    const now = new Date();
    try {
      const [{ count }] = (await client.query<{ count: number }>('SELECT count(*)::int AS count FROM boot_attestations')).rows;
      if (count < opts.rows) {
        log(`audit: filling ${opts.rows.toLocaleString('en')} rows over ${opts.vms.toLocaleString('en')} VMs`);
        const start = performance.now();
        await fill(client, opts.rows - count, opts.vms, now);
        log(`audit: filled in ${((performance.now() - start) / 1000).toFixed(0)} s`);
      }
      if (opts.before) {
        log('audit: --before: AuditIndexes down() for this run');
        await new AuditIndexes1763801100000().down({ query: (sql: string) => client.query(sql) } as unknown as QueryRunner);
        await client.query('ANALYZE boot_attestations');
      }
    } finally {
      await source.destroy();
      await client.end();
    }

    const admin = await testKeypair('//bootkey-bench-admin');
    const fixtures = await prepareFixtures(dir);
    broker = new BrokerProcess(
      'audit',
      {
        main,
        port: await freePort(),
        tls: false,
        env: { DATABASE_URL: url, BROKER_KEKS: BENCH_KEK, ADMIN_HOTKEYS: admin.address, RATE_LIMIT_SIGNED_PER_MIN: '0', LOG_LEVEL: 'warn', MAX_INFLIGHT: '0' },
        logFile: path.join(dir, 'broker.log'),
      },
      fixtures,
    );
    await broker.start();

    const get = (pathWithQuery: string): Promise<{ ms: number; page: Page }> =>
      new Promise((resolve, reject) => {
        const headers = signedHeaders(admin, undefined, unixSeconds(), { v2: { method: 'GET', path: pathWithQuery } });
        const start = performance.now();
        const req = http.get(`${broker!.url}${pathWithQuery}`, { agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const ms = performance.now() - start;
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) reject(new Error(`${pathWithQuery}: ${res.statusCode} ${text.slice(0, 200)}`));
            else resolve({ ms, page: JSON.parse(text) as Page });
          });
        });
        req.on('error', reject);
      });

    const hotkeys = minerHotkeys();
    const pick = <T>(list: T[], i: number) => list[(i * 7919) % list.length];
    const iso = (daysAgo: number) => new Date(now.getTime() - daysAgo * 86_400_000).toISOString();
    // Query shapes: [name, path for sample i, pages to follow].
    const shapes: [string, (i: number) => string, number][] = [
      ['hotkey', (i) => `/admin/attestations?hotkey=${pick(hotkeys, i)}`, 1],
      ['hotkey+kind', (i) => `/admin/attestations?kind=boot&hotkey=${pick(hotkeys, i)}`, 1],
      ['vm_name', (i) => `/admin/attestations?kind=boot&vm_name=${vmName((i * 7919) % opts.vms)}`, 1],
      [
        'hotkey+vm_name',
        (i) =>
          `/admin/attestations?hotkey=${hotkeys[Math.floor(((i * 7919) % opts.vms) / Math.ceil(opts.vms / MINERS))]}&vm_name=${vmName((i * 7919) % opts.vms)}`,
        1,
      ],
      ['since', (i) => `/admin/attestations?kind=boot&since=${iso(1 + (i % 30))}`, 1],
      ['hotkey+since', (i) => `/admin/attestations?kind=boot&hotkey=${pick(hotkeys, i)}&since=${iso(30)}`, 1],
      ['hotkey+paging', (i) => `/admin/attestations?kind=boot&hotkey=${pick(hotkeys, i)}&limit=100`, 5],
      ['vm_name+paging', (i) => `/admin/attestations?kind=boot&vm_name=${vmName((i * 7919) % opts.vms)}&limit=20`, 5],
      ['all+paging', (i) => `/admin/attestations?kind=boot&limit=${100 + (i % 5)}`, 5],
    ];
    // Warm-up: the broker's first requests compile code; the database's first ones read pages in.
    for (let i = 0; i < 20; i++) await get(shapes[i % shapes.length][1](i + 1000));

    const all: number[] = [];
    const summary: string[] = [];
    for (const [name, pathFor, pages] of shapes) {
      const samples: number[] = [];
      for (let i = 0; samples.length < opts.samples; i++) {
        let pathWithQuery = pathFor(i);
        for (let p = 0; p < pages && samples.length < opts.samples; p++) {
          const { ms, page } = await get(pathWithQuery);
          samples.push(ms);
          if (!page.next_cursor) break;
          pathWithQuery = `${pathFor(i)}&cursor=${page.next_cursor}`;
        }
      }
      samples.sort((a, b) => a - b);
      all.push(...samples);
      const line = `${name}=${percentile(samples, 50).toFixed(1)}/${percentile(samples, 99).toFixed(1)}`;
      summary.push(line);
      log(`audit: ${name.padEnd(16)} p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms (${samples.length} requests)`);
    }
    all.sort((a, b) => a - b);
    process.stdout.write(
      `audit: rows=${opts.rows} vms=${opts.vms} requests=${all.length} p50_ms=${percentile(all, 50).toFixed(1)} p99_ms=${percentile(all, 99).toFixed(1)} indexes=${opts.before ? 'before' : 'AuditIndexes'} ${summary.join(' ')} loadavg=${os.loadavg()[0].toFixed(1)}\n`,
    );
    if (opts.before && opts.keep) {
      const client2 = new Client({ connectionString: url });
      await client2.connect();
      await new AuditIndexes1763801100000().up({ query: (sql: string) => client2.query(sql) } as unknown as QueryRunner);
      await client2.end();
    }
  } finally {
    agent.destroy();
    await broker?.stop();
    if (database && !opts.keep) await database.drop().catch((error: unknown) => log(`audit: could not drop ${database?.name}: ${(error as Error).message}`));
    else if (database) log(`audit: database kept: ${database.name} (--database ${database.name} reuses it)`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:audit: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
