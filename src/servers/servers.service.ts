/**
 * The miners' server registry. Registration fetches fresh evidence from the server's own
 * attestation service (signed with the VM's vm_auth key when its latest boot made one, else the
 * validator key), checks that service's TLS leaf against the VM root CA its latest boot recorded,
 * binds the evidence to that leaf's key and to our nonce, appraises it against the runtime
 * measurements (with the miner's hotkey when the answer's proof proves it), checks the GPUs, and
 * stores server + GPUs + the attestation row in one transaction. A server's id and name never
 * equal another server's id, name or vm_name of the same miner (else a second server could take
 * over the first one's VM name and keys). Deleting a server keeps its VM's volume keys (miners
 * delete and re-add servers routinely); `destroy_keys` shreds those of its own vm_name in the same
 * transaction.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { Database, Executor } from '../database/executor';
import { sha256Hex } from '../common/crypto/hashing';
import { randomHex } from '../common/crypto/random';
import { LuksService } from '../luks/luks.service';
import type { GenerationRef } from '../luks/volume-keys.repository';
import { QuoteAppraisalService } from '../attestation/quote-appraisal.service';
import { AuditedAttempts } from '../audit/audited-attempts.service';
import type { Sr25519Signer } from '../common/crypto/sr25519-key-file';
import { VmAuthService } from '../vm-auth/vm-auth.service';
import { EvidenceSigner, fetchServerEvidence } from './attestation-service.client';
import { checkLeafIssuedBy, verifyResponseProof } from './proxy-checks';
import { MinerServerView, NodeArgs, RegisterServerRequest, ServerView } from './dto/server.dto';
import { GpuEvidenceVerifier } from './gpu-evidence.verifier';
import { evaluateGpuPolicy } from './gpu-policy';
import { connectableAddress } from './host-policy';
import { Server, ServerGpu, ServersRepository } from './servers.repository';
import { attestHeaders, ValidatorKey } from './validator-key';

export function toServerView(server: Server, gpus: (ServerGpu & { serverId: string })[]): ServerView {
  return {
    server_id: server.id,
    name: server.name,
    vm_name: server.vmName,
    host: server.host,
    ip: server.host,
    miner_hotkey: server.minerHotkey,
    measurement_name: server.measurementName,
    measurement_version: server.measurementVersion,
    created_at: server.createdAt.toISOString(),
    updated_at: server.updatedAt.toISOString(),
    gpus: gpus
      .filter((gpu) => gpu.serverId === server.id)
      .sort((a, b) => a.deviceIndex - b.deviceIndex)
      .map((gpu) => ({
        uuid: gpu.uuid,
        name: gpu.name,
        memory: gpu.memory,
        device_index: gpu.deviceIndex,
        gpu_identifier: gpu.gpuIdentifier,
        verification_host: gpu.verificationHost,
        verification_port: gpu.verificationPort,
      })),
  };
}

/** A server in the Chutes miner inventory shape (`GET /miner/servers/`). */
export function toMinerServerView(server: Server, gpus: (ServerGpu & { serverId: string })[]): MinerServerView {
  return {
    server_id: server.id,
    name: server.name,
    ip: server.host,
    is_tee: true,
    version: server.measurementVersion,
    maintenance_pending: false,
    created_at: server.createdAt.toISOString(),
    updated_at: server.updatedAt.toISOString(),
    gpus: gpus
      .filter((gpu) => gpu.serverId === server.id)
      .sort((a, b) => a.deviceIndex - b.deviceIndex)
      // Registration verified every GPU (evidence and policy) or stored none of them.
      .map((gpu) => ({
        uuid: gpu.uuid,
        gpu_identifier: gpu.gpuIdentifier,
        device_index: gpu.deviceIndex,
        verified_at: server.createdAt.toISOString(),
        verification_error: null,
      })),
  };
}

/** A registration's GPU as stored; identifiers are compared lowercased, so stored lowercased. */
function toServerGpu(gpu: NodeArgs): ServerGpu {
  return {
    uuid: gpu.uuid,
    name: gpu.name,
    memory: gpu.memory,
    major: gpu.major ?? null,
    minor: gpu.minor ?? null,
    processors: gpu.processors ?? null,
    sxm: gpu.sxm ?? null,
    clockRate: gpu.clock_rate,
    maxThreadsPerProcessor: gpu.max_threads_per_processor ?? null,
    concurrentKernels: gpu.concurrent_kernels ?? null,
    ecc: gpu.ecc ?? null,
    deviceIndex: gpu.device_index,
    gpuIdentifier: gpu.gpu_identifier.toLowerCase(),
    verificationHost: gpu.verification_host,
    verificationPort: gpu.verification_port,
  };
}

@Injectable()
export class ServersService {
  private readonly logger = new Logger('servers');

  constructor(
    private readonly db: Database,
    private readonly servers: ServersRepository,
    private readonly appraisal: QuoteAppraisalService,
    private readonly gpuEvidence: GpuEvidenceVerifier,
    private readonly attempts: AuditedAttempts,
    private readonly luks: LuksService,
    private readonly clock: Clock,
    private readonly validator: ValidatorKey,
    private readonly vmAuth: VmAuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async register(minerHotkey: string, request: RegisterServerRequest, clientIp: string): Promise<{ message: string }> {
    const vmName = request.name ?? request.id;
    await this.refuseDuplicates(minerHotkey, request, vmName);
    const address = await connectableAddress(request.host, this.config.allowPrivateHosts);

    const subject = { kind: 'registration' as const, serverId: request.id, minerHotkey, vmName, clientIp };
    return this.attempts.run(subject, async (attempt) => {
      const { record } = attempt;
      const nonce = randomHex(32);
      const vm = { minerHotkey, vmName };
      // One read: the root CA and the vm_auth key belong to the same boot of the VM.
      const latest = await this.vmAuth.latestWithSigner(vm);
      const rootCaPem = latest.state?.rootCaPem ?? null;
      const { signer, key } = this.evidenceSigner(latest.signer);
      record.verdict.signer = signer.kind;
      if (signer.address) record.verdict.signer_ss58 = signer.address;
      const evidence = await fetchServerEvidence({
        host: request.host,
        address,
        port: this.config.attestationPort,
        nonce,
        timeoutMs: this.config.attestationTimeoutSeconds * 1000,
        headers: key ? attestHeaders(key, this.unixNow()) : {},
        signer,
        checkLeaf: (leaf) => {
          const verdict = checkLeafIssuedBy(leaf, rootCaPem);
          record.verdict.vm_root_ca = verdict;
          if (verdict !== 'ok' && verdict !== 'not_recorded')
            throw new DomainError(
              ErrorCode.VM_ROOT_CA_MISMATCH,
              `the attestation service's TLS certificate is not issued by the root CA ${vmName} recorded at its latest boot (${verdict.replace(/_/g, ' ')})`,
            );
        },
      });
      // An unusable proof is no proof: recorded, never a refusal (the proof is optional).
      const proof = verifyResponseProof(evidence.proof, this.unixNow());
      // The proxy signs with the miner's key: a proof of another hotkey proves nothing about this miner.
      const otherHotkey = proof.verdict === 'ok' && proof.hotkey !== minerHotkey;
      const proven = proof.verdict === 'ok' && !otherHotkey ? proof.hotkey : undefined;
      record.verdict.response_proof = otherHotkey ? 'other_hotkey' : proof.verdict;
      attempt.quoteSha256 = sha256Hex(evidence.quote);
      const quote = this.appraisal.parse(evidence.quote, record);
      const { set } = await this.appraisal.appraise(
        evidence.quote,
        quote,
        { kind: 'runtime', nonce: Buffer.from(nonce, 'hex'), keyHash: evidence.serverKeyHash, provenHotkey: proven },
        record,
      );
      const gpus = evaluateGpuPolicy(
        request.gpus.map((gpu) => gpu.gpu_identifier),
        set.expectedGpus,
        set.gpuCount,
      );
      record.verdict.gpus = gpus;
      if (!gpus.accepted) throw new DomainError(ErrorCode.GPU_MISMATCH, 'the GPUs do not match the measurement set (expected_gpus / gpu_count)');
      record.verdict.gpu_evidence = await this.gpuEvidence.verify(nonce, evidence.gpuEvidence, request.gpus);
      const now = this.clock.now();
      const server: Server = {
        id: request.id,
        minerHotkey,
        name: vmName,
        vmName,
        host: request.host,
        measurementName: set.name,
        measurementVersion: set.version,
        createdAt: now,
        updatedAt: now,
      };
      await attempt.succeed(async (tx) => {
        await this.servers.lockMinerRegistry(minerHotkey, tx);
        await this.refuseNameClash(minerHotkey, [request.id, vmName], { newId: request.id }, tx);
        const inserted = await this.servers.insert(server, request.gpus.map(toServerGpu), tx);
        // Lost a race with a concurrent registration of the same id, name or GPU.
        if (inserted === 'conflict')
          throw new DomainError(ErrorCode.GPU_ALREADY_REGISTERED, 'the server, its name or one of its GPUs was registered concurrently');
      });
      this.logger.log({ serverId: request.id, minerHotkey, measurement: set.version }, 'server registered');
      return { message: `server ${request.id} registered as ${vmName} (measurement set ${set.name} ${set.version})` };
    });
  }

  /**
   * Who signs the VM's evidence fetch: its vm_auth key when its latest boot made one (gen C: the
   * VM's proxy allows only that key), else the validator key, else nobody. The seed stays in the signer.
   */
  private evidenceSigner(vmKey: Sr25519Signer | null): { signer: EvidenceSigner; key?: Sr25519Signer } {
    if (vmKey) return { signer: { kind: 'vm_auth', address: vmKey.address }, key: vmKey };
    const validator = this.validator.key;
    if (validator) return { signer: { kind: 'validator', address: validator.address }, key: validator };
    return { signer: { kind: 'none' } };
  }

  private unixNow(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  async list(minerHotkey: string): Promise<ServerView[]> {
    const servers = await this.servers.listByMiner(minerHotkey);
    const gpus = await this.servers.gpusOf(servers.map((server) => server.id));
    return servers.map((server) => toServerView(server, gpus));
  }

  /** The miner's servers in the Chutes inventory shape, newest first. */
  async inventory(minerHotkey: string): Promise<MinerServerView[]> {
    const servers = (await this.servers.listByMiner(minerHotkey)).reverse();
    const gpus = await this.servers.gpusOf(servers.map((server) => server.id));
    return servers.map((server) => toMinerServerView(server, gpus));
  }

  /** The caller's server, or 404 (also when it belongs to someone else: no existence oracle). */
  async ownServer(minerHotkey: string, serverId: string): Promise<Server> {
    const server = await this.servers.findOwned(minerHotkey, serverId);
    if (!server) throw new DomainError(ErrorCode.SERVER_NOT_FOUND, 'no such server for this hotkey');
    return server;
  }

  async view(minerHotkey: string, serverId: string): Promise<ServerView> {
    const server = await this.ownServer(minerHotkey, serverId);
    return toServerView(server, await this.servers.gpusOf([server.id]));
  }

  async rename(minerHotkey: string, serverId: string, name: string): Promise<ServerView> {
    await this.ownServer(minerHotkey, serverId);
    await this.db.transaction(async (tx) => {
      await this.servers.lockMinerRegistry(minerHotkey, tx);
      await this.refuseNameClash(minerHotkey, [name], { exceptId: serverId }, tx);
      const renamed = await this.servers.rename(minerHotkey, serverId, name, this.clock.now(), tx);
      if (renamed === 'name_taken') throw nameTaken(name);
    });
    return this.view(minerHotkey, serverId);
  }

  /**
   * Removes the server (by id or name; `by` says which when both would match different servers)
   * and keeps its VM's volume keys, unless `destroyKeys`: then the keys of its own vm_name are
   * shredded in the same transaction.
   */
  async remove(
    minerHotkey: string,
    nameOrId: string,
    options: { by?: 'id' | 'name'; destroyKeys: boolean },
    clientIp: string,
  ): Promise<{ serverId: string; vmName: string; shredded: GenerationRef[] }> {
    return this.db.transaction(async (tx) => {
      const matches = await this.servers.lockOwnedMatching(minerHotkey, nameOrId, options.by, tx);
      if (matches.length === 0) throw new DomainError(ErrorCode.SERVER_NOT_FOUND, 'no such server for this hotkey');
      if (matches.length > 1)
        throw new DomainError(ErrorCode.SERVER_NAME_AMBIGUOUS, `${nameOrId} is one server's id and another server's name; say which (by=id or by=name)`);
      const [server] = matches;
      await this.servers.delete(server.id, tx);
      const shredded = options.destroyKeys
        ? await this.luks.shredVm(tx, { minerHotkey, vmName: server.vmName }, { hotkey: minerHotkey, role: 'miner', clientIp, reason: 'server_deleted' })
        : [];
      this.logger.log(
        { serverId: server.id, minerHotkey, vmName: server.vmName, keys: options.destroyKeys ? 'shredded' : 'kept', shreddedGenerations: shredded.length },
        'server removed',
      );
      return { serverId: server.id, vmName: server.vmName, shredded };
    });
  }

  private async refuseDuplicates(minerHotkey: string, request: RegisterServerRequest, vmName: string): Promise<void> {
    await this.refuseNameClash(minerHotkey, [request.id, vmName], { newId: request.id }, this.db);
    const uuids = request.gpus.map((gpu) => gpu.uuid);
    if (new Set(uuids).size !== uuids.length) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'gpus must not repeat a uuid');
    const taken = await this.servers.registeredGpuUuids(uuids);
    if (taken.length > 0) throw new DomainError(ErrorCode.GPU_ALREADY_REGISTERED, `GPU ${taken[0]} is already registered`);
  }

  /**
   * Refuses `names` (the id and name a server would have) when one equals an id, name or vm_name
   * of another of this miner's servers; a new id already used by anyone is SERVER_EXISTS.
   */
  private async refuseNameClash(minerHotkey: string, names: string[], options: { newId?: string; exceptId?: string }, executor: Executor): Promise<void> {
    const clashes = await this.servers.findConflicting(minerHotkey, names, options, executor);
    if (clashes.length === 0) return;
    if (options.newId !== undefined && clashes.some((server) => server.id === options.newId))
      throw new DomainError(ErrorCode.SERVER_EXISTS, `server ${options.newId} is already registered`);
    const taken = names.find((name) => clashes.some((server) => server.id === name || server.name === name || server.vmName === name)) ?? names[0];
    throw nameTaken(taken);
  }
}

function nameTaken(name: string): DomainError {
  return new DomainError(ErrorCode.SERVER_NAME_TAKEN, `${name} is already the id, name or VM name of one of your servers`);
}
