/**
 * The miner side of the Chutes client tests (run by test/chutes/run.sh against the broker it
 * started): registration as chutes-miner sends it, against the fake VM agent that enforces the
 * validator signature and the chutes-nvattest stand-in that checks its contract; then the real
 * tools' loops — `remote-inventory`, name sync (one header set, a PATCH per server) and
 * `scorch-remote` (one header set, a DELETE per server). Prints one line per test and writes
 * `{passed, failed}` to --results.
 *
 *   node -r ./test/support/forge/ts-register.cjs test/chutes/miner/miner-e2e.ts --url U --ca F
 *        --hotkey-file F --agent-dir D --nvattest-log F --validator-seed-file F --results F
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  hotkeyFromSeed,
  loadHotkeyFile,
  nodeArgs,
  registerServer,
  remoteInventory,
  Reply,
  scorchRemote,
  send,
  signRequest,
  syncNames,
  Validator,
} from './chutes-miner';

interface Test {
  name: string;
  /** What the test needs that another branch brings (printed when it fails). */
  waitsOn?: string;
  run: () => Promise<void>;
}

interface AgentRequest {
  path: string;
  nonce: string;
  hotkey: string | null;
  ts: string | null;
  age_s: number | null;
  status: number;
  detail: string | null;
}

interface NvattestCall {
  result: string;
  why: string;
  argv: string[];
  declared_file: string;
}

const HOST = '127.0.0.1';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      ca: { type: 'string' },
      'hotkey-file': { type: 'string' },
      'agent-dir': { type: 'string' },
      'nvattest-log': { type: 'string' },
      'validator-seed-file': { type: 'string' },
      results: { type: 'string' },
    },
  });
  const validator: Validator = { url: values.url!, ca: fs.readFileSync(values.ca!, 'utf8') };
  const miner = await loadHotkeyFile(values['hotkey-file']!);
  const validatorKey = await hotkeyFromSeed(fs.readFileSync(values['validator-seed-file']!, 'utf8'));
  const agentDir = values['agent-dir']!;
  const agentConfigFile = path.join(agentDir, 'config.json');

  const jsonLines = <T>(file: string): T[] =>
    fs.existsSync(file)
      ? fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as T)
      : [];
  const agentRequests = () => jsonLines<AgentRequest>(path.join(agentDir, 'requests.jsonl'));
  const nvattestCalls = () => jsonLines<NvattestCall>(values['nvattest-log']!);
  const agentConfig = () => JSON.parse(fs.readFileSync(agentConfigFile, 'utf8')) as Record<string, unknown>;
  const setAgent = (change: Record<string, unknown>) => fs.writeFileSync(agentConfigFile, JSON.stringify({ ...agentConfig(), ...change }));
  const show = (reply: Reply) => `HTTP ${reply.status} ${reply.text.slice(0, 300)}`;
  const gpuUuids = () => [`GPU-${randomUUID()}`, `GPU-${randomUUID()}`];

  /** Registers a server as chutes-miner does; returns the reply and what the agent and verifier saw. */
  async function register(id: string, name: string, extra: Record<string, unknown> = {}, gpuExtra: Record<string, unknown> = {}) {
    const uuids = gpuUuids();
    setAgent({ gpus: uuids });
    const agentBefore = agentRequests().length;
    const nvBefore = nvattestCalls().length;
    const reply = await registerServer(validator, miner, {
      host: HOST,
      id,
      name,
      gpus: uuids.map((uuid, i) => ({ ...nodeArgs(uuid, i, HOST), ...gpuExtra })),
      ...extra,
    });
    return { reply, uuids, agent: agentRequests().slice(agentBefore), nvattest: nvattestCalls().slice(nvBefore) };
  }

  function expectRegistered(outcome: Awaited<ReturnType<typeof register>>): void {
    const { reply, agent, nvattest } = outcome;
    assert.equal(agent.length, 1, `expected one evidence fetch at the VM agent, saw ${agent.length} (broker: ${show(reply)})`);
    const fetch = agent[0];
    assert.equal(
      fetch.hotkey,
      validatorKey.address,
      `the evidence fetch was signed by ${fetch.hotkey ?? 'nobody'}, not the broker's validator key ${validatorKey.address} (agent: ${fetch.status} ${fetch.detail ?? ''})`,
    );
    assert.equal(fetch.status, 200, `the VM agent refused the evidence fetch: ${fetch.status} ${fetch.detail ?? ''}`);
    assert.ok(fetch.age_s !== null && fetch.age_s >= -5 && fetch.age_s < 30, `signature timestamp ${fetch.age_s} s old`);
    assert.match(fetch.nonce, /^[0-9a-f]{64}$/);
    assert.equal(nvattest.length, 1, `expected one chutes-nvattest run, saw ${nvattest.length}`);
    const call = nvattest[0];
    assert.equal(call.result, 'ok', `chutes-nvattest refused: ${call.why} (argv ${JSON.stringify(call.argv)})`);
    assert.deepEqual(call.argv.slice(0, 3), ['--nonce', fetch.nonce, '--evidence'], 'chutes-nvattest argv');
    assert.equal(reply.status, 201, show(reply));
    assert.equal(typeof (reply.json as { message?: unknown }).message, 'string', 'registration answer has no message');
  }

  const servers: { id: string; name: string }[] = [];

  const tests: Test[] = [
    {
      name: 'registration: validator-signed evidence fetch, chutes-nvattest --nonce/--evidence with the evidence array and the declared GPUs',
      waitsOn: 'chutes-srv (VALIDATOR_KEY_FILE signing, the chutes-nvattest contract)',
      run: async () => {
        for (const [id, name] of [
          ['node-uid-a', 'chutes-node-a'],
          ['node-uid-b', 'chutes-node-b'],
        ]) {
          const outcome = await register(id, name);
          expectRegistered(outcome);
          servers.push({ id, name });
        }
      },
    },
    {
      name: 'registration: fields this broker does not know (a newer chutes-miner) are ignored',
      waitsOn: 'chutes-srv (unknown body fields ignored)',
      run: async () => {
        const outcome = await register('node-uid-c', 'chutes-node-c', { labels: { zone: 'a' } }, { pci_bus_id: '00000000:1B:00.0' });
        expectRegistered(outcome);
        servers.push({ id: 'node-uid-c', name: 'chutes-node-c' });
      },
    },
    {
      name: 'registration: refused when the VM agent does not allow the broker as a validator',
      run: async () => {
        const other = await hotkeyFromSeed(`0x${'42'.repeat(32)}`);
        const allowed = agentConfig().allowed_validators;
        setAgent({ allowed_validators: [other.address] });
        try {
          const { reply, agent, nvattest } = await register('node-uid-refused', 'chutes-node-refused');
          assert.ok(reply.status >= 400, `registered although the VM refused the evidence fetch: ${show(reply)}`);
          assert.equal(agent.length, 1, 'expected one evidence fetch');
          assert.equal(agent[0].status, 401, 'the agent should have refused');
          assert.equal(nvattest.length, 0, 'chutes-nvattest ran without evidence');
          const lookup = await send(validator, 'GET', '/servers/node-uid-refused', signRequest(miner, undefined, 'tee').headers);
          assert.equal(lookup.status, 404, `the refused server exists: ${show(lookup)}`);
        } finally {
          setAgent({ allowed_validators: allowed });
        }
      },
    },
    {
      name: 'remote-inventory: GET /miner/servers/ (purpose miner) lists the servers, newest first',
      waitsOn: 'chutes-srv (GET /miner/servers/)',
      run: async () => {
        const reply = await remoteInventory(validator, miner);
        assert.equal(reply.status, 200, show(reply));
        const listed = (reply.json as { servers: Record<string, unknown>[] }).servers;
        assert.ok(Array.isArray(listed), 'no servers array');
        assert.ok(servers.length >= 2, 'needs the servers registered above');
        assert.deepEqual(listed.map((s) => s.server_id).sort(), servers.map((s) => s.id).sort(), 'the listed servers are not the registered ones');
        for (const server of servers) {
          const entry = listed.find((s) => s.server_id === server.id);
          assert.ok(entry, `${server.id} is not listed`);
          assert.equal(entry.name, server.name);
          assert.equal(entry.ip, HOST);
          assert.equal(entry.is_tee, true);
          assert.equal(entry.version, '0.2.1');
          assert.equal(entry.maintenance_pending, false);
          const gpus = entry.gpus as Record<string, unknown>[];
          assert.equal(gpus.length, 2);
          for (const gpu of gpus) {
            assert.match(String(gpu.uuid), /^GPU-/);
            assert.equal(gpu.gpu_identifier, 'h200');
            assert.equal(typeof gpu.device_index, 'number');
            assert.ok(gpu.verified_at === null || !Number.isNaN(Date.parse(typeof gpu.verified_at === 'string' ? gpu.verified_at : '')), 'verified_at');
            assert.ok('verification_error' in gpu, 'verification_error');
          }
        }
        const created = listed.map((s) => Date.parse(String(s.created_at)));
        assert.deepEqual(
          created,
          [...created].sort((a, b) => b - a),
          'not newest first',
        );
      },
    },
    {
      name: 'GET /miner/servers/ refuses a signature over the tee purpose',
      waitsOn: 'chutes-srv (GET /miner/servers/)',
      run: async () => {
        const reply = await remoteInventory(validator, miner, 'tee');
        assert.equal(reply.status, 401, show(reply));
      },
    },
    {
      name: 'name sync: one header set renames two servers (two PATCHes); it is refused for a DELETE and for the same PATCH again',
      waitsOn: 'chutes-srv (the registrations above; the reuse rule itself is on main)',
      run: async () => {
        assert.ok(servers.length >= 2, 'needs two registered servers');
        const { headers } = signRequest(miner, undefined, 'tee');
        const renames = servers.slice(0, 2).map((s) => ({ id: s.id, name: `${s.name}-synced` }));
        const replies = await syncNames(validator, miner, renames, headers);
        replies.forEach((reply, i) => assert.equal(reply.status, 200, `PATCH ${renames[i].id}: ${show(reply)}`));
        for (const rename of renames) {
          const view = await send(validator, 'GET', `/servers/${rename.id}`, signRequest(miner, undefined, 'tee').headers);
          assert.equal(view.status, 200, show(view));
          assert.equal((view.json as { name: string }).name, rename.name);
          servers.find((s) => s.id === rename.id)!.name = rename.name;
        }
        const otherMethod = await send(validator, 'DELETE', `/servers/${renames[0].id}`, headers);
        assert.equal(otherMethod.status, 401, `a PATCH header set deleted a server: ${show(otherMethod)}`);
        const again = await syncNames(validator, miner, renames.slice(0, 1), headers);
        assert.equal(again[0].status, 401, `the same PATCH was accepted twice: ${show(again[0])}`);
      },
    },
    {
      name: 'scorch-remote: GET /miner/servers/, then one header set deletes every server (a DELETE each)',
      waitsOn: 'chutes-srv (GET /miner/servers/)',
      run: async () => {
        const { listing, deletes } = await scorchRemote(validator, miner);
        assert.equal(listing.status, 200, show(listing));
        assert.ok(deletes.length >= 2, `expected at least two servers to delete, saw ${deletes.length}`);
        for (const { name, reply } of deletes) assert.equal(reply.status, 200, `DELETE ${name}: ${show(reply)}`);
        const after = await remoteInventory(validator, miner);
        assert.equal(after.status, 200, show(after));
        assert.deepEqual((after.json as { servers: unknown[] }).servers, []);
      },
    },
  ];

  let passed = 0;
  let failed = 0;
  for (const test of tests) {
    const started = Date.now();
    try {
      await test.run();
      passed++;
      process.stderr.write(`   pass  ${test.name} (${Math.round((Date.now() - started) / 1000)} s)\n`);
    } catch (error) {
      failed++;
      process.stderr.write(`   FAIL  ${test.name} (${Math.round((Date.now() - started) / 1000)} s)\n`);
      // The assertion's own message, without node's actual/expected diff.
      process.stderr.write(`    FAIL: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}\n`);
      if (test.waitsOn) process.stderr.write(`    (needs ${test.waitsOn})\n`);
    }
  }
  fs.writeFileSync(values.results!, JSON.stringify({ passed, failed }));
}

main().catch((error: unknown) => {
  process.stderr.write(`miner-e2e: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
