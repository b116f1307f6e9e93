import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { UsageError } from '../errors';
import { runCli } from '../main';
import { keyEventDetail, keyEventVolumes, parseSince } from './admin';

describe('parseSince', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  it.each([
    ['30m', '2026-03-01T11:30:00.000Z'],
    ['24h', '2026-02-28T12:00:00.000Z'],
    ['7d', '2026-02-22T12:00:00.000Z'],
    ['90s', '2026-03-01T11:58:30.000Z'],
    ['2026-02-01', '2026-02-01T00:00:00.000Z'],
    ['2026-02-01T10:00:00+02:00', '2026-02-01T08:00:00.000Z'],
  ])('%s → %s', (text, expected) => {
    expect(parseSince(text, now)).toBe(expected);
  });

  it.each(['yesterday', '7w', '', '1700000000'])('refuses %p', (text) => {
    expect(() => parseSince(text, now)).toThrow(UsageError);
  });
});

describe('audit --kind keys: gen-C events read briefly', () => {
  it('a root release: which generation was handed out and why, and the pending next', () => {
    const root = { kind: 'root', returned: ['root'], detail: { handed_out: 0, reason: 'first_boot', next_generation: 1, first_boot: true } };
    expect(keyEventDetail(root)).toBe('root=image(first_boot)→1 first_boot');
    expect(keyEventDetail({ detail: { handed_out: 3, reason: 'fallback', next_generation: 5, first_boot: false } })).toBe('root=3(fallback)→5');
  });

  it('a provision: each volume, with a blank one as none', () => {
    const event = {
      returned: ['storage', 'tdx-cache'],
      detail: {
        generations: {
          storage: { handed_out: null, reason: 'no_current', next_generation: 1 },
          'tdx-cache': { handed_out: 2, reason: 'current', next_generation: 3 },
        },
      },
    };
    expect(keyEventDetail(event)).toBe('generations=storage:none(no_current)→1,tdx-cache:2(current)→3');
    expect(keyEventVolumes(event)).toEqual(['storage', 'tdx-cache']);
  });

  it('promote and discard name their volume', () => {
    const promote = { detail: { volume: 'root', generation: 4, replaced_generation: 3 } };
    expect(keyEventVolumes(promote)).toEqual(['root']);
    expect(keyEventDetail(promote)).toBe('generation=4 replaced=3');
  });
});

describe('measurements retire', () => {
  const impact = {
    dry_run: true,
    sets: [{ name: '8xh200', version: '1.4.0' }],
    servers: [
      {
        server_id: 'srv-1',
        name: 'srv-1',
        vm_name: 'vm-1',
        miner_hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
        host: '203.0.113.7',
        measurement_name: '8xh200',
        measurement_version: '1.4.0',
        attested_at: null,
      },
    ],
    vms: [
      {
        miner_hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
        vm_name: 'vm-9',
        measurement_name: '8xh200',
        measurement_version: '1.4.0',
        last_boot_at: '2026-02-27T10:00:00.000Z',
        booted_other_set_since: true,
      },
    ],
    vms_since: '2026-01-30T00:00:00.000Z',
  };
  let server: http.Server;
  let url: string;
  let requests: string[];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      const dryRun = request.url?.includes('dry_run=true');
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(dryRun ? impact : { name: '8xh200', version: '1.4.0', retired_at: '2026-03-01T00:00:00.000Z' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    requests = [];
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  async function retire(args: string[], answer?: string) {
    const out: string[] = [];
    const err: string[] = [];
    let stdin: NodeJS.ReadStream | undefined;
    if (answer !== undefined) {
      const input = new PassThrough() as unknown as NodeJS.ReadStream;
      input.isTTY = true;
      setTimeout(() => (input as unknown as PassThrough).write(answer), 50);
      stdin = input;
    }
    const code = await runCli(['node', 'bootkey', 'measurements', 'retire', ...args], {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      stdin,
      env: { BOOTKEY_URL: url, BOOTKEY_HOTKEY_SEED: 'ad'.repeat(32) },
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  it('without a terminal and without --yes: shows the impact, retires nothing, exits 2 saying what to do', async () => {
    const result = await retire(['1.4.0', '--name', '8xh200']);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^retiring 8xh200 1\.4\.0 stops matching 1 registered server and 1 VM booted on it since 2026-01-30T00:00:00\.000Z:/);
    expect(result.stdout).toMatch(/^SERVER\s+NAME\s+VM\s+HOTKEY\s+HOST\s+ATTESTED\nsrv-1\s+srv-1\s+vm-1\s+5Grwva\S+\s+203\.0\.113\.7\s+at registration$/m);
    expect(result.stdout).toMatch(/^\S+\s+vm-9\s+2026-02-27T10:00:00\.000Z\s+booted another image since$/m);
    expect(result.stderr).toMatch(/needs confirmation; nothing retired\. Pass --yes/);
    expect(requests).toEqual(['DELETE /admin/measurements/1.4.0?name=8xh200&dry_run=true']);
  });

  it('on a terminal: asks, and retires only on yes', async () => {
    const no = await retire(['1.4.0', '--name', '8xh200'], 'n\n');
    expect([no.code, no.stderr]).toEqual([0, expect.stringContaining('Retire 8xh200 1.4.0? ')]);
    expect(no.stderr).toMatch(/nothing retired/);
    expect(requests).toHaveLength(1);
    const yes = await retire(['1.4.0', '--name', '8xh200'], 'y\n');
    expect([yes.code, yes.stdout.endsWith('retired 8xh200 1.4.0\n')]).toEqual([0, true]);
    expect(requests.slice(1)).toEqual(['DELETE /admin/measurements/1.4.0?name=8xh200&dry_run=true', 'DELETE /admin/measurements/1.4.0?name=8xh200']);
  });

  it('--yes retires without asking; --dry-run only shows; --json keeps stdout to the broker answer', async () => {
    const yes = await retire(['1.4.0', '--name', '8xh200', '--yes']);
    expect(yes.code).toBe(0);
    expect(requests).toEqual(['DELETE /admin/measurements/1.4.0?name=8xh200&dry_run=true', 'DELETE /admin/measurements/1.4.0?name=8xh200']);
    requests = [];
    const dry = await retire(['1.4.0', '--name', '8xh200', '--dry-run']);
    expect([dry.code, requests.length]).toEqual([0, 1]);
    expect(dry.stdout).not.toMatch(/^retired/m);
    const json = await retire(['--json', '1.4.0', '--name', '8xh200', '--yes']);
    expect(JSON.parse(json.stdout)).toMatchObject({ retired_at: '2026-03-01T00:00:00.000Z' });
    expect(json.stderr).toMatch(/stops matching 1 registered server and 1 VM/);
  });
});
