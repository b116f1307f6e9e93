/**
 * Miner key management (DESIGN.md "Miner key management"): a miner lists the key generations
 * of its own VMs (metadata only), restores an older generation as current, or shreds a VM's
 * keys outright; admins do the same for any miner. Each change runs under the VM's lock, in
 * one transaction with its key-release event.
 */
import type { GenerationState } from './volume-keys.repository';
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { Database } from '../database/executor';
import { MetricsService } from '../ops/metrics.service';
import { KeyReleaseEventsRepository } from '../audit/key-release-events.repository';
import { LuksService } from './luks.service';
import { VmRef, VolumeKeyGeneration, VolumeKeysRepository } from './volume-keys.repository';

/** Who acts on a VM's keys: the miner itself, or an admin for it. */
export interface KeyActor {
  hotkey: string;
  role: 'miner' | 'admin';
  clientIp: string;
}

export interface GenerationInfo {
  generation: number;
  state: Exclude<GenerationState, 'shredded'>;
  createdAt: Date;
  /** Gen C: the generation handed out beside it when it was issued as `next` (0: the set's root passphrase). */
  parentGeneration: number | null;
  /** Gen C: when the VM's confirm for it arrived. */
  confirmedAt: Date | null;
  attestationId: string | null;
  clientIp: string | null;
}

export interface VmKeys extends VmRef {
  volumes: { volume: string; generations: GenerationInfo[] }[];
}

export interface RestoreOutcome extends VmRef {
  volume: string;
  generation: number;
  /** The generation that was current before, now superseded (null: none was, or it already was current). */
  replacedGeneration: number | null;
  changed: boolean;
}

const noSuchGeneration = () => new DomainError(ErrorCode.KEY_GENERATION_NOT_FOUND, 'this VM has no such volume key generation (never existed, or shredded)');
const noKeys = () => new DomainError(ErrorCode.NOT_FOUND, 'no volume keys were ever stored for this VM under this hotkey');

@Injectable()
export class VmKeysService {
  constructor(
    private readonly db: Database,
    private readonly volumeKeys: VolumeKeysRepository,
    private readonly luks: LuksService,
    private readonly keyReleases: KeyReleaseEventsRepository,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  /** The VM's kept generations by volume, newest first; shredded ones are not listed. */
  async list(vm: VmRef): Promise<VmKeys> {
    if (!(await this.volumeKeys.vmExists(vm))) throw noKeys();
    const generations = await this.volumeKeys.generationsOf(vm);
    const volumes = new Map<string, GenerationInfo[]>();
    for (const key of generations) {
      if (key.state === 'shredded') continue;
      const list = volumes.get(key.volume) ?? [];
      list.push(toInfo(key));
      volumes.set(key.volume, list);
    }
    return { ...vm, volumes: [...volumes].map(([volume, list]) => ({ volume, generations: list })) };
  }

  /** Makes a kept generation current; the current one (and a retired one) become superseded. */
  async restore(vm: VmRef, volume: string, generation: number, actor: KeyActor): Promise<RestoreOutcome> {
    const outcome = await this.db.transaction(async (tx): Promise<RestoreOutcome> => {
      if (!(await this.volumeKeys.lockExistingVm(vm, tx))) throw noSuchGeneration();
      const generations = (await this.volumeKeys.generationsOf(vm, tx)).filter((key) => key.volume === volume);
      const target = generations.find((key) => key.generation === generation);
      if (!target || target.state === 'shredded') throw noSuchGeneration();
      if (target.state === 'current') return { ...vm, volume, generation, replacedGeneration: null, changed: false };
      const now = this.clock.now();
      const current = generations.find((key) => key.state === 'current');
      const retired = generations.find((key) => key.state === 'retired' && key.generation !== generation);
      if (current) await this.volumeKeys.changeState(vm, current, ['current'], 'superseded', now, tx);
      if (retired) await this.volumeKeys.changeState(vm, retired, ['retired'], 'superseded', now, tx);
      if (!(await this.volumeKeys.changeState(vm, target, ['superseded', 'retired', 'discarded', 'abandoned'], 'current', now, tx))) throw noSuchGeneration();
      const who = { actor: actor.hotkey, actor_role: actor.role };
      const base = { createdAt: now, ...vm, attestationId: null, clientIp: actor.clientIp };
      await this.keyReleases.insert(
        { ...base, kind: 'restore', detail: { volume, generation, restored_from: target.state, replaced_generation: current?.generation ?? null, ...who } },
        tx,
      );
      if (current) {
        await this.keyReleases.insert(
          {
            ...base,
            kind: 'replaced',
            rekeyed: [volume],
            detail: { cause: 'restore', volume, generation, replaced_generation: current.generation, replaced_state: 'current', ...who },
          },
          tx,
        );
      }
      return { ...vm, volume, generation, replacedGeneration: current?.generation ?? null, changed: true };
    });
    if (outcome.replacedGeneration !== null) this.metrics.keyReplacements.inc({ cause: 'restore' });
    return outcome;
  }

  /** Shreds every kept generation of the VM once `confirm` repeats its name; returns how many. */
  async shred(vm: VmRef, confirm: string, actor: KeyActor): Promise<number> {
    if (confirm !== vm.vmName) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'confirm must repeat the vm_name whose keys are to be shredded');
    return this.db.transaction(async (tx) => {
      if (!(await this.volumeKeys.lockExistingVm(vm, tx))) throw noKeys();
      const shredded = await this.luks.shredVm(tx, vm, { ...actor, reason: 'vm_keys' });
      return shredded.length;
    });
  }
}

function toInfo(key: VolumeKeyGeneration): GenerationInfo {
  return {
    generation: key.generation,
    state: key.state as GenerationInfo['state'],
    createdAt: key.createdAt,
    parentGeneration: key.parentGeneration,
    confirmedAt: key.confirmedAt,
    attestationId: key.attestationId,
    clientIp: key.clientIp,
  };
}
