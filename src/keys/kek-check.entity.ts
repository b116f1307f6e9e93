import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A key-check value: a known constant sealed under KEK `kekId` (see kek-check.ts). */
@Entity({ name: 'kek_checks' })
export class KekCheckEntity {
  @PrimaryColumn({ name: 'kek_id', type: 'text' })
  kekId: string;

  @Column({ name: 'wrapped_key', type: 'bytea' })
  wrappedKey: Buffer;

  @Column({ type: 'bytea' })
  ciphertext: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
