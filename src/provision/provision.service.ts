/**
 * The gen-C steps after the boot (DESIGN.md "Chutes VM ≥ 1.3 protocol"; CHUTES-PROTOCOL §2.3–2.5):
 * - `/provision` (1.4.0, signed) and `/luks/attest` (1.3.x, unsigned): a runtime quote bound to
 *   the boot's luks_quote_nonce and the client certificate, matching the set the VM booted with
 *   (runtime registers, RTMR3 included) → each volume's `{current, next}` (next pending), the k3s
 *   key, and a storage confirm nonce; /provision records the client certificate as the VM root CA.
 * - `/provision/confirm` (signed) and `/luks/confirm` (unsigned): promote or discard the pending
 *   generations of the issue the confirm nonce belongs to; an identical repeat gets the same answer.
 * A VM that booted gen C (it has a vm_auth key) must use the signed routes. Every call is one
 * audited attempt (steps `provision` and `confirm` of boot_attestations); keys leave only after COMMIT.
 */
import type { X509Certificate } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError, ErrorCode } from '../common/errors';
import { sha256Hex } from '../common/crypto/hashing';
import { spkiSha256Hex } from '../common/client/client-identity';
import { canonicalSs58, isSs58Address } from '../common/validation/ss58';
import { readPossessionProof } from '../auth/possession-proof';
import { HeaderBag, single } from '../auth/signed-request';
import { AppraisalRecord, QuoteAppraisalService } from '../attestation/quote-appraisal.service';
import { AuditedAttempts } from '../audit/audited-attempts.service';
import { KeyReleaseEventsRepository } from '../audit/key-release-events.repository';
import { NonceService } from '../nonces/nonce.service';
import { KeyRotationService } from '../key-rotation/key-rotation.service';
import type { ConfirmScope } from '../key-rotation/confirm-nonces.repository';
import { checkVolumeNames } from '../luks/volume-names';
import { VmAuthService } from '../vm-auth/vm-auth.service';
import type { VmBootState } from '../vm-auth/vm-boot-states.repository';
import { ConfirmResponse, ProvisionRequest, ProvisionResponse, VolumeKeyPair } from './dto/provision.dto';

export interface VmCaller {
  clientIp: string;
  certificate: X509Certificate | undefined;
  headers: HeaderBag;
  rawBody: Uint8Array | undefined;
}

/** `/provision` and `/provision/confirm` are signed (1.4.0); `/luks/attest` and `/luks/confirm` are not (1.3.x). */
export type Route = 'signed' | 'legacy';

type Vm = { minerHotkey: string; vmName: string };

@Injectable()
export class ProvisionService {
  private readonly logger = new Logger('provision');

  constructor(
    private readonly nonces: NonceService,
    private readonly appraisal: QuoteAppraisalService,
    private readonly attempts: AuditedAttempts,
    private readonly rotation: KeyRotationService,
    private readonly vmAuth: VmAuthService,
    private readonly keyReleases: KeyReleaseEventsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async provision(vmName: string, body: ProvisionRequest, caller: VmCaller, route: Route): Promise<ProvisionResponse> {
    const minerHotkey = this.callerHotkey(caller.headers);
    const vm = { minerHotkey: minerHotkey ?? '', vmName };
    const subject = { kind: 'provision' as const, minerHotkey, vmName, clientIp: caller.clientIp };
    return this.attempts.run(subject, async (attempt) => {
      const { record } = attempt;
      record.verdict.route = route === 'signed' ? 'provision' : 'luks_attest';
      if (!minerHotkey) throw new DomainError(ErrorCode.SIGNATURE_MISSING, 'X-Chutes-Hotkey (the miner hotkey, ss58) is required');
      const quoteNonce = (single(caller.headers, 'x-quote-nonce') ?? '').trim().toLowerCase();
      const { verdict, attestationId: bootId } = await this.nonces.consumeQuoteNonce(quoteNonce, vm);
      record.verdict.nonce = verdict;
      if (verdict !== 'ok' || !bootId)
        throw new DomainError(ErrorCode.QUOTE_NONCE_INVALID, 'X-Quote-Nonce is missing, unknown, expired, used, or was issued to another VM');
      const boot = await this.bootOf(vm, bootId, route, record);
      const provenHotkey = route === 'signed' ? this.requireSignature(caller, quoteNonce, record) : undefined;
      const volumes = this.checkVolumeNames(body.volumes, route);
      const raw = this.appraisal.decode(body.quote, record);
      attempt.quoteSha256 = sha256Hex(raw);
      const quote = this.appraisal.parse(raw, record);
      const keyHash = caller.certificate ? spkiSha256Hex(caller.certificate) : undefined;
      const { set } = await this.appraisal.appraise(raw, quote, { kind: 'runtime', nonce: Buffer.from(quoteNonce, 'hex'), keyHash, provenHotkey }, record);
      if (boot.measurementSetId !== null && set.id !== boot.measurementSetId) {
        record.verdict.measurement = { ...(record.verdict.measurement as object), matched_boot_set: false, boot_version: boot.measurementVersion };
        throw new DomainError(ErrorCode.MEASUREMENT_MISMATCH, 'measurements match no registered measurement set');
      }
      if (!set.rc) this.requireAllVolumes(volumes);

      const answer = await attempt.succeed(async (tx, attestationId) => {
        const now = attempt.createdAt;
        const cause = { attestationId, clientIp: caller.clientIp, now };
        await this.rotation.lockVm(vm, now, tx);
        const issued: Record<string, VolumeKeyPair> = {};
        const generations: Record<string, unknown> = {};
        let storageStartsOver = !volumes.includes('storage');
        for (const volume of volumes) {
          const key = await this.rotation.issue(vm, volume, {}, cause, tx);
          issued[volume] = { current: key.key, next: key.next };
          generations[volume] = { handed_out: key.handedOut, reason: key.reason, next_generation: key.nextGeneration };
          if (volume === 'storage') storageStartsOver = key.key === null;
        }
        // A new storage volume starts a new cluster: a new k3s key. Otherwise the stored one, so
        // the secrets k3s encrypted with it stay readable (without storage asked: kept as well).
        const k3s = await this.rotation.k3sKey(vm, volumes.includes('storage') && storageStartsOver, cause, tx);
        const confirmNonce = await this.rotation.issueConfirmNonce(vm, 'storage', attestationId, now, tx);
        if (route === 'signed' && caller.certificate) await this.vmAuth.recordRootCa(vm, bootId, caller.certificate.toString(), now, tx);
        await this.keyReleases.insert(
          {
            kind: 'provision',
            createdAt: now,
            ...vm,
            attestationId,
            clientIp: caller.clientIp,
            returned: volumes,
            created: [...volumes.map((volume) => `${volume}_next`), ...(k3s.created ? ['k3s'] : [])],
            detail: { boot_attestation_id: bootId, generations, route: record.verdict.route },
          },
          tx,
        );
        record.verdict.keys = generations;
        return { volumes: issued, confirm_nonce: confirmNonce, k3s_encryption_key: k3s.key };
      });
      this.logger.log({ vmName, minerHotkey, volumes }, 'runtime quote verified; volume keys released');
      return answer;
    });
  }

  async confirm(vmName: string, body: { volumes: Record<string, unknown> }, caller: VmCaller, route: Route): Promise<ConfirmResponse> {
    const minerHotkey = this.callerHotkey(caller.headers);
    const vm = { minerHotkey: minerHotkey ?? '', vmName };
    const subject = { kind: 'confirm' as const, minerHotkey, vmName, clientIp: caller.clientIp };
    return this.attempts.run(subject, async (attempt) => {
      const { record } = attempt;
      record.verdict.route = route === 'signed' ? 'provision_confirm' : 'luks_confirm';
      const volumes = parseConfirmVolumes(body.volumes);
      if (!minerHotkey) throw new DomainError(ErrorCode.SIGNATURE_MISSING, 'X-Chutes-Hotkey (the miner hotkey, ss58) is required');
      const confirmNonce = (single(caller.headers, 'x-confirm-nonce') ?? '').trim().toLowerCase();
      if (route === 'signed') this.requireSignature(caller, confirmNonce, record);
      else {
        const latest = await this.vmAuth.latest(vm);
        if (latest?.vmAuth) this.refuseLegacyForGenC(record);
      }
      const scopeVolumes = (scope: ConfirmScope) => (scope === 'root' ? ['root'] : this.config.luksVolumes);
      const { results, replay } = await attempt.succeed(async (tx) =>
        this.rotation.confirm(vm, confirmNonce, volumes, scopeVolumes, { clientIp: caller.clientIp, now: attempt.createdAt }, tx),
      );
      record.verdict.confirm = { results, replay };
      this.logger.log({ vmName, minerHotkey, results, replay }, 'confirm applied');
      return { status: 'confirmed', volumes: Object.fromEntries(Object.entries(results).map(([volume, result]) => [volume, { result }])) };
    });
  }

  private callerHotkey(headers: HeaderBag): string | null {
    const hotkey = single(headers, 'x-chutes-hotkey');
    return isSs58Address(hotkey) ? canonicalSs58(hotkey) : null;
  }

  /** The boot that issued the quote nonce must still be the VM's latest; a gen-C boot only provisions signed. */
  private async bootOf(vm: Vm, bootId: string, route: Route, record: AppraisalRecord): Promise<VmBootState> {
    const boot = await this.vmAuth.latest(vm);
    if (!boot || boot.attestationId !== bootId) {
      record.verdict.boot = 'superseded';
      throw new DomainError(ErrorCode.QUOTE_NONCE_INVALID, 'a later boot of this VM replaced the one that issued this quote nonce; reboot the VM');
    }
    record.verdict.boot = { attestation_id: bootId, version: boot.measurementVersion, gen_c: boot.vmAuth !== null };
    if (route === 'legacy' && boot.vmAuth) this.refuseLegacyForGenC(record);
    return boot;
  }

  private refuseLegacyForGenC(record: AppraisalRecord): never {
    record.verdict.signature = 'required';
    throw new DomainError(ErrorCode.SIGNATURE_MISSING, 'this VM booted a gen-C image: it must use the signed /provision routes');
  }

  /** The miner's signature over `nonce`; it signs as X-Chutes-Hotkey, the very header that names the VM's miner. */
  private requireSignature(caller: VmCaller, nonce: string, record: AppraisalRecord): string {
    try {
      const proof = readPossessionProof(caller.headers, caller.rawBody, nonce);
      if (!proof.proven)
        throw new DomainError(ErrorCode.SIGNATURE_MISSING, 'this call must be signed with the miner hotkey (X-Chutes-Hotkey, X-Chutes-Signature)');
      record.verdict.signature = 'valid';
      return proof.hotkey;
    } catch (error) {
      record.verdict.signature = error instanceof DomainError ? error.code : 'error';
      throw error;
    }
  }

  private checkVolumeNames(volumes: string[], route: Route): string[] {
    checkVolumeNames(volumes, this.config.luksVolumes);
    if (route === 'legacy' && volumes.length === 0) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'volumes must not be empty');
    return volumes;
  }

  private requireAllVolumes(volumes: string[]): void {
    const missing = this.config.luksVolumes.filter((volume) => !volumes.includes(volume));
    if (missing.length > 0)
      throw new DomainError(
        ErrorCode.VALIDATION_FAILED,
        `volumes must be exactly ${this.config.luksVolumes.join(', ')} (only release-candidate images may ask for fewer); missing: ${missing.join(', ')}`,
      );
  }
}

/** `{<volume>: {rotated: boolean}}`, at least one volume; anything else is 422. */
export function parseConfirmVolumes(raw: Record<string, unknown>): Record<string, boolean> {
  const entries = Object.entries(raw);
  if (entries.length === 0 || entries.length > 16) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'volumes must name 1 to 16 volumes');
  const parsed: Record<string, boolean> = {};
  for (const [volume, value] of entries) {
    const rotated = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { rotated?: unknown }).rotated : undefined;
    if (typeof rotated !== 'boolean') throw new DomainError(ErrorCode.VALIDATION_FAILED, `volumes.${volume} must be {"rotated": true|false}`);
    parsed[volume] = rotated;
  }
  return parsed;
}
