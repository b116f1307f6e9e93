import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type NoncePurpose = 'boot' | 'runtime';

/** A single-use nonce; the nonce itself is never stored, only its SHA-256 (hex). */
@Entity({ name: 'nonces' })
@Index('idx_nonces_expires_at', ['expiresAt'])
export class NonceEntity {
  @PrimaryColumn({ name: 'nonce_hash', type: 'text' })
  nonceHash: string;

  @Column({ type: 'text' })
  purpose: NoncePurpose;

  @Column({ name: 'client_ip', type: 'text' })
  clientIp: string;

  @Column({ name: 'server_id', type: 'text', nullable: true })
  serverId: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
