/**
 * The environment of a child process the broker runs (GPU_EVIDENCE_VERIFIER): an allowlist of
 * what a verifier plausibly needs (PATH, locale, temp dir, proxies and CA bundles for NVIDIA's
 * remote attestation service, Python and NVIDIA settings), never the broker's own secrets
 * (BROKER_KEKS, DATABASE_URL, key files) — a third-party tool has no business with them.
 */

/** sh's own default when PATH is unset, so a verifier script still finds its tools. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'VIRTUAL_ENV',
]);
const PREFIXES = ['LC_', 'PYTHON', 'NV_', 'NVIDIA_', 'NVATTEST_'];

export function childProcessEnv(env: Record<string, string | undefined>): Record<string, string> {
  const child: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (NAMES.has(name) || PREFIXES.some((prefix) => name.startsWith(prefix))) child[name] = value;
  }
  child.PATH ??= DEFAULT_PATH;
  return child;
}
