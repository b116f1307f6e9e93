/**
 * Structural fuzzing of the verification core (fast-check, fixed seed): forged quotes, PCK and
 * collateral certificate chains, CRLs and collateral JSON are mutated the way a hostile or broken
 * peer would (truncated, spliced, lengths and tags rewritten, DER elements dropped, duplicated,
 * re-tagged or re-encoded non-minimally, JSON fields dropped or given the wrong type), re-signed
 * where a signature would otherwise stop the input early, and fed to the parsers and to the
 * verifier. The property: only the core's typed errors ever leave — DomainError with a core code
 * from parseTdxQuote / QuoteVerifier, X509Error from parseCertificate / parseCrl. A TypeError or
 * RangeError is a crash, and fast-check reports it with its seed and shrunk counterexample.
 */
import { KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { DomainError, ErrorCode } from '../../common/errors';
import { certificatePem, createForge, createPckCrl, derTlv, Forge, readTlv } from '../../../test/support/forge';
import { generateP256Key, signP256Raw } from '../../../test/support/forge/ecdsa';
import { QuoteCollateral } from './dcap/collateral.types';
import { parseQeIdentityJson, parseTcbInfoJson } from './dcap/collateral-json';
import { QuoteVerifier } from './dcap/quote-verifier';
import { X509Error, parseCertificate, parseCrl } from './dcap/x509';
import { parseTdxQuote } from './quote/tdx-quote.parser';

const SEED = 20_260_301;
const NOW = new Date('2026-03-01T00:00:00Z');
/** Runs per property; the total is reported at the end (a few thousand, well under 20 s). */
const RUNS = { quoteBytes: 800, pckChain: 400, collateralChain: 200, crl: 300, json: 450, collateralFields: 250 } as const;

/** The codes the core may refuse with; anything else leaving it is a bug. */
const CORE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.QUOTE_MALFORMED,
  ErrorCode.QUOTE_UNSUPPORTED,
  ErrorCode.QUOTE_SIGNATURE_INVALID,
  ErrorCode.QE_REPORT_INVALID,
  ErrorCode.PCK_CHAIN_INVALID,
  ErrorCode.CERT_REVOKED,
  ErrorCode.COLLATERAL_INVALID,
  ErrorCode.COLLATERAL_EXPIRED,
  ErrorCode.QE_IDENTITY_MISMATCH,
  ErrorCode.TCB_LEVEL_NOT_FOUND,
  ErrorCode.TCB_STATUS_REJECTED,
]);

const outcomes = new Map<string, Map<string, number>>();
let totalCases = 0;
let sweepCases = 0;

/** Tallies an outcome; `generated` is false for a second look at an input already counted. */
function record(target: string, outcome: string, generated = true): void {
  if (generated) totalCases++;
  const counts = outcomes.get(target) ?? new Map<string, number>();
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  outcomes.set(target, counts);
}

/** 'ok' or the DomainError code; any other throw (or a non-core code) propagates and fails the property. */
function domainOutcome(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof DomainError && CORE_CODES.has(error.code)) return error.code;
    throw error;
  }
}

/** 'ok' or the X509Error code; anything else propagates. */
function x509Outcome(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof X509Error) return `x509:${error.code}`;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// DER as a tree, so mutations are structural (and lengths of the enclosing elements stay right
// unless the mutation is a length lie on purpose).

interface DerTree {
  tag: number;
  /** Constructed values, and OCTET/BIT STRINGs that encapsulate exactly one TLV (extension values). */
  children?: DerTree[];
  /** Leading bytes kept before encapsulated children (a BIT STRING's unused-bits byte). */
  prefix?: Buffer;
  value: Buffer;
  encoding?: 'nonMinimalLength' | 'indefinite' | 'longFormTag' | { lengthDelta: number };
}

function splitTlvs(bytes: Buffer): Buffer[] | null {
  const items: Buffer[] = [];
  try {
    for (let offset = 0; offset < bytes.length;) {
      const item = readTlv(bytes, offset);
      items.push(item.encoded);
      offset = item.end;
    }
  } catch {
    return null;
  }
  return items;
}

function decodeTree(encoded: Buffer): DerTree {
  const { tag, value } = readTlv(encoded);
  if (tag & 0x20) {
    const items = splitTlvs(value);
    if (items) return { tag, value, children: items.map(decodeTree) };
  }
  if (tag === 0x04 || tag === 0x03) {
    const prefix = tag === 0x03 ? value.subarray(0, 1) : Buffer.alloc(0);
    const items = splitTlvs(value.subarray(prefix.length));
    if (items && items.length === 1 && (tag === 0x04 || prefix[0] === 0)) return { tag, value, prefix, children: items.map(decodeTree) };
  }
  return { tag, value };
}

function encodeTree(tree: DerTree): Buffer {
  const content = tree.children ? Buffer.concat([tree.prefix ?? Buffer.alloc(0), ...tree.children.map(encodeTree)]) : tree.value;
  const encoding = tree.encoding;
  if (encoding === 'indefinite') return Buffer.concat([Buffer.from([tree.tag, 0x80]), content, Buffer.from([0, 0])]);
  // Three length bytes with a leading zero: never minimal, whatever the length.
  if (encoding === 'nonMinimalLength') return Buffer.concat([Buffer.from([tree.tag, 0x83, 0, content.length >> 8, content.length & 0xff]), content]);
  if (encoding === 'longFormTag') return Buffer.concat([Buffer.from([(tree.tag & 0xe0) | 0x1f, tree.tag & 0x7f]), derTlv(0, content).subarray(1)]);
  if (typeof encoding === 'object') {
    // A length field that lies by `lengthDelta` in front of the real contents.
    const lied = Math.max(0, content.length + encoding.lengthDelta);
    const header = derTlv(tree.tag, Buffer.alloc(lied)).subarray(0, -lied || undefined);
    return Buffer.concat([header, content]);
  }
  return derTlv(tree.tag, content);
}

/** Every node with the path of child indexes that reaches it (the root is []). */
function nodesOf(tree: DerTree, path: number[] = []): { node: DerTree; path: number[] }[] {
  return [{ node: tree, path }, ...(tree.children ?? []).flatMap((child, i) => nodesOf(child, [...path, i]))];
}

/** Ops that leave elements missing (the classic crash) come three times as often. */
const DER_OPS = [
  ...(['delete', 'empty', 'keepFirst'] as const).flatMap((op) => [op, op, op]),
  ...(['duplicate', 'retag', 'truncateValue', 'randomValue', 'swap', 'insert', 'nonMinimalLength', 'lengthLie', 'longFormTag', 'indefinite'] as const),
];
const INTERESTING_TAGS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x13, 0x17, 0x18, 0x30, 0x31, 0x80, 0x81, 0xa0, 0xa3, 0xff];

const derMutationArb = fc.record({
  /** Depth first, then a node at that depth: top-level elements get mutated as often as deep ones. */
  depth: fc.nat(),
  target: fc.nat(),
  op: fc.constantFrom(...DER_OPS),
  tag: fc.constantFrom(...INTERESTING_TAGS),
  bytes: fc.uint8Array({ maxLength: 6 }),
  delta: fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
});
type DerMutation = typeof derMutationArb extends fc.Arbitrary<infer T> ? T : never;

function cloneTree(tree: DerTree): DerTree {
  return { ...tree, children: tree.children?.map(cloneTree) };
}

/** Applies one structural mutation to a copy of `tree` (the root is never deleted or swapped). */
function mutateTree(tree: DerTree, mutation: DerMutation): DerTree {
  const copy = cloneTree(tree);
  const all = nodesOf(copy);
  const depths = Math.max(...all.map((n) => n.path.length)) + 1;
  const nodes = all.filter((n) => n.path.length === mutation.depth % depths);
  const { node, path } = nodes[mutation.target % nodes.length];
  const parent = path.length > 0 ? path.slice(0, -1).reduce((n, i) => n.children![i], copy) : undefined;
  const index = path.at(-1) ?? 0;
  const siblings = parent?.children;
  switch (mutation.op) {
    case 'delete':
      if (siblings) siblings.splice(index, 1);
      else node.children = [];
      break;
    case 'duplicate':
      if (siblings) siblings.splice(index, 0, cloneTree(node));
      break;
    case 'empty':
      node.children = node.children ? [] : undefined;
      node.value = Buffer.alloc(0);
      break;
    case 'keepFirst':
      // A SEQUENCE cut at an element boundary.
      if (node.children) node.children = node.children.slice(0, Math.floor(mutation.target / 7) % (node.children.length + 1));
      break;
    case 'retag':
      node.tag = mutation.tag;
      break;
    case 'truncateValue': {
      const full = encodeTree({ ...node, encoding: undefined });
      const content = readTlv(full).value;
      node.children = undefined;
      node.value = Buffer.from(content.subarray(0, Math.floor(content.length / 2)));
      break;
    }
    case 'randomValue':
      node.children = undefined;
      node.value = Buffer.from(mutation.bytes);
      break;
    case 'swap':
      if (siblings && index + 1 < siblings.length) [siblings[index], siblings[index + 1]] = [siblings[index + 1], siblings[index]];
      break;
    case 'insert':
      (siblings ?? node.children ?? []).splice(index, 0, { tag: mutation.tag, value: Buffer.from(mutation.bytes) });
      break;
    case 'lengthLie':
      node.encoding = { lengthDelta: mutation.delta };
      break;
    case 'nonMinimalLength':
    case 'longFormTag':
    case 'indefinite':
      node.encoding = mutation.op;
      break;
  }
  return copy;
}

/**
 * A certificate or CRL mutated anywhere (its signature then fails, if parsing gets that far), or
 * mutated inside its TBS and re-signed by `issuerKey`, so the verifier meets the defect itself.
 */
function mutateSigned(der: Buffer, issuerKey: KeyObject, mutations: DerMutation[], resign: boolean): Buffer {
  const tree = decodeTree(der);
  if (!resign) return encodeTree(mutations.reduce(mutateTree, tree));
  const [tbs, algorithm] = tree.children ?? [];
  if (!tbs || !algorithm) throw new Error('fuzz: not a signed structure');
  const tbsBytes = encodeTree(mutations.reduce(mutateTree, tbs));
  const signature = sign('sha256', tbsBytes, { key: issuerKey, dsaEncoding: 'der' });
  return derTlv(0x30, Buffer.concat([tbsBytes, encodeTree(algorithm), derTlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
}

const byteTailArb = fc.record({
  kind: fc.constantFrom('none', 'none', 'none', 'truncate', 'append', 'flip'),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
});

function applyByteTail(bytes: Buffer, tail: { kind: string; at: number; bytes: Uint8Array }): Buffer {
  if (bytes.length === 0) return bytes;
  switch (tail.kind) {
    case 'truncate':
      return bytes.subarray(0, tail.at % bytes.length);
    case 'append':
      return Buffer.concat([bytes, tail.bytes]);
    case 'flip': {
      const copy = Buffer.from(bytes);
      copy[tail.at % copy.length] ^= tail.bytes[0] || 1;
      return copy;
    }
    default:
      return bytes;
  }
}

// ---------------------------------------------------------------------------------------------

let forge: Forge;
let verifier: QuoteVerifier;
let attestationKey: KeyObject;
let baseQuotes: { v4: Buffer; v5: Buffer; v5td15: Buffer };
let collateral: QuoteCollateral;
let pckCrlDer: Buffer;
let rootCaCrlDer: Buffer;
let started: number;

beforeAll(async () => {
  forge = await createForge({ now: NOW, pki: { seed: 'core-fuzz' } });
  verifier = new QuoteVerifier(forge.rootCaDer);
  attestationKey = generateP256Key();
  baseQuotes = {
    v4: forge.quote({ attestationKey }),
    v5: forge.quote({ attestationKey, version: 5, tdReport: '1.0' }),
    v5td15: forge.quote({ attestationKey, version: 5, tdReport: '1.5', trailingBytes: 8 }),
  };
  collateral = forge.collateral;
  // A PCK CRL with entries, so entry structure gets mutated too.
  pckCrlDer = await createPckCrl(forge.pki, {
    thisUpdate: new Date(NOW.getTime() - 86_400_000),
    nextUpdate: new Date(NOW.getTime() + 20 * 86_400_000),
    revokedSerials: ['0badc0de', '01'],
  });
  rootCaCrlDer = Buffer.from(collateral.root_ca_crl, 'hex');
  collateral = { ...collateral, pck_crl: pckCrlDer.toString('hex') };
  started = Date.now();
});

afterAll(() => {
  const seconds = (Date.now() - started) / 1000;
  const summary = [...outcomes].map(([target, counts]) => `  ${target}: ${[...counts].map(([o, n]) => `${o} ${n}`).join(', ')}`).join('\n');
  console.log(`core fuzz: ${totalCases} random cases and ${sweepCases} sweep cases in ${seconds.toFixed(1)} s (seed ${SEED})\n${summary}`);
});

const verify = (quote: Buffer, withCollateral: QuoteCollateral = collateral) => verifier.verify(quote, withCollateral, NOW);

it('the unmutated inputs verify (so the fuzz starts from accepted inputs)', () => {
  for (const quote of Object.values(baseQuotes)) expect(verify(quote).tcbStatus).toBe('UpToDate');
});

describe('only typed errors leave the core', () => {
  it('quotes: truncated, spliced, length and type fields rewritten', () => {
    const fieldArb = fc.record({
      base: fc.constantFrom<keyof typeof baseQuotes>('v4', 'v5', 'v5td15'),
      field: fc.constantFrom(
        'version',
        'attKeyType',
        'teeType',
        'bodyType',
        'bodySize',
        'sigDataLen',
        'certType',
        'certSize',
        'authLen',
        'innerType',
        'chainSize',
        'none',
      ),
      value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 0x81, 0xffff, 0xffffffff), fc.nat()),
      delta: fc.integer({ min: -70, max: 70 }),
      useDelta: fc.boolean(),
      splice: fc.record({
        kind: fc.constantFrom('none', 'delete', 'insert', 'overwrite', 'duplicate'),
        at: fc.nat(),
        length: fc.nat({ max: 80 }),
        bytes: fc.uint8Array({ maxLength: 16 }),
      }),
      tail: byteTailArb,
    });
    fc.assert(
      fc.property(fieldArb, (m) => {
        const quote = Buffer.from(baseQuotes[m.base]);
        const bodyEnd = m.base === 'v4' ? 48 + 584 : m.base === 'v5' ? 54 + 584 : 54 + 648;
        const fields: Record<string, [number, 2 | 4]> = {
          version: [0, 2],
          attKeyType: [2, 2],
          teeType: [4, 4],
          bodyType: [48, 2],
          bodySize: [50, 4],
          sigDataLen: [bodyEnd, 4],
          certType: [bodyEnd + 132, 2],
          certSize: [bodyEnd + 134, 4],
          authLen: [bodyEnd + 138 + 448, 2],
          innerType: [bodyEnd + 138 + 450 + 32, 2],
          chainSize: [bodyEnd + 138 + 452 + 32, 4],
        };
        const field = fields[m.field];
        if (field && !(m.base === 'v4' && (m.field === 'bodyType' || m.field === 'bodySize'))) {
          const [offset, size] = field;
          const old = size === 2 ? quote.readUInt16LE(offset) : quote.readUInt32LE(offset);
          const max = size === 2 ? 0xffff : 0xffffffff;
          const next = m.useDelta ? Math.min(max, Math.max(0, old + m.delta)) : m.value % (max + 1);
          if (size === 2) quote.writeUInt16LE(next, offset);
          else quote.writeUInt32LE(next, offset);
        }
        let bytes: Buffer = quote;
        const at = m.splice.at % bytes.length;
        if (m.splice.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.splice.length)]);
        if (m.splice.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), m.splice.bytes, bytes.subarray(at)]);
        if (m.splice.kind === 'overwrite') bytes = Buffer.concat([bytes.subarray(0, at), m.splice.bytes, bytes.subarray(at + m.splice.bytes.length)]);
        if (m.splice.kind === 'duplicate') bytes = Buffer.concat([bytes.subarray(0, at + m.splice.length), bytes.subarray(at)]);
        bytes = applyByteTail(bytes, m.tail);
        domainOutcome(() => parseTdxQuote(bytes));
        record(
          'quote bytes',
          domainOutcome(() => verify(bytes)),
        );
      }),
      { seed: SEED, numRuns: RUNS.quoteBytes },
    );
  });

  it('PCK chains: leaf or CA mutated structurally (re-signed or not), PEM text broken', () => {
    const arb = fc.record({
      which: fc.constantFrom('pckLeaf', 'pckLeaf', 'pckCa', 'root'),
      mutations: fc.array(derMutationArb, { minLength: 1, maxLength: 3 }),
      resign: fc.boolean(),
      tail: byteTailArb,
      pem: fc.constantFrom('none', 'none', 'none', 'none', 'noEnd', 'badBase64', 'dropLeaf', 'swap', 'empty', 'duplicateLeaf'),
    });
    fc.assert(
      fc.property(arb, (m) => {
        const pki = forge.pki;
        const ders = { pckLeaf: pki.pckLeaf.der, pckCa: pki.pckCa.der, root: pki.root.der };
        const issuerKey = { pckLeaf: pki.pckCa.key, pckCa: pki.root.key, root: pki.root.key }[m.which];
        const mutated = applyByteTail(mutateSigned(ders[m.which], issuerKey, m.mutations, m.resign), m.tail);
        record(
          `parseCertificate (${m.which})`,
          x509Outcome(() => parseCertificate(mutated)),
          false,
        );
        const chain = [ders.pckLeaf, ders.pckCa, ders.root].map((der, i) => (i === ['pckLeaf', 'pckCa', 'root'].indexOf(m.which) ? mutated : der));
        let pem = chain.map(certificatePem);
        if (m.pem === 'noEnd') pem[0] = pem[0].replace('-----END CERTIFICATE-----', '');
        if (m.pem === 'badBase64') pem[0] = pem[0].replace(/\n(.)/, '\n!');
        if (m.pem === 'dropLeaf') pem = pem.slice(1);
        if (m.pem === 'swap') pem = [pem[1], pem[0], pem[2]];
        if (m.pem === 'empty') pem = [];
        if (m.pem === 'duplicateLeaf') pem = [pem[0], ...pem];
        const quote = forge.quote({ attestationKey, pckCertChainPem: pem.join('') });
        record(
          `pck chain (${m.which})`,
          domainOutcome(() => verify(quote)),
        );
      }),
      { seed: SEED + 1, numRuns: RUNS.pckChain },
    );
  });

  it('collateral issuer chains: the TCB signing or PCK CA certificate mutated structurally', () => {
    const arb = fc.record({
      chain: fc.constantFrom('tcb_info_issuer_chain', 'qe_identity_issuer_chain', 'pck_crl_issuer_chain'),
      mutations: fc.array(derMutationArb, { minLength: 1, maxLength: 2 }),
      resign: fc.boolean(),
      tail: byteTailArb,
    });
    fc.assert(
      fc.property(arb, (m) => {
        const pki = forge.pki;
        const signer = m.chain === 'pck_crl_issuer_chain' ? pki.pckCa : pki.tcbSigning;
        const mutated = applyByteTail(mutateSigned(signer.der, pki.root.key, m.mutations, m.resign), m.tail);
        const pem = certificatePem(mutated) + certificatePem(pki.root.der);
        record(
          `collateral chain (${m.chain})`,
          domainOutcome(() => verify(baseQuotes.v4, { ...collateral, [m.chain]: pem })),
        );
      }),
      { seed: SEED + 2, numRuns: RUNS.collateralChain },
    );
  });

  it('CRLs: root CA and PCK CRLs mutated structurally (re-signed or not)', () => {
    const arb = fc.record({
      which: fc.constantFrom('pck_crl', 'root_ca_crl'),
      mutations: fc.array(derMutationArb, { minLength: 1, maxLength: 3 }),
      resign: fc.boolean(),
      tail: byteTailArb,
    });
    fc.assert(
      fc.property(arb, (m) => {
        const [der, key] = m.which === 'pck_crl' ? [pckCrlDer, forge.pki.pckCa.key] : [rootCaCrlDer, forge.pki.root.key];
        const mutated = applyByteTail(mutateSigned(der, key, m.mutations, m.resign), m.tail);
        record(
          `parseCrl (${m.which})`,
          x509Outcome(() => parseCrl(mutated)),
          false,
        );
        record(
          `crl (${m.which})`,
          domainOutcome(() => verify(baseQuotes.v4, { ...collateral, [m.which]: mutated.toString('hex') })),
        );
      }),
      { seed: SEED + 3, numRuns: RUNS.crl },
    );
  });

  it('collateral JSON: fields dropped, retyped, emptied, duplicated, text truncated; re-signed', () => {
    // Well-typed edits (svn, status) let inputs through the parser into TCB and QE matching.
    const JSON_OPS = [
      'delete',
      'null',
      'number',
      'bigNumber',
      'negative',
      'fraction',
      'string',
      'hexString',
      'bool',
      'emptyArray',
      'emptyObject',
      'wrapArray',
      'stringify',
      'pop',
      'duplicate',
      'svn',
      'svn',
      'status',
      'status',
    ] as const;
    const STATUSES = [
      'UpToDate',
      'SWHardeningNeeded',
      'ConfigurationNeeded',
      'ConfigurationAndSWHardeningNeeded',
      'OutOfDate',
      'OutOfDateConfigurationNeeded',
      'Revoked',
      'TDRelaunchAdvised',
    ];
    const arb = fc.record({
      document: fc.constantFrom('tcb_info', 'qe_identity'),
      edits: fc.array(fc.record({ target: fc.nat(), op: fc.constantFrom(...JSON_OPS), text: fc.string({ maxLength: 12 }) }), { minLength: 1, maxLength: 3 }),
      truncateAt: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.nat(), weight: 1 }),
      resign: fc.constantFrom(true, true, true, false),
    });
    fc.assert(
      fc.property(arb, (m) => {
        const json: unknown = JSON.parse(collateral[m.document]);
        for (const edit of m.edits) applyJsonEdit(json, edit);
        let text = JSON.stringify(json);
        if (m.truncateAt !== null) text = text.slice(0, m.truncateAt % (text.length + 1));
        const parse = m.document === 'tcb_info' ? parseTcbInfoJson : parseQeIdentityJson;
        const parsed = domainOutcome(() => parse(text));
        expect(['ok', ErrorCode.COLLATERAL_INVALID]).toContain(parsed);
        const signature = m.resign ? signP256Raw(forge.pki.tcbSigning.key, Buffer.from(text, 'utf8')).toString('hex') : collateral[`${m.document}_signature`];
        record(
          `json (${m.document})`,
          domainOutcome(() => verify(baseQuotes.v5td15, { ...collateral, [m.document]: text, [`${m.document}_signature`]: signature })),
        );
      }),
      { seed: SEED + 4, numRuns: RUNS.json },
    );

    function applyJsonEdit(root: unknown, edit: { target: number; op: (typeof JSON_OPS)[number]; text: string }): void {
      const paths = jsonPaths(root).filter((p) => p.length > 0);
      const path = paths[edit.target % paths.length];
      if (!path) return;
      const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Record<
        string | number,
        unknown
      >;
      const key = path[path.length - 1];
      const value = parent[key];
      const replacements: Record<string, () => unknown> = {
        null: () => null,
        number: () => edit.text.length,
        bigNumber: () => 2 ** 40,
        negative: () => -1,
        fraction: () => 0.5,
        string: () => edit.text,
        hexString: () => 'ab'.repeat(edit.text.length),
        bool: () => true,
        emptyArray: () => [],
        emptyObject: () => ({}),
        wrapArray: () => [value],
        stringify: () => JSON.stringify(value),
        svn: () => (typeof value === 'number' ? edit.text.length * 3 : value),
        status: () => (typeof value === 'string' ? STATUSES[edit.text.length % STATUSES.length] : value),
      };
      if (edit.op === 'delete') {
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
      } else if (edit.op === 'pop' || edit.op === 'duplicate') {
        if (Array.isArray(value)) {
          if (edit.op === 'pop') value.pop();
          else value.push(JSON.parse(JSON.stringify(value[0] ?? null)));
        }
      } else {
        parent[key] = replacements[edit.op]();
      }
    }

    function jsonPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
      if (Array.isArray(value)) return [prefix, ...value.flatMap((item, i) => jsonPaths(item, [...prefix, i]))];
      if (typeof value === 'object' && value !== null) return [prefix, ...Object.entries(value).flatMap(([k, v]) => jsonPaths(v, [...prefix, k]))];
      return [prefix];
    }
  });

  it('collateral fields of the wrong type, signatures not hex or short', () => {
    const fields = Object.keys(collateral) as (keyof QuoteCollateral)[];
    const arb = fc.record({
      field: fc.constantFrom(...fields),
      value: fc.oneof(
        fc.constantFrom<unknown>(undefined, null, 0, true, [], {}, '', '00', 'zz', '-----BEGIN CERTIFICATE-----'),
        fc.string({ maxLength: 20 }),
        fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b).toString('hex')),
      ),
    });
    fc.assert(
      fc.property(arb, (m) => {
        record(
          'collateral fields',
          domainOutcome(() => verify(baseQuotes.v4, { ...collateral, [m.field]: m.value })),
        );
      }),
      { seed: SEED + 5, numRuns: RUNS.collateralFields },
    );
    expect(domainOutcome(() => verify(baseQuotes.v4, null as unknown as QuoteCollateral))).toBe(ErrorCode.COLLATERAL_INVALID);
  });

  it('element-boundary sweep: every constructed element of every certificate and CRL cut after each child, and each child deleted', () => {
    // Deterministic, so the classic hole (an element read past the end of its SEQUENCE) is never
    // left to the random search: parse every variant, and verify the re-signed TBS-level ones.
    const pki = forge.pki;
    const structures: [string, Buffer, KeyObject, 'certificate' | 'crl'][] = [
      ['pckLeaf', pki.pckLeaf.der, pki.pckCa.key, 'certificate'],
      ['pckCa', pki.pckCa.der, pki.root.key, 'certificate'],
      ['root', pki.root.der, pki.root.key, 'certificate'],
      ['tcbSigning', pki.tcbSigning.der, pki.root.key, 'certificate'],
      ['pck_crl', pckCrlDer, pki.pckCa.key, 'crl'],
      ['root_ca_crl', rootCaCrlDer, pki.root.key, 'crl'],
    ];
    for (const [name, der, issuerKey, kind] of structures) {
      const tree = decodeTree(der);
      const parse = kind === 'crl' ? parseCrl : parseCertificate;
      for (const { node, path } of nodesOf(tree)) {
        const count = node.children?.length ?? 0;
        for (let k = 0; k < 2 * count; k++) {
          const edit = (children: DerTree[]) => (k < count ? children.slice(0, k) : children.filter((_, i) => i !== k - count));
          const variant = cloneTree(tree);
          const target = path.reduce((n, i) => n.children![i], variant);
          target.children = edit(target.children!);
          sweepCases++;
          record(
            `sweep parse (${name})`,
            x509Outcome(() => parse(encodeTree(variant))),
            false,
          );
          // Re-signed cuts of the TBS and of its direct children go through the verifier too.
          if (path[0] !== 0 || path.length > 2) continue;
          const [tbs, algorithm] = variant.children!;
          const tbsBytes = encodeTree(tbs);
          const signature = sign('sha256', tbsBytes, { key: issuerKey, dsaEncoding: 'der' });
          const resigned = derTlv(0x30, Buffer.concat([tbsBytes, encodeTree(algorithm), derTlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
          let outcome: string;
          if (kind === 'crl') {
            outcome = domainOutcome(() => verify(baseQuotes.v4, { ...collateral, [name]: resigned.toString('hex') }));
          } else if (name === 'tcbSigning') {
            outcome = domainOutcome(() => verify(baseQuotes.v4, { ...collateral, tcb_info_issuer_chain: certificatePem(resigned) + pki.root.pem }));
          } else {
            const chain = {
              pckLeaf: [resigned, pki.pckCa.der, pki.root.der],
              pckCa: [pki.pckLeaf.der, resigned, pki.root.der],
              root: [pki.pckLeaf.der, pki.pckCa.der, resigned],
            }[name as 'pckLeaf' | 'pckCa' | 'root'];
            outcome = domainOutcome(() => verify(forge.quote({ attestationKey, pckCertChainPem: chain.map(certificatePem).join('') })));
          }
          record(`sweep verify (${name})`, outcome, false);
        }
      }
    }
  });

  it('reached every stage: the fuzz produced accepted inputs and refusals from deep in the verifier', () => {
    const seen = (target: string) => new Set(outcomes.get(target)?.keys() ?? []);
    expect([...seen('quote bytes')]).toEqual(
      expect.arrayContaining(['ok', ErrorCode.QUOTE_MALFORMED, ErrorCode.QUOTE_UNSUPPORTED, ErrorCode.QUOTE_SIGNATURE_INVALID]),
    );
    expect([...seen('pck chain (pckLeaf)')]).toEqual(expect.arrayContaining([ErrorCode.PCK_CHAIN_INVALID, ErrorCode.QUOTE_MALFORMED]));
    expect([...seen('crl (pck_crl)')]).toEqual(expect.arrayContaining(['ok', ErrorCode.COLLATERAL_INVALID]));
    expect([...seen('json (tcb_info)')]).toEqual(expect.arrayContaining(['ok', ErrorCode.COLLATERAL_INVALID]));
    expect(totalCases).toBeGreaterThanOrEqual(Object.values(RUNS).reduce((a, b) => a + b, 0));
  });
});
