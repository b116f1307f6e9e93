/**
 * Per-VM volume passphrases, one generation at a time (DESIGN.md "Volume key generations").
 * A sync is one transaction under a row lock on the VM: the boot token is consumed, the plan
 * (generation-plan.ts) applied — keys kept, reactivated, created, rekeyed as new generations,
 * unlisted volumes retired — the event audited and a receipt stored, and only after COMMIT does
 * the response leave, so no passphrase is ever returned that is not stored. Nothing reachable
 * with a boot token destroys key material. An identical retry with the spent token is answered
 * again from the receipt (a lost answer must not cost the VM its boot).
 */
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { sha256Hex } from '../common/crypto/hashing';
import { randomPassphraseHex } from '../common/crypto/random';
import { Database, Executor } from '../database/executor';
import { KeyCustodyService, RewrapOutcome } from '../keys/key-custody.service';
import { MetricsService } from '../ops/metrics.service';
import { KeyReleaseEvent, KeyReleaseEventsRepository } from '../audit/key-release-events.repository';
import { BootTokenBinding, bootTokenHash, BootTokensService, invalidBootToken } from '../boot-tokens/boot-tokens.service';
import { planSync, retainedGenerations, VolumeStep } from './generation-plan';
import { SyncAnswerRefs, SyncReceiptsRepository } from './sync-receipts.repository';
import { volumeAad } from './volume-aad';
import { checkVolumeNames } from './volume-names';
import { GenerationRef, isStored, StoredVolumeKey, VmRef, VolumeKeyGeneration, VolumeKeysRepository } from './volume-keys.repository';

export { volumeAad } from './volume-aad';

/** How many times an identical retry of a spent token's sync is answered again. */
export const MAX_SYNC_REPLAYS = 3;

export interface SyncRequest extends BootTokenBinding {
  token: unknown;
  volumes: string[];
  rekey: string[];
  /** Answer each volume as `{current, previous}` with its retained generations (bootkey's own initramfs). */
  previous: boolean;
  clientIp: string;
}

export interface VolumeWithPrevious {
  current: string;
  /** Retained generations, newest first. */
  previous: string[];
}

export type SyncAnswer = Record<string, string> | Record<string, VolumeWithPrevious>;

/** Who asked for keys to be shredded, for the event. */
export interface ShredActor {
  /** The signing hotkey (the miner, or an admin). */
  hotkey: string;
  role: 'miner' | 'admin';
  clientIp: string | null;
  /** Why: `vm_keys` (DELETE /vms/{vm}/keys) or `server_deleted` (DELETE /servers/{x}?destroy_keys=true). */
  reason: 'vm_keys' | 'server_deleted';
}

/** The digest an identical retry must repeat: the request as the broker understood it. */
function requestDigest(request: SyncRequest): string {
  return sha256Hex(JSON.stringify({ volumes: request.volumes, rekey: request.rekey, previous: request.previous }));
}

@Injectable()
export class LuksService implements OnModuleInit {
  constructor(
    private readonly db: Database,
    private readonly volumeKeys: VolumeKeysRepository,
    private readonly receipts: SyncReceiptsRepository,
    private readonly custody: KeyCustodyService,
    private readonly tokens: BootTokensService,
    private readonly keyReleases: KeyReleaseEventsRepository,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.custody.registerSealedTable('luks_volumes', { rewrap: () => this.rewrapVolumes(), countByKek: () => this.volumeKeys.countByKek() });
  }

  /** Checks names against LUKS_VOLUMES and rekey ⊆ volumes (422 before anything is touched). */
  validateVolumes(volumes: string[], rekey: string[]): void {
    checkVolumeNames(volumes, this.config.luksVolumes);
    const listed = new Set(volumes);
    const stray = rekey.filter((volume) => !listed.has(volume));
    if (stray.length > 0) throw new DomainError(ErrorCode.VALIDATION_FAILED, `rekey must be a subset of volumes; not in volumes: ${stray.join(', ')}`);
  }

  async sync(request: SyncRequest): Promise<SyncAnswer> {
    this.validateVolumes(request.volumes, request.rekey);
    const vm = { minerHotkey: request.minerHotkey, vmName: request.vmName };
    const digest = requestDigest(request);
    const { answer, replaced } = await this.db.transaction(async (tx) => {
      const now = this.clock.now();
      await this.volumeKeys.lockVm(vm, now, tx);
      const consumed = await this.tokens.tryConsume(request.token, vm, tx);
      if (!consumed) return { answer: await this.replay(request, digest, now, tx), replaced: 0 };
      return this.applySync(request, consumed, digest, now, tx);
    });
    if (replaced > 0) this.metrics.keyReplacements.inc({ cause: 'rekey' }, replaced);
    return answer;
  }

  /** The legacy GET: the current `storage` passphrase for a valid (not consumed) token bound to this VM. */
  async legacyStoragePassphrase(token: unknown, binding: BootTokenBinding, clientIp: string): Promise<string> {
    return this.db.transaction(async (tx) => {
      const { attestationId } = await this.tokens.validate(token, binding, tx);
      const storage = (await this.volumeKeys.generationsOf(binding, tx)).find((key) => key.volume === 'storage' && key.state === 'current');
      if (!storage || !isStored(storage)) throw new DomainError(ErrorCode.NOT_FOUND, 'this VM has no storage volume key');
      const passphrase = this.openVolume(storage);
      await this.keyReleases.insert(
        {
          kind: 'legacy_get',
          createdAt: this.clock.now(),
          ...binding,
          attestationId,
          clientIp,
          returned: ['storage'],
          detail: { generations: { storage: storage.generation } },
        },
        tx,
      );
      return passphrase;
    });
  }

  /**
   * Shreds every kept generation of every volume of a VM in `tx` (explicit only: a miner, an
   * admin, or a server deleted with destroy_keys=true); returns what was shredded. A VM with no
   * keys shreds nothing and writes no event.
   */
  async shredVm(tx: Executor, vm: VmRef, actor: ShredActor): Promise<GenerationRef[]> {
    if (!(await this.volumeKeys.lockExistingVm(vm, tx))) return [];
    const now = this.clock.now();
    const shredded = await this.volumeKeys.shredVm(vm, now, tx);
    if (shredded.length === 0) return shredded;
    const volumes = [...new Set(shredded.map((ref) => ref.volume))];
    await this.keyReleases.insert(
      {
        kind: 'shred',
        createdAt: now,
        ...vm,
        attestationId: null,
        clientIp: actor.clientIp,
        pruned: volumes,
        detail: { generations: generationsByVolume(shredded), actor: actor.hotkey, actor_role: actor.role, reason: actor.reason },
      },
      tx,
    );
    this.metrics.keyGenerationsShredded.inc({ reason: 'shred' }, shredded.length);
    return shredded;
  }

  /** Opens a stored generation; KEY_UNAVAILABLE when it cannot be (see envelope.ts). */
  openVolume(key: StoredVolumeKey): string {
    return Buffer.from(this.custody.open(key.sealed, volumeAad(key.minerHotkey, key.vmName, key.volume, key.generation))).toString('utf8');
  }

  private async applySync(
    request: SyncRequest,
    consumed: { attestationId: string; tokenHash: string },
    digest: string,
    now: Date,
    tx: Executor,
  ): Promise<{ answer: SyncAnswer; replaced: number }> {
    const { minerHotkey, vmName, clientIp } = request;
    const vm = { minerHotkey, vmName };
    const { attestationId } = consumed;
    const stored = await this.volumeKeys.generationsOf(vm, tx);
    const plan = planSync(stored, request.volumes, request.rekey);
    for (const ref of plan.retire) await this.volumeKeys.changeState(vm, ref, ['current'], 'retired', now, tx);

    const passphrases = new Map<string, string>();
    const replacedEvents: KeyReleaseEvent[] = [];
    for (const step of plan.steps) {
      passphrases.set(step.volume, await this.applyStep(vm, step, stored, { attestationId, clientIp }, now, tx));
      if (step.action === 'rekey') {
        replacedEvents.push({
          kind: 'replaced',
          createdAt: now,
          ...vm,
          attestationId,
          clientIp,
          rekeyed: [step.volume],
          detail: {
            cause: 'rekey',
            volume: step.volume,
            generation: step.generation,
            replaced_generation: step.replaces.generation,
            replaced_state: step.replaces.state,
          },
        });
      }
    }

    const refs: SyncAnswerRefs = {
      previous: request.previous,
      volumes: plan.steps.map((step) => ({
        volume: step.volume,
        generation: step.generation,
        previous: request.previous ? retainedGenerations(stored, step.volume, step.generation) : [],
      })),
    };
    const answer = this.answerFrom(refs, stored, passphrases);
    await this.keyReleases.insert(
      {
        kind: 'sync',
        createdAt: now,
        ...vm,
        attestationId,
        clientIp,
        returned: plan.steps.map((step) => step.volume),
        created: plan.steps.filter((step) => step.action === 'create').map((step) => step.volume),
        rekeyed: plan.steps.filter((step) => step.action === 'rekey').map((step) => step.volume),
        pruned: plan.retire.map((ref) => ref.volume),
        detail: {
          generations: Object.fromEntries(refs.volumes.map((entry) => [entry.volume, entry.generation])),
          ...(request.previous ? { previous: Object.fromEntries(refs.volumes.map((entry) => [entry.volume, entry.previous])) } : {}),
          reactivated: plan.steps.filter((step) => step.action === 'reactivate').map((step) => step.volume),
          retired: Object.fromEntries(plan.retire.map((ref) => [ref.volume, ref.generation])),
        },
      },
      tx,
    );
    for (const event of replacedEvents) await this.keyReleases.insert(event, tx);
    await this.receipts.insert({ tokenHash: consumed.tokenHash, ...vm, requestSha256: digest, answer: refs, createdAt: now }, tx);
    return { answer, replaced: replacedEvents.length };
  }

  /** Carries out one volume's step; returns the passphrase of the generation that is now current. */
  private async applyStep(
    vm: VmRef,
    step: VolumeStep,
    stored: VolumeKeyGeneration[],
    cause: { attestationId: string; clientIp: string },
    now: Date,
    tx: Executor,
  ): Promise<string> {
    const existing = (generation: number) => {
      const key = stored.find((candidate) => candidate.volume === step.volume && candidate.generation === generation);
      if (!key || !isStored(key)) throw new Error(`generation ${generation} of ${step.volume} is not stored`);
      return key;
    };
    switch (step.action) {
      case 'keep':
        return this.openVolume(existing(step.generation));
      case 'reactivate':
        await this.volumeKeys.changeState(vm, step, ['retired'], 'current', now, tx);
        return this.openVolume(existing(step.generation));
      case 'rekey':
        await this.volumeKeys.changeState(vm, { volume: step.volume, generation: step.replaces.generation }, [step.replaces.state], 'superseded', now, tx);
        return this.createGeneration(vm, step, cause, now, tx);
      case 'create':
        return this.createGeneration(vm, step, cause, now, tx);
    }
  }

  private async createGeneration(vm: VmRef, ref: GenerationRef, cause: { attestationId: string; clientIp: string }, now: Date, tx: Executor): Promise<string> {
    const passphrase = randomPassphraseHex(64);
    const sealed = this.custody.seal(Buffer.from(passphrase, 'utf8'), volumeAad(vm.minerHotkey, vm.vmName, ref.volume, ref.generation));
    await this.volumeKeys.insertGeneration(vm, { volume: ref.volume, generation: ref.generation, sealed, ...cause }, now, tx);
    return passphrase;
  }

  /**
   * Answers an identical retry of a spent token's sync from its receipt: the same generations,
   * whatever happened to them since (unless shredded). Anything else stays 401.
   */
  private async replay(request: SyncRequest, digest: string, now: Date, tx: Executor): Promise<SyncAnswer> {
    const vm = { minerHotkey: request.minerHotkey, vmName: request.vmName };
    const tokenHash = bootTokenHash(request.token);
    if (!tokenHash) throw invalidBootToken();
    const claimed = await this.receipts.claimReplay(tokenHash, vm, digest, now, MAX_SYNC_REPLAYS, tx);
    if (!claimed) throw invalidBootToken();
    const stored = await this.volumeKeys.generationsOf(vm, tx);
    const passphrases = new Map<string, string>();
    for (const entry of claimed.answer.volumes) {
      const key = stored.find((candidate) => candidate.volume === entry.volume && candidate.generation === entry.generation);
      // Shredded since the first answer: that answer cannot be given again.
      if (!key || !isStored(key)) throw invalidBootToken();
      passphrases.set(entry.volume, this.openVolume(key));
    }
    const answer = this.answerFrom(claimed.answer, stored, passphrases);
    await this.keyReleases.insert(
      {
        kind: 'sync_replay',
        createdAt: now,
        ...vm,
        attestationId: claimed.attestationId,
        clientIp: request.clientIp,
        returned: claimed.answer.volumes.map((entry) => entry.volume),
        detail: { replay: claimed.replays, generations: Object.fromEntries(claimed.answer.volumes.map((entry) => [entry.volume, entry.generation])) },
      },
      tx,
    );
    return answer;
  }

  /** The response body for `refs`: current passphrases given, previous ones opened here (a shredded previous one is left out). */
  private answerFrom(refs: SyncAnswerRefs, stored: VolumeKeyGeneration[], current: Map<string, string>): SyncAnswer {
    if (!refs.previous) return Object.fromEntries(refs.volumes.map((entry) => [entry.volume, current.get(entry.volume)!]));
    const answer: Record<string, VolumeWithPrevious> = {};
    for (const entry of refs.volumes) {
      const previous: string[] = [];
      for (const generation of entry.previous) {
        const key = stored.find((candidate) => candidate.volume === entry.volume && candidate.generation === generation);
        if (key && isStored(key)) previous.push(this.openVolume(key));
      }
      answer[entry.volume] = { current: current.get(entry.volume)!, previous };
    }
    return answer;
  }

  private async rewrapVolumes(): Promise<RewrapOutcome> {
    const keys = await this.volumeKeys.wrappedByOtherKek(this.custody.activeKekId);
    return this.custody.rewrapAll(
      keys,
      (key) => ({ sealed: key.sealed, aad: volumeAad(key.minerHotkey, key.vmName, key.volume, key.generation) }),
      (key, rewrapped) => this.volumeKeys.saveRewrapped(key, rewrapped),
    );
  }
}

/** `{volume: [generations]}` of a list of refs. */
export function generationsByVolume(refs: GenerationRef[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const ref of refs) (out[ref.volume] ??= []).push(ref.generation);
  return out;
}
