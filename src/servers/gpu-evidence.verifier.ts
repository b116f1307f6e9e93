/**
 * GPU evidence: GPU_EVIDENCE_VERIFIER names a command run as chutes-nvattest is,
 * `<command> --nonce <nonce> --evidence <file>`, the file holding the evidence JSON array (a VM
 * that sends the array JSON-encoded into a string has it decoded once), with
 * BOOTKEY_DECLARED_GPUS_FILE in its environment naming a file with the NodeArgs array the miner
 * declared, so a verifier can bind the evidence to those GPUs. Exit 0 = verified. The files live
 * in a private temporary directory removed afterwards; the command gets a filtered environment
 * (child-env.ts). Without a command, registration is refused unless GPU_EVIDENCE=skip.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError, ErrorCode } from '../common/errors';
import type { NodeArgs } from './dto/server.dto';

const VERIFIER_TIMEOUT_MS = 60_000;
export const DECLARED_GPUS_VARIABLE = 'BOOTKEY_DECLARED_GPUS_FILE';

export type GpuEvidenceOutcome = 'verified' | 'skipped';

const evidenceInvalid = (why: string) => new DomainError(ErrorCode.GPU_EVIDENCE_INVALID, why);

/**
 * The evidence array as the verifier reads it: the VM's value, or — when it is a string, as the
 * real attestation proxy sends it — that string decoded once. Anything else is not evidence.
 */
export function evidenceArray(evidence: unknown): unknown[] {
  if (evidence === null || evidence === undefined) throw evidenceInvalid('the attestation service sent no GPU evidence');
  let value: unknown = evidence;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw evidenceInvalid('the GPU evidence is a string that is not JSON');
    }
  }
  if (!Array.isArray(value)) throw evidenceInvalid('the GPU evidence is not a JSON array');
  return value;
}

@Injectable()
export class GpuEvidenceVerifier implements OnModuleInit {
  private readonly logger = new Logger('gpu-evidence');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  onModuleInit(): void {
    if (!this.config.gpuEvidenceVerifier && this.config.gpuEvidence === 'skip') {
      this.logger.warn('GPU_EVIDENCE=skip: servers are registered without verifying their GPU evidence');
    } else if (!this.config.gpuEvidenceVerifier) {
      this.logger.warn('GPU_EVIDENCE_VERIFIER is not set: server registration is refused (set it, or GPU_EVIDENCE=skip)');
    }
  }

  async verify(nonce: string, evidence: unknown, declaredGpus: NodeArgs[]): Promise<GpuEvidenceOutcome> {
    const command = this.config.gpuEvidenceVerifier;
    if (!command) {
      if (this.config.gpuEvidence === 'skip') return 'skipped';
      throw new DomainError(ErrorCode.GPU_VERIFIER_UNAVAILABLE, 'this broker cannot verify GPU evidence (no GPU_EVIDENCE_VERIFIER configured)');
    }
    const array = evidenceArray(evidence);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bootkey-gpu-'));
    const evidenceFile = path.join(dir, 'evidence.json');
    const gpusFile = path.join(dir, 'declared-gpus.json');
    try {
      await fs.writeFile(evidenceFile, JSON.stringify(array), { mode: 0o600 });
      await fs.writeFile(gpusFile, JSON.stringify(declaredGpus), { mode: 0o600 });
      const outcome = await new Promise<'ok' | 'rejected' | 'unavailable'>((resolve) => {
        execFile(
          command,
          ['--nonce', nonce, '--evidence', evidenceFile],
          { timeout: VERIFIER_TIMEOUT_MS, env: { ...this.config.verifierEnv, [DECLARED_GPUS_VARIABLE]: gpusFile } },
          (error) => {
            if (!error) return resolve('ok');
            // Could not run (missing, not executable) or ran out of time: the broker's problem, not the evidence's.
            if (typeof error.code === 'string' || error.killed) {
              this.logger.error(`GPU_EVIDENCE_VERIFIER ${command} did not run to completion (${typeof error.code === 'string' ? error.code : 'timed out'})`);
              return resolve('unavailable');
            }
            resolve('rejected');
          },
        );
      });
      if (outcome === 'unavailable') throw new DomainError(ErrorCode.GPU_VERIFIER_UNAVAILABLE, 'the GPU evidence verifier could not be run; try again later');
      if (outcome === 'rejected') throw evidenceInvalid('GPU evidence did not verify');
      return 'verified';
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}
