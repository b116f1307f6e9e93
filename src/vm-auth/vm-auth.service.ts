/**
 * The per-boot `vm_auth` key of gen-C VMs (DESIGN.md "Chutes VM ≥ 1.3 protocol", CHUTES-PROTOCOL
 * §3): at each gen-C boot a fresh sr25519 key for (hotkey, vm_name); its seed is sealed like any
 * secret (AAD `vm_auth|<hotkey>|<vm_name>|<attestation id>`) and only its ss58 leaves, in the boot
 * answer. The VM installs that ss58 as the only validator its attestation proxy answers, so the
 * broker signs that VM's registration evidence fetch with it. Also what the boot left for
 * /provision (the VM root CA) and registration (the CA the proxy's TLS leaf must chain to).
 */
import { randomBytes } from 'node:crypto';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { signerFromSeed, Sr25519Signer } from '../common/crypto/sr25519-key-file';
import type { Executor } from '../database/executor';
import { KeyCustodyService } from '../keys/key-custody.service';
import { VmBootState, VmBootStatesRepository, VmRef } from './vm-boot-states.repository';

export function vmAuthAad(minerHotkey: string, vmName: string, attestationId: string): string {
  return `vm_auth|${minerHotkey}|${vmName}|${attestationId}`;
}

/** What a successful boot records about the VM. */
export interface BootRecord extends VmRef {
  attestationId: string;
  measurementSetId: string | null;
  measurementVersion: string | null;
  clientIp: string | null;
  bootedAt: Date;
}

@Injectable()
export class VmAuthService implements OnModuleInit {
  constructor(
    private readonly states: VmBootStatesRepository,
    private readonly custody: KeyCustodyService,
  ) {}

  onModuleInit(): void {
    this.custody.registerSealedTable('vm_boot_states', {
      rewrap: async () =>
        this.custody.rewrapAll(
          await this.states.vmAuthWrappedByOtherKek(this.custody.activeKekId),
          (state) => ({ sealed: state.vmAuth!.sealedSeed, aad: vmAuthAad(state.minerHotkey, state.vmName, state.attestationId) }),
          (state, rewrapped) => this.states.saveRewrappedVmAuth(state, rewrapped),
        ),
      countByKek: () => this.states.countVmAuthByKek(),
    });
  }

  /**
   * Records a boot in `tx`. With `withVmAuth` (gen C) a fresh vm_auth key is made and sealed and its
   * ss58 returned; without, the VM has no vm_auth key from now on (null).
   */
  async recordBoot(boot: BootRecord, withVmAuth: boolean, tx: Executor): Promise<string | null> {
    if (!withVmAuth) {
      await this.states.recordBoot({ ...boot, vmAuth: null }, tx);
      return null;
    }
    const seed = randomBytes(32);
    try {
      const sealedSeed = this.custody.seal(seed, vmAuthAad(boot.minerHotkey, boot.vmName, boot.attestationId));
      const { address } = await signerFromSeed({ seed: Uint8Array.from(seed) });
      await this.states.recordBoot({ ...boot, vmAuth: { ss58: address, sealedSeed } }, tx);
      return address;
    } finally {
      seed.fill(0);
    }
  }

  /** The VM's latest boot state, or null when it never booted here. */
  latest(vm: VmRef, executor?: Executor): Promise<VmBootState | null> {
    return this.states.find(vm, executor);
  }

  /** The VM's latest boot state and the signer of its vm_auth key, from one read (so both belong to the same boot). */
  async latestWithSigner(vm: VmRef): Promise<{ state: VmBootState | null; signer: Sr25519Signer | null }> {
    const state = await this.states.find(vm);
    if (!state?.vmAuth) return { state, signer: null };
    const seed = this.custody.open(state.vmAuth.sealedSeed, vmAuthAad(state.minerHotkey, state.vmName, state.attestationId));
    return { state, signer: await signerFromSeed({ seed, claimedAddress: state.vmAuth.ss58 }) };
  }

  /** Records the VM root CA presented at /provision; false when `attestationId` is no longer the VM's latest boot. */
  recordRootCa(vm: VmRef, attestationId: string, pem: string, now: Date, tx: Executor): Promise<boolean> {
    return this.states.recordRootCa(vm, attestationId, pem, now, tx);
  }
}
