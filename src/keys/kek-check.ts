/**
 * Key-check values (table `kek_checks`): for every KEK id the database has seen, a constant
 * sealed under that KEK. At start every configured KEK must open its row, so a wrong key for a
 * known id stops the service with one line instead of failing later, secret by secret.
 */
import { ConfigError } from '../config/app-config';
import { KekRing, openSecret, SealedSecret, sealSecret } from './envelope';
import type { KekChecksRepository } from './kek-checks.repository';
import { LoadedKekRing } from './kek-ring';

/** What each check row seals; its value matters only in that it never changes. */
const KEK_CHECK_PLAINTEXT = 'bootkey kek check v1';

export function kekCheckAad(kekId: string): string {
  return `kek-check|${kekId}`;
}

export interface KekCheckOutcome {
  /** Ids whose check value this start inserted (first use of the id with this database). */
  inserted: string[];
  /** Ids the database knows but the ring does not hold (retired KEKs; informational). */
  unconfigured: string[];
}

function matches(check: SealedSecret, ring: KekRing): boolean {
  try {
    return new TextDecoder().decode(openSecret(check, kekCheckAad(check.kekId), ring)) === KEK_CHECK_PLAINTEXT;
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
export async function verifyKekChecks(checks: KekChecksRepository, loaded: LoadedKekRing, now: Date): Promise<KekCheckOutcome> {
  const { ring } = loaded;
  const inserted: string[] = [];
  for (const kek of ring.keks.values()) {
    const check = sealSecret(new TextEncoder().encode(KEK_CHECK_PLAINTEXT), kekCheckAad(kek.id), kek);
    if (await checks.insertIfAbsent(check, now)) inserted.push(kek.id);
  }
  const stored = await checks.all();
  for (const kek of ring.keks.values()) {
    const check = stored.find((candidate) => candidate.kekId === kek.id);
    if (!check || !matches(check, ring)) {
      throw new ConfigError(`invalid configuration: ${loaded.label}: key ${kek.id} does not match the key-check value stored in the database (wrong key?)`);
    }
  }
  return { inserted, unconfigured: stored.map((check) => check.kekId).filter((id) => !ring.keks.has(id)) };
}
