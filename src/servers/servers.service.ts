/**
 * The miners' server registry. Registration fetches fresh evidence from the server's own
 * attestation service, binds it to that service's TLS key and to our nonce, appraises it
 * against the runtime measurements, checks the GPUs, and stores server + GPUs + the
 * attestation row in one transaction. Deleting a server crypto-shreds its VM's volume keys.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { queryRows } from '../database/sql';
import { sha256Hex } from '../common/crypto/hashing';
import { randomHex } from '../common/crypto/random';
import { LuksService } from '../luks/luks.service';
import { MetricsService } from '../ops/metrics.service';
import { emptyAppraisalRecord, QuoteAppraisalService } from '../attestation/quote-appraisal.service';
import { fetchServerEvidence } from './attestation-service.client';
import { NodeArgs, RegisterServerRequest, ServerView } from './dto/server.dto';
import { GpuEvidenceVerifier } from './gpu-evidence.verifier';
import { evaluateGpuPolicy } from './gpu-policy';
import { connectableAddress } from './host-policy';
import { ServerAttempt, ServerAuditService } from './server-audit.service';

export interface ServerRow {
  id: string;
  miner_hotkey: string;
  name: string;
  vm_name: string;
  host: string;
  measurement_name: string | null;
  measurement_version: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

interface NodeRow {
  uuid: string;
  server_id: string;
  name: string;
  memory: string | number;
  device_index: number;
  gpu_identifier: string;
  verification_host: string;
  verification_port: number;
}

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string }; code?: string }) ?? {};
  return driverError.code === UNIQUE_VIOLATION || driverError.driverError?.code === UNIQUE_VIOLATION;
}

export function toServerView(server: ServerRow, nodes: NodeRow[]): ServerView {
  return {
    server_id: server.id,
    name: server.name,
    vm_name: server.vm_name,
    host: server.host,
    miner_hotkey: server.miner_hotkey,
    measurement_name: server.measurement_name,
    measurement_version: server.measurement_version,
    created_at: new Date(server.created_at).toISOString(),
    updated_at: new Date(server.updated_at).toISOString(),
    gpus: nodes
      .filter((node) => node.server_id === server.id)
      .sort((a, b) => a.device_index - b.device_index)
      .map((node) => ({
        uuid: node.uuid,
        name: node.name,
        memory: Number(node.memory),
        device_index: node.device_index,
        gpu_identifier: node.gpu_identifier,
        verification_host: node.verification_host,
        verification_port: node.verification_port,
      })),
  };
}

@Injectable()
export class ServersService {
  private readonly logger = new Logger('servers');

  constructor(
    private readonly dataSource: DataSource,
    private readonly appraisal: QuoteAppraisalService,
    private readonly gpuEvidence: GpuEvidenceVerifier,
    private readonly audit: ServerAuditService,
    private readonly luks: LuksService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async register(minerHotkey: string, request: RegisterServerRequest, clientIp: string): Promise<{ message: string }> {
    const vmName = request.name ?? request.id;
    await this.refuseDuplicates(minerHotkey, request, vmName);
    const address = await connectableAddress(request.host, this.config.allowPrivateHosts);

    const record = emptyAppraisalRecord();
    const attempt = (outcome: 'verified' | 'failed', errorCode: string | null, quoteSha256: string | null): ServerAttempt => ({
      kind: 'registration',
      createdAt: this.clock.now(),
      serverId: request.id,
      minerHotkey,
      vmName,
      clientIp,
      quoteSha256,
      outcome,
      errorCode,
      ...record,
    });
    let quoteSha256: string | null = null;
    try {
      const nonce = randomHex(32);
      const evidence = await fetchServerEvidence(request.host, address, this.config.attestationPort, nonce);
      quoteSha256 = sha256Hex(evidence.quote);
      const quote = this.appraisal.parse(evidence.quote, record);
      const { set } = await this.appraisal.appraise(evidence.quote, quote, { kind: 'runtime', nonce: Buffer.from(nonce, 'hex'), keyHash: evidence.serverKeyHash }, record);
      const gpus = evaluateGpuPolicy(request.gpus.map((gpu) => gpu.gpu_identifier), set.expectedGpus, set.gpuCount);
      record.verdict.gpus = gpus;
      if (!gpus.accepted) throw new DomainError(ErrorCode.GPU_MISMATCH, 'the GPUs do not match the measurement set (expected_gpus / gpu_count)');
      record.verdict.gpu_evidence = await this.gpuEvidence.verify(nonce, evidence.gpuEvidence);
      await this.dataSource.transaction(async (manager) => {
        await this.insertServer(manager, minerHotkey, request, vmName, set.name, set.version);
        await this.audit.record(attempt('verified', null, quoteSha256), manager);
      });
      this.metrics.attestations.inc({ kind: 'registration', outcome: 'verified', code: 'OK' });
      this.logger.log({ serverId: request.id, minerHotkey, measurement: set.version }, 'server registered');
      return { message: `server ${request.id} registered as ${vmName} (measurement set ${set.name} ${set.version})` };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await this.audit.record(attempt('failed', error.code, quoteSha256));
      this.metrics.attestations.inc({ kind: 'registration', outcome: 'failed', code: error.code });
      throw error;
    }
  }

  async list(minerHotkey: string): Promise<ServerView[]> {
    const servers = await queryRows<ServerRow>(this.dataSource, `SELECT * FROM servers WHERE miner_hotkey = $1 ORDER BY created_at, id`, [minerHotkey]);
    if (servers.length === 0) return [];
    const nodes = await queryRows<NodeRow>(this.dataSource, `SELECT * FROM server_nodes WHERE server_id = ANY($1::text[])`, [servers.map((s) => s.id)]);
    return servers.map((server) => toServerView(server, nodes));
  }

  /** The caller's server, or 404 (also when it belongs to someone else: no existence oracle). */
  async ownServer(minerHotkey: string, serverId: string): Promise<ServerRow> {
    const rows = await queryRows<ServerRow>(this.dataSource, `SELECT * FROM servers WHERE id = $1 AND miner_hotkey = $2`, [serverId, minerHotkey]);
    if (rows.length === 0) throw new DomainError(ErrorCode.SERVER_NOT_FOUND, 'no such server for this hotkey');
    return rows[0];
  }

  async view(minerHotkey: string, serverId: string): Promise<ServerView> {
    const server = await this.ownServer(minerHotkey, serverId);
    const nodes = await queryRows<NodeRow>(this.dataSource, `SELECT * FROM server_nodes WHERE server_id = $1`, [server.id]);
    return toServerView(server, nodes);
  }

  async rename(minerHotkey: string, serverId: string, name: string): Promise<ServerView> {
    await this.ownServer(minerHotkey, serverId);
    try {
      await this.dataSource.query(`UPDATE servers SET name = $3, updated_at = $4 WHERE id = $1 AND miner_hotkey = $2`, [serverId, minerHotkey, name, this.clock.now()]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError(ErrorCode.SERVER_NAME_TAKEN, `you already have a server named ${name}`);
      throw error;
    }
    return this.view(minerHotkey, serverId);
  }

  /** Removes the server (by id, else by name) and destroys its VM's volume keys, atomically. */
  async remove(minerHotkey: string, nameOrId: string, clientIp: string): Promise<{ serverId: string; destroyed: string[] }> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await queryRows<ServerRow>(
        manager,
        `SELECT * FROM servers WHERE miner_hotkey = $1 AND (id = $2 OR name = $2) ORDER BY (id = $2) DESC LIMIT 1 FOR UPDATE`,
        [minerHotkey, nameOrId],
      );
      if (rows.length === 0) throw new DomainError(ErrorCode.SERVER_NOT_FOUND, 'no such server for this hotkey');
      const server = rows[0];
      await manager.query(`DELETE FROM servers WHERE id = $1`, [server.id]);
      const destroyed = new Set(await this.luks.destroyVolumes(manager, minerHotkey, server.vm_name, clientIp));
      // A renamed server's VM may also have booted under its new name.
      if (server.name !== server.vm_name) for (const v of await this.luks.destroyVolumes(manager, minerHotkey, server.name, clientIp)) destroyed.add(v);
      this.logger.log({ serverId: server.id, minerHotkey, destroyedVolumes: [...destroyed] }, 'server removed; volume keys destroyed');
      return { serverId: server.id, destroyed: [...destroyed].sort() };
    });
  }

  private async refuseDuplicates(minerHotkey: string, request: RegisterServerRequest, vmName: string): Promise<void> {
    const existing = await queryRows<{ id: string; miner_hotkey: string; name: string }>(this.dataSource, `SELECT id, miner_hotkey, name FROM servers WHERE id = $1 OR (miner_hotkey = $2 AND name = $3)`, [
      request.id,
      minerHotkey,
      vmName,
    ]);
    if (existing.some((row) => row.id === request.id)) throw new DomainError(ErrorCode.SERVER_EXISTS, `server ${request.id} is already registered`);
    if (existing.length > 0) throw new DomainError(ErrorCode.SERVER_NAME_TAKEN, `you already have a server named ${vmName}`);
    const uuids = request.gpus.map((gpu) => gpu.uuid);
    if (new Set(uuids).size !== uuids.length) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'gpus must not repeat a uuid');
    const taken = await queryRows<{ uuid: string }>(this.dataSource, `SELECT uuid FROM server_nodes WHERE uuid = ANY($1::text[])`, [uuids]);
    if (taken.length > 0) throw new DomainError(ErrorCode.GPU_ALREADY_REGISTERED, `GPU ${taken[0].uuid} is already registered`);
  }

  private async insertServer(manager: EntityManager, minerHotkey: string, request: RegisterServerRequest, vmName: string, setName: string, setVersion: string): Promise<void> {
    const now = this.clock.now();
    try {
      await manager.query(
        `INSERT INTO servers (id, miner_hotkey, name, vm_name, host, measurement_name, measurement_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
        [request.id, minerHotkey, vmName, vmName, request.host, setName, setVersion, now],
      );
      for (const gpu of request.gpus) await this.insertNode(manager, request.id, gpu);
    } catch (error) {
      // Lost a race with a concurrent registration of the same id, name or GPU.
      if (isUniqueViolation(error)) throw new DomainError(ErrorCode.GPU_ALREADY_REGISTERED, 'the server, its name or one of its GPUs was registered concurrently');
      throw error;
    }
  }

  private async insertNode(manager: EntityManager, serverId: string, gpu: NodeArgs): Promise<void> {
    await manager.query(
      `INSERT INTO server_nodes (uuid, server_id, name, memory, major, minor, processors, sxm, clock_rate, max_threads_per_processor,
         concurrent_kernels, ecc, device_index, gpu_identifier, verification_host, verification_port)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [
        gpu.uuid,
        serverId,
        gpu.name,
        gpu.memory,
        gpu.major ?? null,
        gpu.minor ?? null,
        gpu.processors ?? null,
        gpu.sxm ?? null,
        gpu.clock_rate,
        gpu.max_threads_per_processor ?? null,
        gpu.concurrent_kernels ?? null,
        gpu.ecc ?? null,
        gpu.device_index,
        gpu.gpu_identifier.toLowerCase(),
        gpu.verification_host,
        gpu.verification_port,
      ],
    );
  }
}
