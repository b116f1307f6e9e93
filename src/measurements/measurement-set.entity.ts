import { Column, Entity, PrimaryColumn } from 'typeorm';

export interface RtmrSet {
  rtmr0?: string;
  rtmr1?: string;
  rtmr2?: string;
  rtmr3?: string;
}

/**
 * A registered measurement set (immutable per version; `retiredAt` stops it matching). The
 * root passphrase is envelope-sealed (AAD `root|<version>`) and never leaves through a DTO.
 */
@Entity({ name: 'measurement_sets' })
export class MeasurementSetEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', unique: true })
  version: string;

  @Column({ type: 'text' })
  mrtd: string;

  @Column({ name: 'boot_rtmrs', type: 'jsonb' })
  bootRtmrs: RtmrSet;

  @Column({ name: 'runtime_rtmrs', type: 'jsonb' })
  runtimeRtmrs: RtmrSet;

  @Column({ name: 'expected_gpus', type: 'jsonb' })
  expectedGpus: string[];

  @Column({ name: 'gpu_count', type: 'integer', nullable: true })
  gpuCount: number | null;

  @Column({ name: 'root_kek_id', type: 'text', nullable: true })
  rootKekId: string | null;

  @Column({ name: 'root_wrapped_key', type: 'bytea', nullable: true })
  rootWrappedKey: Uint8Array | null;

  @Column({ name: 'root_ciphertext', type: 'bytea', nullable: true })
  rootCiphertext: Uint8Array | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt: Date | null;
}
