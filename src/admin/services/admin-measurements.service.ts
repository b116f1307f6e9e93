/**
 * Admin management of measurement sets: list (retired included), read, create (with an
 * optional write-only root passphrase, sealed by MeasurementSetsService), and retire. Sets are
 * immutable per (name, version), so there is no update: a new image gets a new version.
 */
import { Injectable, Logger } from '@nestjs/common';
import { AttestationAuditRepository } from '../../audit/attestation-audit.repository';
import { Clock } from '../../common/clock/clock';
import { ServersRepository } from '../../servers/servers.repository';
import { DomainError, ErrorCode } from '../../common/errors';
import { MeasurementSetInput, MeasurementSetInputError, parseMeasurementSetInput } from '../../common/validation/measurement-set.input';
import { MeasurementSetsService } from '../../measurements/measurement-sets.service';
import type { MeasurementSet } from '../../measurements/measurement-set.types';
import { CreateMeasurementSetRequest } from '../dto/measurement-set.request';
import { MeasurementSetListResponse, MeasurementSetResponse, RetirementDryRunResponse, toMeasurementSetResponse } from '../dto/measurement-set.response';

/** How far back a VM's boot counts for the impact of a retirement. */
export const RETIREMENT_VM_WINDOW_DAYS = 30;

const notFound = (version: string, name?: string) => new DomainError(ErrorCode.NOT_FOUND, `measurement set ${name ? `${name} ` : ''}${version} not found`);

@Injectable()
export class AdminMeasurementsService {
  private readonly logger = new Logger('admin');

  constructor(
    private readonly sets: MeasurementSetsService,
    private readonly servers: ServersRepository,
    private readonly audit: AttestationAuditRepository,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<MeasurementSetListResponse> {
    const sets = await this.sets.all();
    return { items: sets.map(toMeasurementSetResponse) };
  }

  async get(version: string, name?: string): Promise<MeasurementSetResponse> {
    return toMeasurementSetResponse(await this.select(version, name));
  }

  async create(body: CreateMeasurementSetRequest, admin: string): Promise<MeasurementSetResponse> {
    const input = toInput(body);
    const passphrase = body.root_passphrase === undefined ? undefined : Buffer.from(body.root_passphrase, 'utf8');
    let created: boolean;
    try {
      created = await this.sets.create(input, passphrase);
    } finally {
      passphrase?.fill(0);
    }
    if (!created)
      throw new DomainError(
        ErrorCode.MEASUREMENT_SET_EXISTS,
        `measurement set ${input.name} ${input.version} already exists; sets are immutable, register a new version`,
      );
    this.logger.log({
      msg: 'measurement set created',
      admin,
      name: input.name,
      version: input.version,
      rc: input.rc,
      hasRootPassphrase: passphrase !== undefined,
    });
    return this.get(input.version, input.name);
  }

  /** Idempotent: retiring a retired set answers it unchanged (its first retired_at stays). */
  async retire(version: string, admin: string, name?: string): Promise<MeasurementSetResponse> {
    const set = await this.select(version, name);
    if (await this.sets.retire(set)) this.logger.log({ msg: 'measurement set retired', admin, name: set.name, version });
    return this.get(version, set.name);
  }

  /**
   * What retiring would do, retiring nothing: the set the same call would retire (same `?name=`
   * and ambiguity rules), the registered servers whose latest verified attestation matched it,
   * and the VMs with a verified boot on it in the last 30 days.
   */
  async retireDryRun(version: string, name?: string): Promise<RetirementDryRunResponse> {
    const set = await this.select(version, name);
    const identities = [{ name: set.name, version: set.version }];
    const since = new Date(this.clock.now().getTime() - RETIREMENT_VM_WINDOW_DAYS * 86_400_000);
    const [servers, vms] = await Promise.all([this.servers.onMeasurementSets(identities), this.audit.verifiedBootsOnSets(identities, since)]);
    return {
      dry_run: true,
      sets: identities,
      servers: servers.map(({ server, measurementName, measurementVersion, attestedAt }) => ({
        server_id: server.id,
        name: server.name,
        vm_name: server.vmName,
        miner_hotkey: server.minerHotkey,
        host: server.host,
        measurement_name: measurementName,
        measurement_version: measurementVersion,
        attested_at: attestedAt ? attestedAt.toISOString() : null,
      })),
      vms: vms.map((vm) => ({
        miner_hotkey: vm.minerHotkey,
        vm_name: vm.vmName,
        measurement_name: vm.measurementName,
        measurement_version: vm.measurementVersion,
        last_boot_at: vm.lastBootAt.toISOString(),
        booted_other_set_since: vm.bootedOtherSetSince,
      })),
      vms_since: since.toISOString(),
    };
  }

  /**
   * The one set a route addresses: `?name=` picks it; without it the version must name exactly
   * one set (a Chutes release names one per GPU flavour: 409 MEASUREMENT_SET_AMBIGUOUS, so one
   * call never retires several flavours by surprise).
   */
  private async select(version: string, name?: string): Promise<MeasurementSet> {
    if (name !== undefined) {
      const set = await this.sets.byNameAndVersion(name, version);
      if (!set) throw notFound(version, name);
      return set;
    }
    const sets = await this.sets.byVersion(version);
    if (sets.length === 0) throw notFound(version);
    if (sets.length > 1) {
      throw new DomainError(
        ErrorCode.MEASUREMENT_SET_AMBIGUOUS,
        `version ${version} names ${sets.length} sets (${sets.map((set) => set.name).join(', ')}); add ?name= to pick one`,
      );
    }
    return sets[0];
  }
}

/**
 * The body through the same parser as a MEASUREMENTS_FILE entry (normalised hex, string
 * version, lowercase GPU ids). The passphrase is not passed, so it cannot reach a message.
 */
function toInput(body: CreateMeasurementSetRequest): MeasurementSetInput {
  try {
    return parseMeasurementSetInput({
      name: body.name,
      version: body.version,
      mrtd: body.mrtd,
      boot_rtmrs: { ...body.boot_rtmrs },
      runtime_rtmrs: { ...body.runtime_rtmrs },
      expected_gpus: body.expected_gpus,
      gpu_count: body.gpu_count,
      rc: body.rc,
      authorized_hotkeys: body.authorized_hotkeys,
    });
  } catch (error) {
    if (error instanceof MeasurementSetInputError) throw new DomainError(ErrorCode.VALIDATION_FAILED, error.message);
    throw error;
  }
}
