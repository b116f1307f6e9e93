/**
 * Gen-C key rotation (DESIGN.md "Chutes VM ≥ 1.3 protocol"): the boot hands a VM its root key
 * and a pending `root_next`; /provision hands each volume its `{current, next}`; confirms promote
 * or discard the pending generations. Keys are generations of luks_volumes (`root`, the volumes,
 * and `k3s` for the k3s secretbox key), sealed with the volume AAD; nothing is ever deleted here.
 * Which key is handed out, the lost-answer fallback included, is rotation-plan.ts. Every method
 * runs in the caller's transaction, under the VM's row lock, so an answer only leaves once what
 * it hands out is stored.
 */
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { sha256Hex } from '../common/crypto/hashing';
import { isHex32, randomHex, randomPassphraseHex } from '../common/crypto/random';
import type { Executor } from '../database/executor';
import { schedulePurge } from '../database/expiry-purge';
import { KeyCustodyService } from '../keys/key-custody.service';
import { KeyReleaseEventsRepository } from '../audit/key-release-events.repository';
import { volumeAad } from '../luks/volume-aad';
import { isStored, VmRef, VolumeKeyGeneration, VolumeKeysRepository } from '../luks/volume-keys.repository';
import { ConfirmNoncesRepository, ConfirmScope } from './confirm-nonces.repository';
import { HandOutReason, planRotation } from './rotation-plan';

/** Who caused a change: the attempt's audit row and the client. */
export interface RotationCause {
  attestationId: string;
  clientIp: string;
  now: Date;
}

/** One volume's issue: the key to hand out (null: none, the VM formats with `next`) and the pending next. */
export interface IssuedKey {
  volume: string;
  key: string | null;
  next: string;
  /** The generation handed out (0: the set's root passphrase; null: none) and why. */
  handedOut: number | null;
  reason: HandOutReason;
  nextGeneration: number;
}

export type ConfirmResult = 'promoted' | 'no_pending' | 'discarded';

/** How many times an identical confirm is answered again. */
export const MAX_CONFIRM_REPLAYS = 3;

@Injectable()
export class KeyRotationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('key-rotation');
  private stopPurge?: () => void;

  constructor(
    private readonly volumeKeys: VolumeKeysRepository,
    private readonly confirmNonces: ConfirmNoncesRepository,
    private readonly custody: KeyCustodyService,
    private readonly keyReleases: KeyReleaseEventsRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.confirmNonces.purgeExpired(this.clock.now()), this.logger, 'confirm nonces');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }

  /** Serialises every key change of one VM until `tx` ends. */
  lockVm(vm: VmRef, now: Date, tx: Executor): Promise<void> {
    return this.volumeKeys.lockVm(vm, now, tx);
  }

  /**
   * Issues one volume's key and pending next (the VM must be locked). `defaultKey` is the
   * matched set's root passphrase (root only; null when the set has none: NO_ROOT_KEY unless the
   * VM has a root key of its own).
   */
  async issue(vm: VmRef, volume: string, options: { firstBoot?: boolean; defaultKey?: Buffer | null }, cause: RotationCause, tx: Executor): Promise<IssuedKey> {
    const isRoot = volume === 'root';
    const generations = (await this.volumeKeys.generationsOf(vm, tx)).filter((g) => g.volume === volume);
    const plan = planRotation({ generations, isRoot, firstBoot: options.firstBoot === true, hasDefault: Boolean(options.defaultKey) });
    if (isRoot && plan.handOut.source === 'none') throw new DomainError(ErrorCode.NO_ROOT_KEY, 'the matched measurement set has no root passphrase');
    const { now } = cause;
    const ref = (generation: number) => ({ volume, generation });
    if (plan.supersede !== null) await this.volumeKeys.changeState(vm, ref(plan.supersede), ['current'], 'superseded', now, tx);
    if (plan.abandon !== null) {
      await this.volumeKeys.changeState(vm, ref(plan.abandon), ['pending'], 'abandoned', now, tx);
      await this.event('abandon', vm, cause, tx, { volume, generation: plan.abandon });
    }
    if (plan.promote !== null) await this.volumeKeys.changeState(vm, ref(plan.promote), ['pending'], 'current', now, tx);

    let key: string | null = null;
    if (plan.handOut.source === 'default') key = options.defaultKey!.toString('utf8');
    if (plan.handOut.source === 'generation') key = this.open(generations, volume, plan.handOut.generation);
    const next = await this.create(vm, volume, plan.next.generation, 'pending', plan.next.parent, cause, tx);
    return {
      volume,
      key,
      next,
      handedOut: plan.next.parent,
      reason: plan.reason,
      nextGeneration: plan.next.generation,
    };
  }

  /**
   * The VM's k3s secretbox key (32 random bytes, base64): the stored one, or a new one when there
   * is none or `renew` (its storage volume starts over). Returns whether it is new.
   */
  async k3sKey(vm: VmRef, renew: boolean, cause: RotationCause, tx: Executor): Promise<{ key: string; created: boolean }> {
    const generations = (await this.volumeKeys.generationsOf(vm, tx)).filter((g) => g.volume === 'k3s');
    const current = generations.find((g) => g.state === 'current');
    if (current && !renew) return { key: this.open(generations, 'k3s', current.generation), created: false };
    if (current) await this.volumeKeys.changeState(vm, { volume: 'k3s', generation: current.generation }, ['current'], 'superseded', cause.now, tx);
    const generation = Math.max(0, ...generations.map((g) => g.generation)) + 1;
    const key = await this.create(vm, 'k3s', generation, 'current', null, cause, tx, randomBytes(32).toString('base64'));
    await this.event('k3s', vm, cause, tx, { generation, replaced_generation: current?.generation ?? null });
    return { key, created: true };
  }

  /** A new confirm nonce for the issue of `attestationId` (scope root: the boot; storage: /provision). */
  async issueConfirmNonce(vm: VmRef, scope: ConfirmScope, attestationId: string, now: Date, tx: Executor): Promise<string> {
    const nonce = randomHex(32);
    const expiresAt = new Date(now.getTime() + this.config.nonceTtlSeconds * 1000);
    await this.confirmNonces.insert(sha256Hex(nonce), { ...vm, scope, attestationId, expiresAt }, now, tx);
    return nonce;
  }

  /**
   * A confirm: `volumes` maps a volume to whether the VM rotated it. The nonce must have been
   * issued to this VM and cover these volumes; its first use applies the confirm and stores the
   * answer, an identical repeat gets that answer again (at most MAX_CONFIRM_REPLAYS times), any
   * other reuse is refused. Pending generations of another issue (a later boot's) are not touched.
   */
  async confirm(
    vm: VmRef,
    nonce: string,
    volumes: Record<string, boolean>,
    scopeVolumes: (scope: ConfirmScope) => readonly string[],
    cause: Omit<RotationCause, 'attestationId'>,
    tx: Executor,
  ): Promise<{ attestationId: string; results: Record<string, ConfirmResult>; replay: boolean }> {
    const invalid = (why: string) => new DomainError(ErrorCode.CONFIRM_NONCE_INVALID, `confirm nonce ${why}`);
    if (!isHex32(nonce)) throw invalid('is missing or not 64 hex characters');
    const nonceHash = sha256Hex(nonce);
    const stored = await this.confirmNonces.lock(nonceHash, tx);
    if (!stored || stored.minerHotkey !== vm.minerHotkey || stored.vmName !== vm.vmName) throw invalid('is unknown or was issued to another VM');
    if (stored.expiresAt.getTime() <= cause.now.getTime()) throw invalid('has expired; reboot the VM to get a new one');
    const allowed = new Set(scopeVolumes(stored.scope));
    const stray = Object.keys(volumes).filter((volume) => !allowed.has(volume));
    if (stray.length > 0)
      throw new DomainError(ErrorCode.VALIDATION_FAILED, `this confirm nonce covers ${[...allowed].join(', ')}; not covered: ${stray.join(', ')}`);
    const digest = sha256Hex(JSON.stringify(Object.entries(volumes).sort(([a], [b]) => a.localeCompare(b))));
    const attestationId = stored.attestationId;
    if (stored.usedAt) {
      if (stored.requestSha256 !== digest || stored.replays >= MAX_CONFIRM_REPLAYS) throw invalid('was already used for another confirm');
      await this.confirmNonces.countReplay(nonceHash, tx);
      await this.event('confirm_replay', vm, { ...cause, attestationId }, tx, { volumes: stored.answer });
      return { attestationId, results: stored.answer as Record<string, ConfirmResult>, replay: true };
    }
    await this.volumeKeys.lockVm(vm, cause.now, tx);
    const generations = await this.volumeKeys.generationsOf(vm, tx);
    const results: Record<string, ConfirmResult> = {};
    for (const [volume, rotated] of Object.entries(volumes)) {
      results[volume] = await this.confirmVolume(vm, volume, rotated, generations, { ...cause, attestationId }, tx);
    }
    if (!(await this.confirmNonces.markUsed(nonceHash, digest, results, cause.now, tx))) throw invalid('was already used for another confirm');
    return { attestationId, results, replay: false };
  }

  private async confirmVolume(
    vm: VmRef,
    volume: string,
    rotated: boolean,
    generations: VolumeKeyGeneration[],
    cause: RotationCause,
    tx: Executor,
  ): Promise<ConfirmResult> {
    const pending = generations.find((g) => g.volume === volume && g.state === 'pending' && g.attestationId === cause.attestationId);
    if (!pending) return 'no_pending';
    const ref = { volume, generation: pending.generation };
    await this.volumeKeys.markConfirmed(vm, ref, cause.now, tx);
    if (!rotated) {
      await this.volumeKeys.changeState(vm, ref, ['pending'], 'discarded', cause.now, tx);
      await this.event('discard', vm, cause, tx, { volume, generation: pending.generation });
      return 'discarded';
    }
    const current = generations.find((g) => g.volume === volume && g.state === 'current');
    if (current) await this.volumeKeys.changeState(vm, { volume, generation: current.generation }, ['current'], 'superseded', cause.now, tx);
    await this.volumeKeys.changeState(vm, ref, ['pending'], 'current', cause.now, tx);
    await this.event('promote', vm, cause, tx, { volume, generation: pending.generation, replaced_generation: current?.generation ?? null });
    return 'promoted';
  }

  private open(generations: VolumeKeyGeneration[], volume: string, generation: number): string {
    const key = generations.find((g) => g.generation === generation);
    if (!key || !isStored(key)) throw new Error(`generation ${generation} of ${volume} is not stored`);
    return Buffer.from(this.custody.open(key.sealed, volumeAad(key.minerHotkey, key.vmName, volume, generation))).toString('utf8');
  }

  private async create(
    vm: VmRef,
    volume: string,
    generation: number,
    state: 'current' | 'pending',
    parentGeneration: number | null,
    cause: RotationCause,
    tx: Executor,
    value: string = randomPassphraseHex(64),
  ): Promise<string> {
    const sealed = this.custody.seal(Buffer.from(value, 'utf8'), volumeAad(vm.minerHotkey, vm.vmName, volume, generation));
    await this.volumeKeys.insertGeneration(
      vm,
      { volume, generation, sealed, attestationId: cause.attestationId, clientIp: cause.clientIp, state, parentGeneration },
      cause.now,
      tx,
    );
    return value;
  }

  private async event(
    kind: 'abandon' | 'promote' | 'discard' | 'k3s' | 'confirm_replay',
    vm: VmRef,
    cause: RotationCause,
    tx: Executor,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.keyReleases.insert({ kind, createdAt: cause.now, ...vm, attestationId: cause.attestationId, clientIp: cause.clientIp, detail }, tx);
  }
}
