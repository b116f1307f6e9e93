/**
 * The kinds of key-release events: the broker's audit writes them, the admin API filters by them
 * and the CLI offers them (`bootkey audit --kind keys --event`), so the list lives below both.
 */
export const KEY_RELEASE_KINDS = [
  'root',
  'sync',
  'sync_replay',
  'legacy_get',
  'replaced',
  'restore',
  'shred',
  'purge',
  'destroy',
  'provision',
  'promote',
  'discard',
  'abandon',
  'k3s',
  'confirm_replay',
] as const;
export type KeyReleaseKind = (typeof KEY_RELEASE_KINDS)[number];
