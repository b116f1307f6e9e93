/**
 * Key-check values (table `kek_checks`): for every KEK id the database has seen, a constant
 * sealed under that KEK. At start every configured KEK must open its row, so a wrong key for a
 * known id stops the service with one line instead of failing later, secret by secret.
 */
import { ConfigError } from '../config/app-config';
import { queryRows } from '../database/sql';
import { KekRing, openSecret, sealSecret } from './envelope';
import { LoadedKekRing } from './kek-ring';

/** What each check row seals; its value matters only in that it never changes. */
const KEK_CHECK_PLAINTEXT = 'bootkey kek check v1';

export function kekCheckAad(kekId: string): string {
  return `kek-check|${kekId}`;
}

interface QueryExecutor {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

interface KekCheckRow {
  kek_id: string;
  wrapped_key: Uint8Array;
  ciphertext: Uint8Array;
}

export interface KekCheckOutcome {
  /** Ids whose check value this start inserted (first use of the id with this database). */
  inserted: string[];
  /** Ids the database knows but the ring does not hold (retired KEKs; informational). */
  unconfigured: string[];
}

function matches(row: KekCheckRow, ring: KekRing): boolean {
  try {
    const sealed = { kekId: row.kek_id, wrappedKey: new Uint8Array(row.wrapped_key), ciphertext: new Uint8Array(row.ciphertext) };
    return new TextDecoder().decode(openSecret(sealed, kekCheckAad(row.kek_id), ring)) === KEK_CHECK_PLAINTEXT;
  } catch {
    return false;
  }
}

/**
 * Inserts check values for ring ids the database has not seen, then verifies every ring KEK
 * against its stored value. Inserting first (ON CONFLICT DO NOTHING) means two replicas
 * starting together with different keys for a new id cannot both win: the loser fails the
 * verification. Throws ConfigError naming `loaded.label` on a mismatch.
 */
export async function verifyKekChecks(executor: QueryExecutor, loaded: LoadedKekRing, now: Date): Promise<KekCheckOutcome> {
  const { ring } = loaded;
  const inserted: string[] = [];
  for (const kek of ring.keks.values()) {
    const check = sealSecret(new TextEncoder().encode(KEK_CHECK_PLAINTEXT), kekCheckAad(kek.id), kek);
    const rows = await queryRows<{ kek_id: string }>(
      executor,
      `INSERT INTO kek_checks (kek_id, wrapped_key, ciphertext, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (kek_id) DO NOTHING RETURNING kek_id`,
      [kek.id, Buffer.from(check.wrappedKey), Buffer.from(check.ciphertext), now],
    );
    if (rows.length > 0) inserted.push(kek.id);
  }
  const rows = await queryRows<KekCheckRow>(executor, `SELECT kek_id, wrapped_key, ciphertext FROM kek_checks ORDER BY kek_id`);
  for (const kek of ring.keks.values()) {
    const row = rows.find((candidate) => candidate.kek_id === kek.id);
    if (!row || !matches(row, ring)) {
      throw new ConfigError(
        `invalid configuration: ${loaded.label}: key ${kek.id} does not match the key-check value stored in the database (wrong key?)`,
      );
    }
  }
  return { inserted, unconfigured: rows.map((row) => row.kek_id).filter((id) => !ring.keks.has(id)) };
}
