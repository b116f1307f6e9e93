/**
 * `bootkey servers ...`: the miner's server registry (DESIGN.md "Hotkey-signed"): register a
 * running TDX VM (the broker fetches and checks its evidence), list, show, rename, remove, and read
 * its runtime attestation status.
 */
import { Command, Option } from 'commander';
import { CliContext, CliIo } from '../context';
import { UsageError } from '../errors';
import { DEFAULT_VERIFICATION_PORT, discoverGpus, GpuDefaults, NodeArgs, readGpusFile } from '../gpus';
import { Column, inline, renderKeyValues } from '../output';
import { confirm } from '../prompt';
import { wholeNumber, withExamples } from './help';

type Json = Record<string, unknown>;

const path = (id: string) => `/servers/${encodeURIComponent(id)}`;

/** A list answer as an array (the broker answers with one; `{items}` tolerated). */
function rows(answer: unknown): Json[] {
  if (Array.isArray(answer)) return answer as Json[];
  const items = (answer as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as Json[]) : [];
}

function gpusOf(server: Json): Json[] {
  const gpus = server.gpus ?? server.nodes;
  return Array.isArray(gpus) ? (gpus as Json[]) : [];
}

const SERVER_COLUMNS: Column<Json>[] = [
  { header: 'ID', value: (s) => s.server_id ?? s.id },
  { header: 'NAME', value: (s) => s.name },
  { header: 'HOST', value: (s) => s.host },
  { header: 'GPUS', value: (s) => gpusOf(s).length },
  { header: 'MEASUREMENT', value: (s) => (s.measurement_name ? `${inline(s.measurement_name)} ${inline(s.measurement_version)}`.trim() : undefined) },
  { header: 'CREATED', value: (s) => s.created_at },
];

const GPU_COLUMNS: Column<Json>[] = [
  { header: 'INDEX', value: (g) => g.device_index },
  { header: 'UUID', value: (g) => g.uuid },
  { header: 'NAME', value: (g) => g.name },
  { header: 'IDENTIFIER', value: (g) => g.gpu_identifier },
];

/** Top-level scalar fields of an object, as key/value pairs (nested objects and lists skipped). */
function scalarPairs(value: Json): [string, unknown][] {
  return Object.entries(value).filter(([, v]) => v === null || typeof v !== 'object');
}

interface RegisterOptions {
  host: string;
  id: string;
  name?: string;
  gpusFile?: string;
  gpuIdentifier?: string;
  verificationHost?: string;
  verificationPort: number;
}

function gpuList(options: RegisterOptions): NodeArgs[] {
  const defaults: GpuDefaults = {
    gpuIdentifier: options.gpuIdentifier,
    verificationHost: options.verificationHost ?? options.host,
    verificationPort: options.verificationPort,
  };
  if (options.gpusFile !== undefined) return readGpusFile(options.gpusFile, defaults);
  const discovered = discoverGpus(defaults);
  if (!discovered) {
    throw new UsageError('no GPU list: nvidia-smi is not on PATH; pass --gpus-file FILE (a JSON array of NodeArgs, [] for a server without GPUs)');
  }
  return discovered;
}

export function serversCommand(io: CliIo): Command {
  const servers = new Command('servers').description('register and manage your TDX servers (signed with your hotkey)');
  withExamples(servers, [
    '$ bootkey servers register --host 203.0.113.7 --id 8c6f… --name gpu-vm-01',
    '$ bootkey servers list',
    '$ bootkey servers status 8c6f…',
  ]);

  withExamples(
    servers
      .command('register')
      .description(
        'register a running TDX VM: the broker fetches fresh evidence from https://HOST:ATTESTATION_PORT/server/attest, verifies it and the GPUs, and stores the server',
      )
      .requiredOption('--host <host>', 'public address of the VM (its attestation service must answer there)')
      .requiredOption('--id <id>', 'the server id to register it under')
      .option('--name <name>', 'the VM name (its hostname, as the initramfs reports it)')
      .option('--gpus-file <file>', 'JSON array of NodeArgs; without it, GPUs are discovered with nvidia-smi')
      .option('--gpu-identifier <id>', 'gpu_identifier for every GPU (default: derived from the GPU name, e.g. h100)')
      .option('--verification-host <host>', 'verification_host for every GPU (default: --host)')
      .addOption(
        new Option('--verification-port <port>', 'verification_port for every GPU')
          .default(DEFAULT_VERIFICATION_PORT)
          .argParser(wholeNumber('--verification-port', 1, 65535)),
      ),
    [
      '# on the GPU host (nvidia-smi discovers the GPUs):',
      '$ bootkey servers register --host 203.0.113.7 --id 3b9e6c1e-0f7a-4c39-9a53-2a1f0c6b7d11 --name gpu-vm-01',
      '# from elsewhere, with the GPU list in a file ([] for none):',
      '$ bootkey servers register --host 203.0.113.7 --id srv-01 --name gpu-vm-01 --gpus-file gpus.json --gpu-identifier h100',
    ],
  ).action(async (options: RegisterOptions, command: Command) => {
    const ctx = CliContext.of(command, io);
    const client = ctx.client();
    const body = { host: options.host, id: options.id, ...(options.name !== undefined ? { name: options.name } : {}), gpus: gpuList(options) };
    await client.signerAddress(); // a hotkey problem is reported before the wait starts
    const answer = await ctx.output.progress(`registering ${options.id}: the broker is fetching and verifying evidence from ${options.host}`, () =>
      client.post<Json>('/servers/', body),
    );
    ctx.output.result(answer, () => {
      ctx.output.line(typeof answer?.message === 'string' ? answer.message : `registered ${options.id}`);
      ctx.output.note(`next: bootkey servers status ${options.id}`);
    });
  });

  withExamples(servers.command('list').description('list the servers registered with your hotkey'), [
    '$ bootkey servers list',
    '$ bootkey servers list --json | jq -r ".[].name"',
  ]).action(async (_options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const answer = await ctx.client().get<unknown>('/servers/');
    ctx.output.result(answer, () => ctx.output.table(rows(answer), SERVER_COLUMNS, 'no servers are registered with this hotkey'));
  });

  withExamples(servers.command('show').description('one server with its GPUs').argument('<server-id>'), ['$ bootkey servers show srv-01']).action(
    async (id: string, _options: unknown, command: Command) => {
      const ctx = CliContext.of(command, io);
      const server = await ctx.client().get<Json>(path(id));
      ctx.output.result(server, () => {
        ctx.output.keyValues(scalarPairs(server));
        const gpus = gpusOf(server);
        if (gpus.length > 0) {
          ctx.output.line();
          ctx.output.table(gpus, GPU_COLUMNS, '');
        }
      });
    },
  );

  withExamples(servers.command('rename').description('give a server a new name').argument('<server-id>').argument('<new-name>'), [
    '$ bootkey servers rename srv-01 gpu-vm-02',
  ]).action(async (id: string, name: string, _options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const server = await ctx.client().patch<Json>(path(id), { query: { server_name: name } });
    ctx.output.result(server, () => ctx.output.line(`renamed ${id} to ${cellName(server, name)}`));
  });

  withExamples(
    servers
      .command('remove')
      .description(
        "remove a server from the registry; its VM's volume keys are kept (re-adding the server finds them again) unless --destroy-keys (asks first; --yes for scripts)",
      )
      .argument('[server-name-or-id]')
      .option('--id <id>', 'the server with this id (when a name and an id are the same text)')
      .option('--name <name>', 'the server with this name')
      .option('--destroy-keys', "also shred its VM's volume keys: its encrypted disks can never be unlocked again")
      .option('-y, --yes', 'do not ask for confirmation'),
    [
      '$ bootkey servers remove gpu-vm-01',
      '$ bootkey servers remove --id srv-01 --yes   # scripts: no prompt',
      '$ bootkey servers remove gpu-vm-01 --destroy-keys',
    ],
  ).action(async (argument: string | undefined, options: { id?: string; name?: string; destroyKeys?: boolean; yes?: boolean }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const given = [argument, options.id, options.name].filter((value) => value !== undefined);
    if (given.length !== 1) throw new UsageError('name the server once: SERVER-NAME-OR-ID, --id ID or --name NAME');
    const target = given[0];
    const by = options.id !== undefined ? 'id' : options.name !== undefined ? 'name' : undefined;
    if (!options.yes) {
      const question = options.destroyKeys
        ? `Remove ${target} and shred its VM's volume keys? Its encrypted disks can never be unlocked again. [y/N] `
        : `Remove ${target} from the registry? Its VM's volume keys are kept. [y/N] `;
      const ok = await confirm(io, question);
      if (ok === undefined)
        throw new UsageError(
          `removing a server${options.destroyKeys ? ' and shredding its keys' : ''} needs confirmation; pass --yes to confirm when not running in a terminal`,
        );
      if (!ok) {
        ctx.output.note('nothing removed');
        return;
      }
    }
    const answer = await ctx.client().delete<Json>(path(target), { query: { by, destroy_keys: options.destroyKeys ? 'true' : undefined } });
    ctx.output.result(answer, () => {
      const vm = typeof answer?.vm_name === 'string' ? answer.vm_name : target;
      const destroyed = answer?.destroyed_volumes;
      const keys = options.destroyKeys
        ? Array.isArray(destroyed) && destroyed.length > 0
          ? `shredded volume keys of ${vm}: ${destroyed.join(', ')}`
          : `no volume keys were stored for ${vm}`
        : `volume keys of ${vm} kept (bootkey keys list ${vm})`;
      ctx.output.line(`removed ${target}; ${keys}`);
    });
  });

  withExamples(servers.command('status').description("a server's runtime attestation status").argument('<server-id>'), [
    '$ bootkey servers status srv-01',
    '$ bootkey servers status srv-01 --json | jq -r .attestation_status   # never_attested | verified | failed',
  ]).action(async (id: string, _options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const status = await ctx.client().get<Json>(`${path(id)}/attestation/status`);
    ctx.output.result(status, () => {
      ctx.output.keyValues([
        ['server', status.server_id],
        ['name', status.name],
        ['attestation', status.attestation_status],
      ]);
      const last = status.last_attestation;
      if (last && typeof last === 'object') {
        ctx.output.line('last attestation:');
        ctx.output.line(
          renderKeyValues(scalarPairs(last as Json))
            .replace(/^/gm, '  ')
            .trimEnd(),
        );
      }
    });
  });

  return servers;
}

function cellName(server: Json | undefined, fallback: string): string {
  return typeof server?.name === 'string' ? server.name : fallback;
}
