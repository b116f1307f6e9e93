/** servers (the miners' registry) and server_nodes (each server's GPUs, unique by uuid). */
import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import { Database, Executor } from '../database/executor';

export interface Server {
  id: string;
  minerHotkey: string;
  /** The current name (renamable, unique per miner). */
  name: string;
  /** The VM's name at registration: its volume keys are stored under it. */
  vmName: string;
  host: string;
  measurementName: string | null;
  measurementVersion: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServerGpu {
  uuid: string;
  name: string;
  memory: number;
  major: number | null;
  minor: number | null;
  processors: number | null;
  sxm: boolean | null;
  clockRate: number;
  maxThreadsPerProcessor: number | null;
  concurrentKernels: boolean | null;
  ecc: boolean | null;
  deviceIndex: number;
  gpuIdentifier: string;
  verificationHost: string;
  verificationPort: number;
}

/** A registered server whose latest verified attestation matched a given set. */
export interface ServerOnSet {
  server: Server;
  measurementName: string;
  measurementVersion: string;
  /** When that attestation (runtime, or the registration) was verified; null when only the registration row remains. */
  attestedAt: Date | null;
}

interface ServerRow {
  id: string;
  miner_hotkey: string;
  name: string;
  vm_name: string;
  host: string;
  measurement_name: string | null;
  measurement_version: string | null;
  created_at: Date;
  updated_at: Date;
}

interface NodeRow {
  uuid: string;
  server_id: string;
  name: string;
  /** bigint: a string from pg, a number from PGlite. */
  memory: string | number;
  major: number | null;
  minor: number | null;
  processors: number | null;
  sxm: boolean | null;
  clock_rate: number;
  max_threads_per_processor: number | null;
  concurrent_kernels: boolean | null;
  ecc: boolean | null;
  device_index: number;
  gpu_identifier: string;
  verification_host: string;
  verification_port: number;
}

function toServer(row: ServerRow): Server {
  return {
    id: row.id,
    minerHotkey: row.miner_hotkey,
    name: row.name,
    vmName: row.vm_name,
    host: row.host,
    measurementName: row.measurement_name,
    measurementVersion: row.measurement_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toGpu(row: NodeRow): ServerGpu & { serverId: string } {
  return {
    serverId: row.server_id,
    uuid: row.uuid,
    name: row.name,
    memory: Number(row.memory),
    major: row.major,
    minor: row.minor,
    processors: row.processors,
    sxm: row.sxm,
    clockRate: row.clock_rate,
    maxThreadsPerProcessor: row.max_threads_per_processor,
    concurrentKernels: row.concurrent_kernels,
    ecc: row.ecc,
    deviceIndex: row.device_index,
    gpuIdentifier: row.gpu_identifier,
    verificationHost: row.verification_host,
    verificationPort: row.verification_port,
  };
}

@Injectable()
export class ServersRepository {
  constructor(private readonly db: Database) {}

  /** A miner's servers, oldest first. */
  async listByMiner(minerHotkey: string): Promise<Server[]> {
    const rows = await this.db.rows<ServerRow>(`SELECT * FROM servers WHERE miner_hotkey = $1 ORDER BY created_at, id`, [minerHotkey]);
    return rows.map(toServer);
  }

  /** The GPUs of these servers, each with its server's id, by server then device index. */
  async gpusOf(serverIds: string[]): Promise<(ServerGpu & { serverId: string })[]> {
    if (serverIds.length === 0) return [];
    const rows = await this.db.rows<NodeRow>(`SELECT * FROM server_nodes WHERE server_id = ANY($1::text[]) ORDER BY server_id, device_index, uuid`, [
      serverIds,
    ]);
    return rows.map(toGpu);
  }

  /** The server `serverId` if it belongs to `minerHotkey`, else null. */
  async findOwned(minerHotkey: string, serverId: string): Promise<Server | null> {
    const rows = await this.db.rows<ServerRow>(`SELECT * FROM servers WHERE id = $1 AND miner_hotkey = $2`, [serverId, minerHotkey]);
    return rows[0] ? toServer(rows[0]) : null;
  }

  /**
   * Servers whose identity collides with `names` (the id and name a server would take): this
   * miner's servers using one as id, name or vm_name, and — ids being global — any server whose
   * id is `newId`. `exceptId` leaves out the server being renamed.
   */
  async findConflicting(minerHotkey: string, names: string[], options: { newId?: string; exceptId?: string }, executor: Executor = this.db): Promise<Server[]> {
    const rows = await executor.rows<ServerRow>(
      `SELECT * FROM servers
        WHERE (id = $3::text OR (miner_hotkey = $1 AND (id = ANY($2::text[]) OR name = ANY($2::text[]) OR vm_name = ANY($2::text[]))))
          AND ($4::text IS NULL OR id <> $4::text)
        ORDER BY created_at, id`,
      [minerHotkey, names, options.newId ?? null, options.exceptId ?? null],
    );
    return rows.map(toServer);
  }

  /**
   * Serialises changes to one miner's registry until `tx` ends, so the cross-column rule (no
   * server's id or name may equal another's id, name or vm_name) holds under concurrency.
   */
  async lockMinerRegistry(minerHotkey: string, tx: Executor): Promise<void> {
    await tx.rows(`SELECT pg_advisory_xact_lock(hashtext('bootkey:servers:' || $1)::bigint) IS NULL AS locked`, [minerHotkey]);
  }

  /** This miner's servers registered for `vmName` (normally one): the hosts its boots must come from. */
  async registeredForVm(minerHotkey: string, vmName: string): Promise<Server[]> {
    const rows = await this.db.rows<ServerRow>(`SELECT * FROM servers WHERE miner_hotkey = $1 AND vm_name = $2 ORDER BY created_at, id`, [minerHotkey, vmName]);
    return rows.map(toServer);
  }

  /**
   * Registered servers whose latest verified attestation (runtime or registration) matched one of
   * `sets` — or, when no verified attestation is left (audit retention), the set they registered with.
   */
  async onMeasurementSets(sets: { name: string; version: string }[]): Promise<ServerOnSet[]> {
    if (sets.length === 0) return [];
    const rows = await this.db.rows<ServerRow & { set_name: string; set_version: string; attested_at: Date | null }>(
      `SELECT s.*, latest.created_at AS attested_at,
              CASE WHEN latest.id IS NULL THEN s.measurement_name ELSE latest.measurement_name END AS set_name,
              CASE WHEN latest.id IS NULL THEN s.measurement_version ELSE latest.measurement_version END AS set_version
         FROM servers s
         LEFT JOIN LATERAL (
           SELECT a.id, a.created_at, a.measurement_name, a.measurement_version FROM server_attestations a
            WHERE a.server_id = s.id AND a.outcome = 'verified'
            ORDER BY a.created_at DESC, a.id DESC LIMIT 1) latest ON true
        WHERE (CASE WHEN latest.id IS NULL THEN s.measurement_name ELSE latest.measurement_name END,
               CASE WHEN latest.id IS NULL THEN s.measurement_version ELSE latest.measurement_version END)
              IN (SELECT * FROM unnest($1::text[], $2::text[]))
        ORDER BY s.miner_hotkey, s.created_at, s.id`,
      [sets.map((set) => set.name), sets.map((set) => set.version)],
    );
    return rows.map((row) => ({ server: toServer(row), measurementName: row.set_name, measurementVersion: row.set_version, attestedAt: row.attested_at }));
  }

  /** Which of these GPU uuids are registered already. */
  async registeredGpuUuids(uuids: string[]): Promise<string[]> {
    const rows = await this.db.rows<{ uuid: string }>(`SELECT uuid FROM server_nodes WHERE uuid = ANY($1::text[])`, [uuids]);
    return rows.map((row) => row.uuid);
  }

  /** Inserts a server and its GPUs in `tx`; 'conflict' when its id, name or a GPU uuid is taken. */
  async insert(server: Server, gpus: ServerGpu[], tx: Executor): Promise<'inserted' | 'conflict'> {
    try {
      await tx.rows(
        `INSERT INTO servers (id, miner_hotkey, name, vm_name, host, measurement_name, measurement_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          server.id,
          server.minerHotkey,
          server.name,
          server.vmName,
          server.host,
          server.measurementName,
          server.measurementVersion,
          server.createdAt,
          server.updatedAt,
        ],
      );
      for (const gpu of gpus) await this.insertGpu(server.id, gpu, tx);
      return 'inserted';
    } catch (error) {
      if (isUniqueViolation(error)) return 'conflict';
      throw error;
    }
  }

  /** Renames the miner's server in `tx`; 'name_taken' when the miner has a server of that name already. */
  async rename(minerHotkey: string, serverId: string, name: string, now: Date, tx: Executor): Promise<'renamed' | 'name_taken'> {
    try {
      await tx.rows(`UPDATE servers SET name = $3, updated_at = $4 WHERE id = $1 AND miner_hotkey = $2`, [serverId, minerHotkey, name, now]);
      return 'renamed';
    } catch (error) {
      if (isUniqueViolation(error)) return 'name_taken';
      throw error;
    }
  }

  /**
   * The miner's servers whose id (by 'id'), name (by 'name') or either (by undefined) is `nameOrId`,
   * locked until `tx` ends. More than one means the name is ambiguous.
   */
  async lockOwnedMatching(minerHotkey: string, nameOrId: string, by: 'id' | 'name' | undefined, tx: Executor): Promise<Server[]> {
    const condition = by === 'id' ? 'id = $2' : by === 'name' ? 'name = $2' : '(id = $2 OR name = $2)';
    const rows = await tx.rows<ServerRow>(`SELECT * FROM servers WHERE miner_hotkey = $1 AND ${condition} ORDER BY id FOR UPDATE`, [minerHotkey, nameOrId]);
    return rows.map(toServer);
  }

  /** Deletes a server; its GPUs go with it (ON DELETE CASCADE). */
  async delete(serverId: string, tx: Executor): Promise<void> {
    await tx.rows(`DELETE FROM servers WHERE id = $1`, [serverId]);
  }

  private async insertGpu(serverId: string, gpu: ServerGpu, tx: Executor): Promise<void> {
    await tx.rows(
      `INSERT INTO server_nodes (uuid, server_id, name, memory, major, minor, processors, sxm, clock_rate, max_threads_per_processor,
         concurrent_kernels, ecc, device_index, gpu_identifier, verification_host, verification_port)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [
        gpu.uuid,
        serverId,
        gpu.name,
        gpu.memory,
        gpu.major,
        gpu.minor,
        gpu.processors,
        gpu.sxm,
        gpu.clockRate,
        gpu.maxThreadsPerProcessor,
        gpu.concurrentKernels,
        gpu.ecc,
        gpu.deviceIndex,
        gpu.gpuIdentifier,
        gpu.verificationHost,
        gpu.verificationPort,
      ],
    );
  }
}
