/**
 * `bootkey keys ...`: volume key custody (DESIGN.md "Miner key management", "Admin").
 * Miners: list a VM's key generations, restore an older one as current, shred a VM's keys —
 * for their own VMs, or (admins) any miner's with --miner. Admins: KEK rotation and status.
 */
import { Command } from 'commander';
import { CliContext, CliIo } from '../context';
import { UsageError } from '../errors';
import { Column, inline } from '../output';
import { confirm } from '../prompt';
import { wholeNumber, withExamples } from './help';

type Json = Record<string, unknown>;

interface Generation {
  generation?: number;
  state?: string;
  created_at?: string;
  parent_generation?: number | null;
  confirmed_at?: string | null;
  attestation_id?: string | null;
  client_ip?: string | null;
}

interface VmKeys {
  vm_name?: string;
  miner_hotkey?: string;
  volumes?: { volume: string; generations?: Generation[] }[];
}

const keysPath = (vm: string) => `/vms/${encodeURIComponent(vm)}/keys`;
const ownerQuery = (hotkey: string | undefined) => (hotkey === undefined ? {} : { hotkey });

const GENERATION_COLUMNS: Column<Generation & { volume: string }>[] = [
  { header: 'VOLUME', value: (g) => g.volume },
  { header: 'GENERATION', value: (g) => g.generation },
  { header: 'STATE', value: (g) => g.state },
  { header: 'CREATED', value: (g) => g.created_at },
  // Gen C: what the VM held when this key was issued as its next one (0: the image's root passphrase), and whether it confirmed.
  { header: 'ISSUED_BESIDE', value: (g) => g.parent_generation ?? null },
  { header: 'CONFIRMED', value: (g) => g.confirmed_at ?? null },
  { header: 'CLIENT_IP', value: (g) => g.client_ip },
  { header: 'ATTESTATION', value: (g) => g.attestation_id },
];

const KEK_COLUMNS: Column<Json>[] = [
  { header: 'KEK', value: (k) => k.kek_id },
  { header: 'ACTIVE', value: (k) => (k.active ? 'yes' : 'no') },
  { header: 'IN_RING', value: (k) => (k.in_ring ? 'yes' : 'NO') },
  { header: 'ROWS', value: (k) => k.rows },
  {
    header: 'TABLES',
    value: (k) =>
      k.tables && typeof k.tables === 'object'
        ? Object.entries(k.tables as Record<string, number>)
            .map(([t, n]) => `${t}=${n}`)
            .join(' ')
        : undefined,
  },
];

// Not --hotkey: that global option names the wallet's hotkey file the CLI signs with.
const minerOption = (command: Command) => command.option('--miner <ss58>', "admins: another miner's VM (default: your own)");

export function keysCommand(io: CliIo): Command {
  const keys = new Command('keys').description("volume key generations of your VMs (restore, shred), and the broker's KEKs (admin)");
  withExamples(keys, [
    '$ bootkey keys list gpu-vm-01',
    '$ bootkey keys restore gpu-vm-01 storage 1',
    '$ bootkey keys status    # admin',
    '$ bootkey keys rotate    # admin',
  ]);

  withExamples(
    minerOption(keys.command('list').description("a VM's volume key generations, newest first (metadata only: never a key)").argument('<vm-name>')),
    ['$ bootkey keys list gpu-vm-01', '$ bootkey --wallet admin keys list gpu-vm-01 --miner 5F3sa2TJ…   # admin, another miner'],
  ).action(async (vm: string, options: { miner?: string }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const answer = await ctx.client().get<VmKeys>(keysPath(vm), { query: ownerQuery(options.miner) });
    ctx.output.result(answer, () => {
      const rows = (answer.volumes ?? []).flatMap((entry) => (entry.generations ?? []).map((g) => ({ ...g, volume: entry.volume })));
      ctx.output.table(rows, GENERATION_COLUMNS, `no volume keys are kept for ${vm}`);
      if (rows.some((g) => g.state === 'pending'))
        ctx.output.note('pending: issued as the next key at the last boot; it becomes current when the VM confirms its rotation');
      if (rows.some((g) => g.state !== 'current' && g.state !== 'pending'))
        ctx.output.note(`restore one as current: bootkey keys restore ${vm} VOLUME GENERATION`);
    });
  });

  withExamples(
    minerOption(
      keys
        .command('restore')
        .description("make a kept generation of a volume current again (the current one is kept, superseded): the VM's next boot gets that key")
        .argument('<vm-name>')
        .argument('<volume>')
        .argument('<generation>', 'as `bootkey keys list` shows it', wholeNumber('generation', 1, 2_147_483_647)),
    ),
    ['# a disk was rekeyed by mistake (or by an intruder): go back to generation 1', '$ bootkey keys restore gpu-vm-01 storage 1'],
  ).action(async (vm: string, volume: string, generation: number, options: { miner?: string }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const answer = await ctx.client().post<Json>(`${keysPath(vm)}/restore`, { volume, generation }, { query: ownerQuery(options.miner) });
    ctx.output.result(answer, () => {
      const replaced = typeof answer?.replaced_generation === 'number' ? ` (generation ${answer.replaced_generation} is kept, superseded)` : '';
      ctx.output.line(`${vm} ${volume}: generation ${generation} is current${replaced}`);
    });
  });

  withExamples(
    minerOption(
      keys
        .command('shred')
        .description('shred every generation of every volume key of a VM: its encrypted disks can never be unlocked again (asks first; --yes for scripts)')
        .argument('<vm-name>')
        .option('-y, --yes', 'do not ask for confirmation'),
    ),
    ['$ bootkey keys shred gpu-vm-01', '$ bootkey keys shred gpu-vm-01 --yes'],
  ).action(async (vm: string, options: { miner?: string; yes?: boolean }, command: Command) => {
    const ctx = CliContext.of(command, io);
    if (!options.yes) {
      const ok = await confirm(io, `Shred every volume key of ${vm}? Its encrypted disks can never be unlocked again. [y/N] `);
      if (ok === undefined) throw new UsageError('shredding destroys the keys for good; pass --yes to confirm when not running in a terminal');
      if (!ok) {
        ctx.output.note('nothing shredded');
        return;
      }
    }
    const answer = await ctx.client().request<Json>('DELETE', keysPath(vm), { body: { confirm: vm }, query: ownerQuery(options.miner) });
    ctx.output.result(answer, () => ctx.output.line(`${vm}: ${inline(answer?.shredded ?? 0)} key generations shredded`));
  });

  withExamples(keys.command('status').description('admin: stored secrets per KEK id, and KEK ids in use that the broker lacks'), [
    '$ bootkey keys status',
  ]).action(async (_options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const answer = await ctx.client().get<Json>('/admin/keys/status');
    ctx.output.result(answer, () => {
      ctx.output.line(`active KEK: ${String(answer.active_kek_id)}`);
      ctx.output.table(Array.isArray(answer.keks) ? (answer.keks as Json[]) : [], KEK_COLUMNS, 'no KEKs');
      const missing = Array.isArray(answer.missing_kek_ids) ? answer.missing_kek_ids : [];
      if (missing.length > 0) ctx.output.note(`warning: rows use KEKs this broker lacks: ${missing.join(', ')} (add them back to BROKER_KEKS)`);
    });
  });

  withExamples(
    keys
      .command('rotate')
      .description("admin: re-wrap every data key under the broker's active KEK (set BROKER_ACTIVE_KEK to the new key first; `bootkey keygen` makes one)"),
    [
      '$ bootkey keygen --id kek-2026-03       # add the line to BROKER_KEKS, set BROKER_ACTIVE_KEK=kek-2026-03, restart every replica',
      '$ bootkey keys rotate                   # repeat until remaining is 0',
      '$ bootkey keys status                   # then the old KEK may leave BROKER_KEKS',
    ],
  ).action(async (_options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const answer = await ctx.client().post<Json>('/admin/keys/rotate');
    ctx.output.result(answer, () => {
      ctx.output.keyValues([
        ['kek_id', answer.kek_id],
        ['rewrapped', answer.rewrapped],
        ['skipped', answer.skipped],
        ['remaining', answer.remaining],
      ]);
      if (typeof answer.skipped === 'number' && answer.skipped > 0)
        ctx.output.note('some stored secrets cannot be opened (the broker log names them); they stay under their KEK');
      if (typeof answer.remaining === 'number' && answer.remaining > 0)
        ctx.output.note('not done: run `bootkey keys rotate` again once every replica runs the new active KEK; keep the old KEK until remaining is 0');
    });
  });

  return keys;
}
