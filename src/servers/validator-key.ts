/**
 * The broker's validator key (VALIDATOR_KEY_FILE: a hex sr25519 seed or a Bittensor hotkey JSON
 * file). A VM's attestation proxy answers `/server/attest` only to an allowed validator: headers
 * `X-Chutes-Hotkey` (ss58), `X-Chutes-Nonce` (unix seconds, at most 30 s old) and
 * `X-Chutes-Signature` (hex sr25519 over `{ss58}:{ts}:attest`). A gen-C VM allows only its per-boot
 * vm_auth key instead (servers.service.ts picks the signer); without either the fetch is sent
 * unsigned, which agents that do not check still answer. The seed never leaves this class.
 */
import * as fs from 'node:fs';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig, ConfigError } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { KeyFileError, loadKeyFile, Sr25519Signer } from '../common/crypto/sr25519-key-file';

/** The purpose word the VM's proxy expects in place of a body hash on its validator routes. */
export const ATTEST_PURPOSE = 'attest';

/** The message a validator signs for a VM's attestation proxy (sek8s `authorize`, purpose `attest`). */
export function validatorMessage(ss58: string, unixSeconds: number): string {
  return `${ss58}:${unixSeconds}:${ATTEST_PURPOSE}`;
}

/** The signature headers of one evidence fetch signed by `signer` at `unixSeconds`. */
export function attestHeaders(signer: Sr25519Signer, unixSeconds: number): Record<string, string> {
  const signature = Buffer.from(signer.sign(validatorMessage(signer.address, unixSeconds))).toString('hex');
  return { 'X-Chutes-Hotkey': signer.address, 'X-Chutes-Nonce': String(unixSeconds), 'X-Chutes-Signature': signature };
}

@Injectable()
export class ValidatorKey implements OnModuleInit {
  private readonly logger = new Logger('validator-key');
  private signer?: Sr25519Signer;

  constructor(
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const file = this.config.validatorKeyFile;
    if (!file) {
      this.logger.warn(
        'VALIDATOR_KEY_FILE is not set: registration evidence is fetched unsigned; VMs whose attestation proxy only answers allowed validators (sek8s) refuse it',
      );
      return;
    }
    this.signer = await loadValidatorKey(file);
    const mode = fs.statSync(file).mode;
    // Group or world access to a signing seed is worth a line, not a refusal (containers mount secrets 0644).
    if ((mode & 0o077) !== 0)
      this.logger.warn(`VALIDATOR_KEY_FILE ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); 0600 is enough`);
    this.logger.log(`validator key ${this.signer.address} (VALIDATOR_KEY_FILE): VMs must list it among their allowed validators`);
  }

  /** The validator's ss58 address, or undefined when no key is configured. */
  get address(): string | undefined {
    return this.signer?.address;
  }

  /** The validator key's signer, or undefined when no key is configured. */
  get key(): Sr25519Signer | undefined {
    return this.signer;
  }

  /** The signature headers of one evidence fetch made now; none without a key. */
  headers(): Record<string, string> {
    return this.signer ? attestHeaders(this.signer, Math.floor(this.clock.now().getTime() / 1000)) : {};
  }
}

/** Reads and checks VALIDATOR_KEY_FILE; every problem is one ConfigError line naming the file, never its content. */
export async function loadValidatorKey(file: string): Promise<Sr25519Signer> {
  try {
    return await loadKeyFile(file, 'VALIDATOR_KEY_FILE');
  } catch (error) {
    if (error instanceof KeyFileError) throw new ConfigError(`invalid configuration: ${error.message}`);
    throw error;
  }
}
