/**
 * Every error code the broker can answer with, as a sentence that says what to do about it.
 * The map is typed by ErrorCode and advice.spec.ts iterates the enum, so a new server code
 * without advice fails the build and the tests. Codes this CLI does not know (a newer broker)
 * fall back to the server's own message.
 */
import { ErrorCode } from '../common/errors/error-code';
import { BrokerRefusedError, BrokerUnreachableError } from './errors';

export const ADVICE: Readonly<Record<ErrorCode, string>> = {
  [ErrorCode.VALIDATION_FAILED]: 'The broker rejected a field of the request (named above); fix that value or file and run the command again.',
  [ErrorCode.BODY_TOO_LARGE]: 'The request is larger than the broker accepts; send a smaller file (a TDX quote is at most 16 KiB).',
  [ErrorCode.NOT_FOUND]:
    'Nothing by that id, name or version exists for your hotkey; list what does (`bootkey servers list`, `bootkey measurements list`) — servers are visible only to the hotkey that registered them.',
  [ErrorCode.RATE_LIMITED]: 'Too many requests from this address or hotkey; wait a minute and try again.',
  [ErrorCode.NONCE_INVALID]: 'The nonce was unknown, expired or already used; try again, each attempt gets a fresh one.',
  [ErrorCode.QUOTE_NONCE_INVALID]:
    'The luks_quote_nonce is missing, expired, already used or belongs to another VM; reboot the VM so it attests again and gets a new one.',
  [ErrorCode.CONFIRM_NONCE_INVALID]:
    'The confirm nonce is missing, expired, or was used with another request; reboot the VM so it attests again and gets a new one.',
  [ErrorCode.BOOT_TOKEN_INVALID]: 'The boot token is missing, expired or already used; reboot the VM so its initramfs attests again and gets a new one.',
  [ErrorCode.CLIENT_CERT_REQUIRED]: "This call must come over mutual TLS with the VM's client certificate; it is made by the VM's initramfs, not by this CLI.",
  [ErrorCode.REPORT_DATA_MISMATCH]:
    "The quote does not bind the broker's nonce and the TLS key it saw; make sure --host reaches the VM's attestation service directly (no TLS-terminating proxy in between) and try again.",
  [ErrorCode.SIGNATURE_MISSING]: 'The broker received no hotkey signature; something between you and the broker (a proxy?) drops the X-Chutes-* headers.',
  [ErrorCode.SIGNATURE_INVALID]:
    "The broker could not verify the hotkey signature; check the hotkey (`bootkey hotkey show`), that no proxy rewrites request paths or bodies, and that --url is the broker's public address (the origin it has as SIGNATURE_AUDIENCE).",
  [ErrorCode.SIGNATURE_EXPIRED]:
    "This machine's clock is too far from the broker's (signatures are valid for ±10 minutes by default); synchronise the clock (NTP) and try again.",
  [ErrorCode.SIGNATURE_REPLAYED]: 'The broker has already seen this exact signature; run the command again (every run signs afresh).',
  [ErrorCode.SIGNATURE_SCOPE]:
    'The broker refused this signature for this request: admin routes take only bootkey (v2) signatures, and a Chutes (v1) signature is bound to the HTTP method it was first used with; sign each request afresh with this CLI (it signs v2).',
  [ErrorCode.NOT_ADMIN]:
    "Your hotkey is not one of the broker's ADMIN_HOTKEYS; sign with an admin hotkey (--wallet/--hotkey, --seed-file or BOOTKEY_HOTKEY_SEED), or ask the operator to add yours (`bootkey hotkey show`).",
  [ErrorCode.QUOTE_MALFORMED]: 'The quote could not be decoded; pass the quote itself (raw bytes or base64), complete and untruncated.',
  [ErrorCode.QUOTE_UNSUPPORTED]:
    'This is not an Intel TDX quote the broker accepts (version 4 or 5, TEE type TDX, ECDSA-P256 key); produce the quote inside a TDX VM.',
  [ErrorCode.QUOTE_SIGNATURE_INVALID]: "The quote's signature does not verify: the evidence was altered or does not come from genuine TDX hardware.",
  [ErrorCode.QE_REPORT_INVALID]: "The quoting enclave's report does not verify; update the host's DCAP quoting stack (QE / QGS) and try again.",
  [ErrorCode.PCK_CHAIN_INVALID]:
    "The platform's PCK certificate chain does not lead to the Intel root; fix the host's DCAP provisioning (PCCS / PCK certificates).",
  [ErrorCode.CERT_REVOKED]:
    "Intel has revoked a certificate in this platform's chain; the host must be updated (BIOS / microcode) or replaced before it can be trusted.",
  [ErrorCode.COLLATERAL_INVALID]:
    "The broker's DCAP collateral does not verify; tell the broker operator (PCCS_URL / COLLATERAL_DIR) — nothing on your side will fix it.",
  [ErrorCode.COLLATERAL_EXPIRED]: "The broker's DCAP collateral is out of date; ask the broker operator to refresh it, then try again.",
  [ErrorCode.QE_IDENTITY_MISMATCH]: "The quoting enclave is not one Intel's QE identity accepts; update the host's DCAP quoting stack.",
  [ErrorCode.TCB_LEVEL_NOT_FOUND]:
    "The platform's TCB is not listed in Intel's TCB info for its FMSPC; update the host's BIOS, microcode and TDX module, or ask the operator to refresh collateral.",
  [ErrorCode.TCB_STATUS_REJECTED]:
    "The platform's TCB status is not one the broker accepts; update the host's BIOS, microcode and TDX module (`bootkey audit` lists the advisories), or ask the operator.",
  [ErrorCode.DEBUG_TD]: 'The VM runs as a debug TD, which never gets keys; start it with debug off.',
  [ErrorCode.TD_ATTRIBUTES_REFUSED]:
    'The VM runs with TD attributes the broker refuses (e.g. MIGRATABLE, or debug features) or with a service TD it does not allow; start it as a plain, non-migratable production TD (`bootkey audit --vm-name NAME` shows the bits).',
  [ErrorCode.MEASUREMENT_MISMATCH]:
    "The VM's measurements match no active measurement set; boot an approved image, or have an admin add its set (`bootkey measurements add`); `bootkey audit --vm-name NAME` shows which register differs.",
  [ErrorCode.NO_ROOT_KEY]: 'The matched measurement set has no root passphrase; an admin must add a set with root_passphrase_file.',
  [ErrorCode.VERSION_TOO_OLD]:
    'The VM image is older than this broker accepts (TEE_MINIMUM_BOOT_VERSION); boot a current image (see GET /servers/tee/measurements).',
  [ErrorCode.MINER_BLOCKED]: 'Your hotkey is blocked on this broker; contact its operator.',
  [ErrorCode.MINER_NOT_ALLOWED]:
    'This broker only serves allow-listed miners; ask an admin to run `bootkey miners allow <your ss58>` (see `bootkey hotkey show`).',
  [ErrorCode.IDENTITY_HOST_MISMATCH]:
    'A server registered with this hotkey has this VM name, and boots under that name must come from its registered host address; boot the VM on that host, or fix the registration (`bootkey servers list`). `bootkey audit --vm-name NAME` shows both addresses.',
  [ErrorCode.SERVER_NOT_FOUND]:
    'Your hotkey has no server by that id or name; `bootkey servers list` shows the ones it has (servers are visible only to the hotkey that registered them).',
  [ErrorCode.SERVER_EXISTS]: 'A server with this id is already registered; choose another --id, or remove the old one first (`bootkey servers remove ID`).',
  [ErrorCode.SERVER_NAME_TAKEN]:
    'Another of your servers already has this name; choose another name, or rename or remove that server (`bootkey servers list`).',
  [ErrorCode.GPU_ALREADY_REGISTERED]:
    'One of these GPUs (by uuid) is already registered to a server; remove that server first (`bootkey servers list`), or check the GPU list you sent.',
  [ErrorCode.GPU_MISMATCH]:
    'The GPUs do not fit the matched measurement set (each gpu_identifier must be in its expected_gpus, and the count must equal its gpu_count); fix --gpu-identifier or the GPU list, or ask an admin about the set (`bootkey measurements show VERSION`).',
  [ErrorCode.GPU_EVIDENCE_INVALID]:
    "The GPUs' attestation evidence did not verify; check the GPUs are in confidential-computing mode and their driver and firmware are current, then try again.",
  [ErrorCode.GPU_VERIFIER_UNAVAILABLE]:
    'The broker cannot verify GPU evidence right now (its GPU verifier is missing or failed); try again later, or tell the operator.',
  [ErrorCode.PRIVATE_HOST]:
    "The broker refuses private and loopback addresses; pass the server's public address with --host (ALLOW_PRIVATE_HOSTS=true is for test brokers).",
  [ErrorCode.HOST_UNRESOLVABLE]: 'The broker could not resolve --host; pass an IP address, or a DNS name that resolves from the broker.',
  [ErrorCode.CALLER_NOT_SERVER]: 'This call must come from the server itself (its registered host address); run it on the VM, not from elsewhere.',
  [ErrorCode.ATTESTATION_SERVICE_UNREACHABLE]:
    "The broker could not reach the VM's attestation service at https://HOST:ATTESTATION_PORT (30443 by default); check the VM is up, the service runs, and the port is open to the broker.",
  [ErrorCode.ATTESTATION_SERVICE_INVALID]:
    "The VM's attestation service answered, but not with usable evidence; check the service's version and logs on the VM, then try again.",
  [ErrorCode.SERVER_NAME_AMBIGUOUS]:
    "That name is one server's id and another server's name; say which you mean with --id or --name (`bootkey servers list` shows both).",
  [ErrorCode.KEY_GENERATION_NOT_FOUND]:
    'That VM has no such volume key generation (it never existed, or it was shredded); `bootkey keys list VM` shows the generations that are kept.',
  [ErrorCode.ATTESTATION_SERVICE_REFUSED]:
    "The VM's attestation proxy refused the broker's evidence request: it answers only allowed validators. A VM image >= 1.4 allows only the vm_auth key of its latest boot here: register it while it runs that boot (a VM that rebooted since must finish booting first). Older images: the broker operator must set VALIDATOR_KEY_FILE, and the VM must list that key's ss58 (`bootkey validator show` on the broker) among its allowed validators. Also check both clocks (NTP).",
  [ErrorCode.VM_ROOT_CA_MISMATCH]:
    "The attestation service at --host presented a TLS certificate not issued by the root CA this VM recorded at its latest boot: --host may not be that VM (check --host and the name, which must be the VM's name), or the VM's attestation proxy is not using its boot's certificates; fix that and register again.",
  [ErrorCode.MEASUREMENT_SET_EXISTS]:
    'A measurement set with this name and version already exists, and sets are immutable; give the new set a new version (or pass --skip-existing to skip the ones already there).',
  [ErrorCode.MEASUREMENT_SET_AMBIGUOUS]:
    'Several measurement sets share this version (one per GPU flavour, as in a Chutes release); name one with --name (`bootkey measurements list` shows the names).',
  [ErrorCode.COLLATERAL_UNAVAILABLE]:
    'The broker has no current DCAP collateral for this platform right now; this is not a rejection — try again in a few minutes.',
  [ErrorCode.DATABASE_UNAVAILABLE]: "The broker's database is unavailable; try again shortly, and tell the operator if it persists.",
  [ErrorCode.OVERLOADED]: 'The broker is at capacity (MAX_INFLIGHT) and refused the request before doing anything; wait a few seconds and try again.',
  [ErrorCode.UPSTREAM_UNAVAILABLE]:
    'The front (load balancer) in front of the broker could not reach any broker replica in time; try again shortly, and tell the operator if it persists.',
  [ErrorCode.KEY_UNAVAILABLE]:
    'The broker cannot open a stored key (a KEK is missing from its configuration); tell the operator — nothing on your side will fix it.',
  [ErrorCode.INTERNAL]:
    "The broker failed unexpectedly; try again, and if it persists give the operator the time of the failure (the broker's log has the details).",
};

/** Advice for answers without a known code (a proxy's 502, a newer broker's code), by status. */
function adviceByStatus(status: number): string | undefined {
  if (status === 401) return "The broker did not accept the request's authentication; check the hotkey (`bootkey hotkey show`) and this machine's clock.";
  if (status === 403) return 'The broker refuses this for your hotkey.';
  if (status === 404) return 'The broker has no such thing, or --url points at something that is not a bootkey broker.';
  if (status === 409) return 'It conflicts with something that already exists; list what exists and choose another id or name.';
  if (status === 429) return ADVICE[ErrorCode.RATE_LIMITED];
  if (status === 502 || status === 504) return 'The broker (or a proxy in front of it) could not reach what it needed in time; try again shortly.';
  if (status >= 500) return 'The broker failed; try again shortly, and tell the operator if it persists.';
  return undefined;
}

function isKnownCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ADVICE, code);
}

/** The sentence that says what to do about a refusal: by its code, else by its status. */
export function adviceFor(code: string | undefined, status: number): string | undefined {
  if (code !== undefined) return isKnownCode(code) ? ADVICE[code] : undefined;
  return adviceByStatus(status);
}

/** The lines printed for a refusal: what the broker said, then what to do. */
export function describeRefusal(error: BrokerRefusedError): string[] {
  const label = error.code ? `${error.code}, HTTP ${error.status}` : `HTTP ${error.status}`;
  const lines = [`bootkey: the broker refused: ${error.serverMessage} (${label})`];
  const advice = adviceFor(error.code, error.status);
  if (advice) lines.push(`  what to do: ${advice}`);
  return lines;
}

export function describeUnreachable(error: BrokerUnreachableError): string[] {
  const lines = [`bootkey: ${error.message}`];
  lines.push(`  what to do: ${error.hint ?? 'check --url (or BOOTKEY_URL), that the broker is running, and that this machine can reach it'}.`);
  return lines;
}
