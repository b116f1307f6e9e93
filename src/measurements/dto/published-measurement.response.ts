/**
 * `GET /servers/tee/measurements`: the published sets in the Chutes shape (CHUTES-PROTOCOL.md
 * §6.2), register keys uppercase as Chutes names them. Hex values are lowercase, as every hex in
 * bootkey's responses (Chutes sends uppercase; its clients compare case-insensitively).
 */
import { IsArray, IsInt, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import type { MeasurementSet, RtmrSet } from '../measurement-set.types';

const REGISTER = /^[0-9a-f]{96}$/;
/** Gen C boot RTMR3 is fixed at zero; a set that does not check it publishes zero too (Chutes' shape has no gap). */
const ZERO_REGISTER = '0'.repeat(96);

export class PublishedRtmrs {
  @Matches(REGISTER) RTMR0: string;
  @Matches(REGISTER) RTMR1: string;
  @Matches(REGISTER) RTMR2: string;
  @Matches(REGISTER) RTMR3: string;
}

export class PublishedMeasurementView {
  @IsString() version: string;
  @IsString() name: string;
  @Matches(REGISTER) mrtd: string;
  /** RTMR3 is 96 zeros when the set does not check it at boot. */
  @ValidateNested() boot_rtmrs: PublishedRtmrs;
  @ValidateNested() runtime_rtmrs: PublishedRtmrs;
  @IsArray() @IsString({ each: true }) expected_gpus: string[];
  @IsOptional() @IsInt() gpu_count: number | null;
  /** The host-profile fingerprint (Chutes); bootkey stores none, so always null. */
  @IsOptional() @IsString() fingerprint: string | null;
}

function rtmrs(set: RtmrSet): PublishedRtmrs {
  return { RTMR0: set.rtmr0 ?? '', RTMR1: set.rtmr1 ?? '', RTMR2: set.rtmr2 ?? '', RTMR3: set.rtmr3 ?? ZERO_REGISTER };
}

export function toPublishedMeasurement(set: MeasurementSet): PublishedMeasurementView {
  return {
    version: set.version,
    name: set.name,
    mrtd: set.mrtd.toLowerCase(),
    boot_rtmrs: lower(rtmrs(set.bootRtmrs)),
    runtime_rtmrs: lower(rtmrs(set.runtimeRtmrs)),
    expected_gpus: [...set.expectedGpus],
    gpu_count: set.gpuCount,
    fingerprint: null,
  };
}

function lower(view: PublishedRtmrs): PublishedRtmrs {
  return { RTMR0: view.RTMR0.toLowerCase(), RTMR1: view.RTMR1.toLowerCase(), RTMR2: view.RTMR2.toLowerCase(), RTMR3: view.RTMR3.toLowerCase() };
}
