/**
 * GPU evidence: GPU_EVIDENCE_VERIFIER names a command run as `<command> <nonce> <evidence-file>`
 * (exit 0 = valid), as the reference runs NVIDIA's verifier. Without one, registration is
 * refused unless GPU_EVIDENCE=skip (announced at start).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError, ErrorCode } from '../common/errors';

const VERIFIER_TIMEOUT_MS = 60_000;

export type GpuEvidenceOutcome = 'verified' | 'skipped';

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

  async verify(nonce: string, evidence: unknown): Promise<GpuEvidenceOutcome> {
    const command = this.config.gpuEvidenceVerifier;
    if (!command) {
      if (this.config.gpuEvidence === 'skip') return 'skipped';
      throw new DomainError(ErrorCode.GPU_VERIFIER_UNAVAILABLE, 'this broker cannot verify GPU evidence (no GPU_EVIDENCE_VERIFIER configured)');
    }
    if (evidence === null || evidence === undefined) throw new DomainError(ErrorCode.GPU_EVIDENCE_INVALID, 'the attestation service sent no GPU evidence');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bootkey-gpu-'));
    const file = path.join(dir, 'evidence.json');
    try {
      await fs.writeFile(file, JSON.stringify(evidence), { mode: 0o600 });
      const ok = await new Promise<boolean>((resolve) => {
        execFile(command, [nonce, file], { timeout: VERIFIER_TIMEOUT_MS }, (error) => resolve(!error));
      });
      if (!ok) throw new DomainError(ErrorCode.GPU_EVIDENCE_INVALID, 'GPU evidence did not verify');
      return 'verified';
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}
