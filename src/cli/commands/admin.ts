/**
 * Admin commands (hotkey in the broker's ADMIN_HOTKEYS): measurement sets, the miner allow/block
 * list, the audit trails (attestations, key releases), and key custody (`keys.ts`: miners' key
 * generations, KEK rotation and status) (DESIGN.md "Admin").
 */
import { Command, Option } from 'commander';
import { CliContext, CliIo } from '../context';
import { BrokerRefusedError, UsageError } from '../errors';
import { KEY_RELEASE_KINDS } from '../../common/audit/key-release-kinds';
import { readMeasurementSets } from '../measurement-sets';
import { Column, flatten, inline, renderTable, shortKey } from '../output';
import { confirm } from '../prompt';
import { wholeNumber, withExamples } from './help';
import { keysCommand } from './keys';

type Json = Record<string, unknown>;

function rows(answer: unknown): Json[] {
  if (Array.isArray(answer)) return answer as Json[];
  const items = (answer as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as Json[]) : [];
}

const MEASUREMENT_COLUMNS: Column<Json>[] = [
  { header: 'NAME', value: (m) => m.name },
  { header: 'VERSION', value: (m) => m.version },
  { header: 'STATUS', value: (m) => m.status ?? (m.retired_at ? 'retired' : 'active') },
  { header: 'MRTD', value: (m) => (typeof m.mrtd === 'string' ? `${m.mrtd.slice(0, 16)}…` : m.mrtd) },
  { header: 'GPUS', value: (m) => m.expected_gpus },
  { header: 'GPU_COUNT', value: (m) => m.gpu_count },
  { header: 'ROOT_KEY', value: (m) => (typeof m.has_root_passphrase === 'boolean' ? (m.has_root_passphrase ? 'yes' : 'no') : undefined) },
  { header: 'CREATED', value: (m) => m.created_at },
];

const AUDIT_COLUMNS: Column<Json>[] = [
  { header: 'TIME', value: (a) => a.created_at },
  { header: 'KIND', value: (a) => a.kind },
  { header: 'OUTCOME', value: (a) => a.outcome },
  { header: 'CODE', value: (a) => a.error_code },
  { header: 'HOTKEY', value: (a) => shortKey(a.miner_hotkey) },
  { header: 'VM', value: (a) => a.vm_name },
  { header: 'IP', value: (a) => a.client_ip },
  { header: 'MEASUREMENT', value: (a) => (a.measurement_name ? `${inline(a.measurement_name)} ${inline(a.measurement_version)}`.trim() : undefined) },
  { header: 'TCB', value: (a) => a.tcb_status },
];

/** Key-release events (`--kind keys`): which keys left or changed, never the keys. */
const KEY_EVENT_COLUMNS: Column<Json>[] = [
  { header: 'TIME', value: (e) => e.created_at },
  { header: 'EVENT', value: (e) => e.kind },
  { header: 'HOTKEY', value: (e) => shortKey(e.miner_hotkey) },
  { header: 'VM', value: (e) => e.vm_name },
  { header: 'IP', value: (e) => e.client_ip },
  { header: 'VOLUMES', value: (e) => keyEventVolumes(e) },
  { header: 'DETAIL', value: (e) => keyEventDetail(e) },
];

export function keyEventVolumes(event: Json): unknown {
  const lists = ['returned', 'rekeyed', 'pruned'].map((field) => (Array.isArray(event[field]) ? (event[field] as string[]) : []));
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  // Gen-C promote, discard and abandon events name their one volume in the detail.
  if (typeof detail.volume === 'string') lists.push([detail.volume]);
  return [...new Set(lists.flat())];
}

/** A gen-C issue: the generation handed out (0: the image's root passphrase, none: a blank volume), why, and the pending next. */
function issueText(issue: Record<string, unknown>): string {
  const handedOut = typeof issue.handed_out === 'number' ? (issue.handed_out === 0 ? 'image' : String(issue.handed_out)) : 'none';
  return `${handedOut}(${String(issue.reason)})→${String(issue.next_generation)}`;
}

/** The detail that says what happened, briefly: generations, cause, who. */
export function keyEventDetail(event: Json): string | undefined {
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof detail.cause === 'string') parts.push(`cause=${detail.cause}`);
  if (typeof detail.generation === 'number') parts.push(`generation=${detail.generation}`);
  if (typeof detail.replaced_generation === 'number') parts.push(`replaced=${detail.replaced_generation}`);
  if (detail.generations && typeof detail.generations === 'object') {
    parts.push(
      `generations=${Object.entries(detail.generations as Record<string, unknown>)
        .map(([volume, g]) => `${volume}:${Array.isArray(g) ? g.join('+') : g && typeof g === 'object' ? issueText(g as Record<string, unknown>) : String(g)}`)
        .join(',')}`,
    );
  }
  if ('handed_out' in detail) parts.push(`root=${issueText(detail)}`);
  if (detail.first_boot === true) parts.push('first_boot');
  if (typeof detail.replay === 'number') parts.push(`replay=${detail.replay}`);
  if (typeof detail.actor_role === 'string') parts.push(`by=${detail.actor_role}`);
  if (typeof detail.reason === 'string' && !('handed_out' in detail)) parts.push(`reason=${detail.reason}`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

const IMPACT_SERVER_COLUMNS: Column<Json>[] = [
  { header: 'SERVER', value: (s) => s.server_id },
  { header: 'NAME', value: (s) => s.name },
  { header: 'VM', value: (s) => s.vm_name },
  { header: 'HOTKEY', value: (s) => shortKey(s.miner_hotkey) },
  { header: 'HOST', value: (s) => s.host },
  { header: 'ATTESTED', value: (s) => s.attested_at ?? 'at registration' },
];

const IMPACT_VM_COLUMNS: Column<Json>[] = [
  { header: 'HOTKEY', value: (v) => shortKey(v.miner_hotkey) },
  { header: 'VM', value: (v) => v.vm_name },
  { header: 'LAST_BOOT', value: (v) => v.last_boot_at },
  { header: 'NOTE', value: (v) => (v.booted_other_set_since === true ? 'booted another image since' : undefined) },
];

const listOf = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);

/** `name version[, name version]` of a dry run's sets. */
function setsLabel(impact: Json | undefined): string | undefined {
  const sets = listOf(impact?.sets).map((set) => `${inline(set.name)} ${inline(set.version)}`.trim());
  return sets.length > 0 ? sets.join(', ') : undefined;
}

function impactSummary(impact: Json | undefined, label: string): string {
  const servers = listOf(impact?.servers).length;
  const vms = listOf(impact?.vms).length;
  return `retiring ${label} stops matching ${servers} registered server${servers === 1 ? '' : 's'} and ${vms} VM${vms === 1 ? '' : 's'} booted on it since ${inline(impact?.vms_since) || 'the last 30 days'}`;
}

/** What a retirement would stop matching, for a person to decide on. */
export function renderRetirementImpact(impact: Json | undefined, label: string): string {
  const servers = listOf(impact?.servers);
  const vms = listOf(impact?.vms);
  const parts = [`${impactSummary(impact, label)}:`];
  parts.push(
    servers.length > 0
      ? `\nregistered servers whose latest verified attestation matched it:\n${renderTable(servers, IMPACT_SERVER_COLUMNS)}`
      : '\nno registered server matched it',
  );
  parts.push(vms.length > 0 ? `\nVMs with a verified boot on it:\n${renderTable(vms, IMPACT_VM_COLUMNS)}` : '\nno VM booted on it');
  return `${parts.join('\n').trimEnd()}\n`;
}

/** One set's path: the version, and `?name=` when several GPU flavours share it. */
const versionPath = (version: string, name?: string) =>
  `/admin/measurements/${encodeURIComponent(version)}${name !== undefined ? `?name=${encodeURIComponent(name)}` : ''}`;

function measurementsCommand(io: CliIo): Command {
  const measurements = new Command('measurements').description('measurement sets the broker matches quotes against (admin)');
  withExamples(measurements, ['$ bootkey measurements add -f tee_measurements.yaml', '$ bootkey measurements list', '$ bootkey measurements retire 1.0.0']);

  withExamples(
    measurements
      .command('add')
      .description(
        'add the measurement set(s) of a YAML file: one set, or a "measurements:" list (the Chutes tee_measurements.yaml shape); root_passphrase_file is read and sent as root_passphrase',
      )
      .requiredOption('-f, --file <set.yaml>', 'the YAML file')
      .option('--skip-existing', 'a version the broker already has (409) is reported and skipped instead of stopping'),
    [
      '$ bootkey measurements add -f set.yaml',
      '# set.yaml:',
      '#   name: gpu-vm',
      '#   version: 1.0.0',
      '#   mrtd: <96 hex>',
      '#   boot_rtmrs:    {rtmr0: <96 hex>, rtmr1: <96 hex>, rtmr2: <96 hex>}',
      '#   runtime_rtmrs: {rtmr0: <96 hex>, rtmr1: <96 hex>, rtmr2: <96 hex>, rtmr3: <96 hex>}',
      '#   expected_gpus: [h100]',
      '#   gpu_count: 8',
      '#   root_passphrase_file: root-passphrase   # relative to set.yaml',
    ],
  ).action(async (options: { file: string; skipExisting?: boolean }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const sets = readMeasurementSets(options.file);
    const client = ctx.client();
    const answers: unknown[] = [];
    for (const set of sets) {
      try {
        answers.push(await client.post<unknown>('/admin/measurements', set));
        if (!ctx.output.json)
          ctx.output.line(
            `added ${set.name} ${set.version}${set.root_passphrase === undefined ? ' (no root passphrase: it can match but never releases a root key)' : ''}`,
          );
      } catch (error) {
        const exists = error instanceof BrokerRefusedError && error.status === 409;
        if (!options.skipExisting || !exists) throw error;
        answers.push(error.body);
        ctx.output.note(`skipped ${set.name} ${set.version}: the broker already has it`);
      }
    }
    if (ctx.output.json) ctx.output.printJson(answers.length === 1 ? answers[0] : answers);
  });

  withExamples(measurements.command('list').description('every measurement set, active and retired'), [
    '$ bootkey measurements list',
    '$ bootkey measurements list --json',
  ]).action(async (_options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const answer = await ctx.client().get<unknown>('/admin/measurements');
    ctx.output.result(answer, () => ctx.output.table(rows(answer), MEASUREMENT_COLUMNS, 'no measurement sets'));
  });

  withExamples(
    measurements
      .command('show')
      .description('one measurement set, every register')
      .argument('<version>')
      .option('--name <name>', "the set's name, when several GPU flavours share the version"),
    ['$ bootkey measurements show 1.0.0', '$ bootkey measurements show 1.4.0 --name 8xh200'],
  ).action(async (version: string, options: { name?: string }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const set = await ctx.client().get<Json>(versionPath(version, options.name));
    ctx.output.result(set, () => ctx.output.keyValues(flatten(set)));
  });

  withExamples(
    measurements
      .command('retire')
      .description(
        'retire a measurement set: kept for the audit trail, no longer matched (VMs with that image get no keys). First shows which registered servers and recently booted VMs would stop matching (a dry run on the broker), then asks (--yes for scripts)',
      )
      .argument('<version>')
      .option('--name <name>', "the set's name, when several GPU flavours share the version")
      .option('--dry-run', 'only show what would stop matching; retire nothing')
      .option('-y, --yes', 'do not ask for confirmation (what would stop matching is still shown)'),
    [
      '$ bootkey measurements retire 1.0.0',
      '$ bootkey measurements retire 1.4.0 --name 8xb200',
      '$ bootkey measurements retire 1.4.0 --name 8xb200 --dry-run   # only the impact',
      '$ bootkey measurements retire 1.0.0 --yes                      # scripts: no prompt',
    ],
  ).action(async (version: string, options: { name?: string; dryRun?: boolean; yes?: boolean }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const client = ctx.client();
    const path = `/admin/measurements/${encodeURIComponent(version)}`;
    const impact = await client.delete<Json>(path, { query: { name: options.name, dry_run: 'true' } });
    const label = setsLabel(impact) ?? (options.name !== undefined ? `${options.name} ${version}` : version);
    if (options.dryRun) {
      ctx.output.result(impact, () => ctx.output.line(renderRetirementImpact(impact, label).trimEnd()));
      return;
    }
    if (ctx.output.json) ctx.output.note(impactSummary(impact, label));
    else ctx.output.line(renderRetirementImpact(impact, label).trimEnd());
    if (!options.yes) {
      const ok = await confirm(io, `Retire ${label}? Servers and VMs on it will no longer attest or get keys. [y/N] `);
      if (ok === undefined) throw new UsageError(`retiring ${label} needs confirmation; nothing retired. Pass --yes to retire when not running in a terminal`);
      if (!ok) {
        ctx.output.note('nothing retired');
        return;
      }
    }
    const answer = await client.delete<unknown>(path, { query: { name: options.name } });
    ctx.output.result(answer ?? { retired: label }, () => ctx.output.line(`retired ${label}`));
  });

  return measurements;
}

function minersCommand(io: CliIo): Command {
  const miners = new Command('miners').description('the miner allow/block list (admin); MINER_POLICY=allowlist admits only allowed miners');
  withExamples(miners, [
    '$ bootkey miners allow 5F3sa2TJ…',
    '$ bootkey miners block 5F3sa2TJ… --reason "abuse report 42"',
    '$ bootkey miners remove 5F3sa2TJ…',
  ]);

  const setStatus = (status: 'allowed' | 'blocked') => async (hotkey: string, options: { reason?: string }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const body = { status, ...(options.reason !== undefined ? { reason: options.reason } : {}) };
    const answer = await ctx.client().put<unknown>(`/admin/miners/${encodeURIComponent(hotkey)}`, body);
    ctx.output.result(answer ?? { hotkey, ...body }, () => ctx.output.line(`${hotkey} is ${status}`));
  };

  const MINER_COLUMNS: Column<Json>[] = [
    { header: 'HOTKEY', value: (m) => m.hotkey },
    { header: 'STATUS', value: (m) => m.status },
    { header: 'REASON', value: (m) => m.reason },
    { header: 'UPDATED', value: (m) => m.updated_at },
  ];
  withExamples(miners.command('list').description('every miner on the allow/block list'), ['$ bootkey miners list']).action(
    async (_options: unknown, command: Command) => {
      const ctx = CliContext.of(command, io);
      const answer = await ctx.client().get<unknown>('/admin/miners');
      ctx.output.result(answer, () => ctx.output.table(rows(answer), MINER_COLUMNS, 'no miners are listed'));
    },
  );

  withExamples(
    miners.command('allow').description('allow a miner hotkey').argument('<hotkey>', 'ss58 address').option('--reason <text>', 'why (kept with the entry)'),
    ['$ bootkey miners allow 5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX --reason "onboarded"'],
  ).action(setStatus('allowed'));

  withExamples(
    miners
      .command('block')
      .description('block a miner hotkey everywhere, boot attestation included')
      .argument('<hotkey>', 'ss58 address')
      .option('--reason <text>', 'why (kept with the entry)'),
    ['$ bootkey miners block 5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX --reason "abuse report 42"'],
  ).action(setStatus('blocked'));

  withExamples(miners.command('remove').description('remove a miner from the list (back to the MINER_POLICY default)').argument('<hotkey>', 'ss58 address'), [
    '$ bootkey miners remove 5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX',
  ]).action(async (hotkey: string, _options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const answer = await ctx.client().delete<unknown>(`/admin/miners/${encodeURIComponent(hotkey)}`);
    ctx.output.result(answer ?? { hotkey, removed: true }, () => ctx.output.line(`${hotkey} removed from the miner list`));
  });

  return miners;
}

const DURATION = /^(\d+)([smhd])$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `--since`: an ISO-8601 time, or a duration back from now (`30m`, `24h`, `7d`). */
export function parseSince(text: string, now: Date = new Date()): string {
  const duration = DURATION.exec(text);
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_SECONDS[duration[2]] * 1000).toISOString();
  const time = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time))
    throw new UsageError(`--since must be an ISO-8601 time (2026-03-01T00:00:00Z) or a duration like 30m, 24h, 7d (got ${text})`);
  return new Date(time).toISOString();
}

interface AuditOptions {
  kind?: string;
  event?: string;
  hotkey?: string;
  vmName?: string;
  since?: string;
  limit?: number;
  all?: boolean;
}

/** At most this many pages with --all, so a broker that keeps answering with a cursor cannot loop us forever. */
const MAX_PAGES = 10_000;

function auditCommand(io: CliIo): Command {
  return withExamples(
    new Command('audit')
      .description(
        'the audit trails, newest first (admin): every boot and runtime attestation attempt, passed or failed; with --kind keys, every key release and change (syncs, replays, replacements, restores, shredding, the purge)',
      )
      .addOption(
        new Option('--kind <kind>', 'boot (with the gen-C provision and confirm steps), runtime, or keys (key-release events)').choices([
          'boot',
          'runtime',
          'keys',
        ]),
      )
      .addOption(new Option('--event <event>', 'with --kind keys: one event kind').choices(KEY_RELEASE_KINDS))
      .option('--hotkey <ss58>', 'only this miner')
      .option('--vm-name <name>', 'only this VM')
      .option('--since <time>', 'only after this ISO-8601 time, or a duration back from now (30m, 24h, 7d)')
      .addOption(new Option('--limit <n>', "rows per page (1..500; the broker's default is 50)").argParser(wholeNumber('--limit', 1, 500)))
      .option('--all', 'follow next_cursor until every matching row is read'),
    [
      '$ bootkey audit --kind boot --since 24h',
      '$ bootkey audit --vm-name gpu-vm-01 --json | jq ".items[0].verdict"   # why was it refused?',
      '$ bootkey audit --hotkey 5F3sa2TJ… --all --json > audit.json',
      '$ bootkey audit --kind keys --event replaced --since 7d          # every key in use that was replaced',
    ],
  ).action(async (options: AuditOptions, command: Command) => {
    const ctx = CliContext.of(command, io);
    if (options.event !== undefined && options.kind !== 'keys') throw new UsageError('--event needs --kind keys');
    const keys = options.kind === 'keys';
    const route = keys ? '/admin/key-events' : '/admin/attestations';
    const columns = keys ? KEY_EVENT_COLUMNS : AUDIT_COLUMNS;
    const empty = keys ? 'no key events match' : 'no attestations match';
    const query = {
      kind: keys ? options.event : options.kind,
      hotkey: options.hotkey,
      vm_name: options.vmName,
      since: options.since === undefined ? undefined : parseSince(options.since),
      limit: options.limit,
    };
    const client = ctx.client();
    type Page = { items?: Json[]; next_cursor?: string | null };
    let page = await client.get<Page>(route, { query });
    if (!options.all) {
      ctx.output.result(page, () => {
        ctx.output.table(page.items ?? [], columns, empty);
        if (page.next_cursor) ctx.output.note('more rows: --all reads every page, --limit sets the page size');
      });
      return;
    }
    const items: Json[] = [...(page.items ?? [])];
    for (let pages = 1; page.next_cursor && pages < MAX_PAGES; pages++) {
      page = await client.get<Page>(route, { query: { ...query, cursor: page.next_cursor } });
      items.push(...(page.items ?? []));
    }
    ctx.output.result({ items, next_cursor: null }, () => ctx.output.table(items, columns, empty));
  });
}

export function adminCommands(io: CliIo): Command[] {
  return [measurementsCommand(io), minersCommand(io), auditCommand(io), keysCommand(io)];
}
