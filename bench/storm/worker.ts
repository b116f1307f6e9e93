/**
 * One load-generator process of `npm run bench:storm` (forked by storm.ts). On `prepare` it makes
 * its VMs' identities — an ephemeral P-256 key and self-signed certificate per VM, its SPKI hash,
 * one attestation key per host of 8 VMs — and opens the forge's PKI; on `go` it boots them all,
 * `concurrency` at a time, retrying refused boots as the initramfs does (a fresh nonce each time,
 * after Retry-After with jitter); on finishing it reports latencies, refusals and its own CPU.
 * On `warm` (before `go`, when --warmup is given) it boots its warm-up VMs the same way and
 * reports nothing but that it is done.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateP256Key } from '../../test/support/forge/ecdsa';
import { openForgeState } from '../../test/support/forge/forge-state';
import { BootAttempt, jitter, sleepMs, StackVm, vmAddress } from '../../test/support/stack-vm';
import { selfSignedCert } from '../../test/support/tls';

export interface PrepareMessage {
  type: 'prepare';
  url: string;
  caPem: string;
  keepalive: boolean;
  forgeStateDir: string;
  runId: string;
  /** VM numbers this worker boots. */
  indexes: number[];
  /** VM numbers it boots on `warm`, before the clock starts (others than `indexes`). */
  warmupIndexes: number[];
  hotkeys: string[];
  concurrency: number;
}

export interface WorkerResult {
  type: 'done';
  latenciesMs: number[];
  /** Refused or failed requests by status ("net" for transport errors). */
  errors: Record<string, number>;
  /** Boots that never succeeded. */
  failed: number;
  failures: string[];
  attempts: number;
  cpuMs: number;
  /** p99 of this process's event-loop delay during the run (ms): queueing in the generator itself, part of every latency. */
  loopDelayP99Ms: number;
}

/** Gives up on a VM after this many attempts (the initramfs powers off at some point too). */
const MAX_ATTEMPTS = 40;
const VMS_PER_HOST = 8;

let vms: StackVm[] = [];
let warmVms: StackVm[] = [];
let prepared: PrepareMessage;

async function prepare(message: PrepareMessage): Promise<void> {
  prepared = message;
  const { pki } = await openForgeState(message.forgeStateDir);
  const hostKeys = new Map<number, ReturnType<typeof generateP256Key>>();
  const make = async (indexes: number[]) => {
    const made: StackVm[] = [];
    for (const index of indexes) {
      const host = Math.floor(index / VMS_PER_HOST);
      if (!hostKeys.has(host)) hostKeys.set(host, generateP256Key());
      const vmName = `storm-${message.runId}-${index}`;
      made.push(
        new StackVm({ url: message.url, caPem: message.caPem, keepalive: message.keepalive }, pki, {
          index,
          vmName,
          hotkey: message.hotkeys[index % message.hotkeys.length],
          localAddress: vmAddress(index),
          cert: await selfSignedCert(`${vmName} ephemeral`),
          attestationKey: hostKeys.get(host)!,
        }),
      );
    }
    return made;
  };
  vms = await make(message.indexes);
  warmVms = await make(message.warmupIndexes);
}

function count(errors: Record<string, number>, key: string): void {
  errors[key] = (errors[key] ?? 0) + 1;
}

function retryable(attempt: BootAttempt): boolean {
  return attempt.networkError !== undefined || attempt.status === 429 || (attempt.status ?? 0) >= 500;
}

async function run(vms: StackVm[]): Promise<WorkerResult> {
  const cpuStart = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const result: WorkerResult = { type: 'done', latenciesMs: [], errors: {}, failed: 0, failures: [], attempts: 0, cpuMs: 0, loopDelayP99Ms: 0 };
  let next = 0;
  const loop = async () => {
    for (let i = next++; i < vms.length; i = next++) {
      const vm = vms[i];
      let backoffMs = 1000;
      for (let attemptNo = 1; ; attemptNo++) {
        const attempt = await vm.boot();
        result.attempts++;
        for (const status of attempt.retriedSyncs ?? []) count(result.errors, String(status));
        if (attempt.ok) {
          result.latenciesMs.push(attempt.ms);
          break;
        }
        count(result.errors, attempt.networkError !== undefined ? 'net' : String(attempt.status));
        if (!retryable(attempt) || attemptNo >= MAX_ATTEMPTS) {
          result.failed++;
          if (result.failures.length < 5) {
            result.failures.push(`${vm.identity.vmName}: ${attempt.step} ${attempt.networkError ?? `${attempt.status} ${attempt.code ?? ''}`}`);
          }
          break;
        }
        const wait = attempt.retryAfterS !== undefined ? attempt.retryAfterS * 1000 : backoffMs;
        backoffMs = Math.min(backoffMs * 2, 8000);
        await sleepMs(jitter(Math.max(wait, 200)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(prepared.concurrency, vms.length) }, loop));
  const cpu = process.cpuUsage(cpuStart);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  loopDelay.disable();
  result.loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
  return result;
}

process.on('message', (message: PrepareMessage | { type: 'warm' | 'go' }) => {
  const reply = (value: unknown) => process.send?.(value);
  if (message.type === 'prepare') {
    prepare(message).then(
      () => reply({ type: 'ready' }),
      (error: unknown) => reply({ type: 'error', message: (error as Error).stack ?? String(error) }),
    );
  } else if (message.type === 'warm') {
    run(warmVms).then(
      () => reply({ type: 'warmed' }),
      (error: unknown) => reply({ type: 'error', message: (error as Error).stack ?? String(error) }),
    );
  } else if (message.type === 'go') {
    run(vms).then(reply, (error: unknown) => reply({ type: 'error', message: (error as Error).stack ?? String(error) }));
  }
});
