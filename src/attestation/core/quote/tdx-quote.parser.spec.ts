import { DomainError, ErrorCode } from '../../../common/errors';
import { FIXTURE_EXPECTED, loadFixtureQuote } from '../../../../test/vectors/dcap-fixture';
import { BinaryReader } from './binary-reader';
import { toHex } from './encoding';
import { buildQuoteParseView } from './quote-parse-view';
import { parseTdxQuote } from './tdx-quote.parser';

const fixture = loadFixtureQuote();

function expectDomainError(run: () => unknown, code: ErrorCode, messagePart?: string): DomainError {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DomainError);
  const error = thrown as DomainError;
  expect(error.code).toBe(code);
  if (messagePart) expect(error.message).toContain(messagePart);
  return error;
}

/** Little-endian patch helpers for building variants of the fixture. */
function withU16(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[offset] = value & 0xff;
  copy[offset + 1] = value >> 8;
  return copy;
}

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  Buffer.from(copy.buffer).writeUInt32LE(value >>> 0, offset);
  return copy;
}

/** A v5 quote from the v4 fixture: version 5, body descriptor, body (+ 1.5 fields), same signature data. */
function synthesiseV5(bodyType: 2 | 3, extra: Uint8Array = new Uint8Array(64)): Uint8Array {
  const header = withU16(fixture.subarray(0, 48), 0, 5);
  const body = fixture.subarray(48, 632);
  const descriptor = Buffer.alloc(6);
  descriptor.writeUInt16LE(bodyType, 0);
  descriptor.writeUInt32LE(bodyType === 2 ? 584 : 648, 2);
  const parts = [header, descriptor, body, ...(bodyType === 3 ? [extra] : []), fixture.subarray(632)];
  return new Uint8Array(Buffer.concat(parts));
}

describe('BinaryReader', () => {
  it('reads little-endian integers and names the short field with offset, need and remaining', () => {
    const reader = new BinaryReader(new Uint8Array([1, 0, 0x78, 0x56, 0x34, 0xf2, 9]), 100);
    expect(reader.u16('a')).toBe(1);
    expect(reader.u32('b')).toBe(0xf2345678);
    expect(reader.position).toBe(106);
    expectDomainError(() => reader.bytesOf('c', 4), ErrorCode.QUOTE_MALFORMED, 'quote too short: c at offset 106 needs 4 bytes, 1 left');
  });
});

describe('parseTdxQuote on the real Intel v4 sample', () => {
  const quote = parseTdxQuote(fixture);

  it('reads the header', () => {
    expect(quote.header.version).toBe(4);
    expect(quote.header.attestationKeyType).toBe(2);
    expect(quote.header.teeType).toBe(0x81);
    expect(toHex(quote.header.qeVendorId)).toBe('939a7233f79c4ca9940a0db3957f0607');
  });

  it.each([
    ['mrTd', FIXTURE_EXPECTED.mrtd],
    ['rtmr0', FIXTURE_EXPECTED.rtmr0],
    ['rtmr1', FIXTURE_EXPECTED.rtmr1],
    ['rtmr2', FIXTURE_EXPECTED.rtmr2],
    ['rtmr3', FIXTURE_EXPECTED.rtmr3],
    ['reportData', FIXTURE_EXPECTED.reportData],
    ['tdAttributes', FIXTURE_EXPECTED.tdAttributes],
    ['teeTcbSvn', FIXTURE_EXPECTED.teeTcbSvn],
    ['mrSeam', FIXTURE_EXPECTED.mrSeam],
  ] as const)('body field %s matches the README table', (field, expected) => {
    expect(toHex(quote.body[field])).toBe(expected);
  });

  it('keeps the signed slice, the QE report, the PCK chain and the trailing padding', () => {
    expect(quote.signedBytes.length).toBe(632);
    expect(quote.tdReportVersion).toBe('1.0');
    expect(quote.signature.qeCertification.qeReportBytes.length).toBe(384);
    expect(quote.signature.qeCertification.qeAuthData.length).toBe(32);
    expect(quote.signature.qeCertification.pckCertChain.certificatesDer).toHaveLength(3);
    expect(quote.signature.qeCertification.qeReport.isvProdId).toBe(2);
    expect(quote.trailingBytes).toBe(70);
    expect(quote.size).toBe(5006);
  });

  it('builds the parse view with lowercase hex, FMSPC and trailing_bytes', () => {
    const view = buildQuoteParseView(quote);
    expect(view).toMatchObject({
      header: { version: 4, tee_type: '0x00000081', qe_vendor_is_intel: true },
      mrtd: FIXTURE_EXPECTED.mrtd,
      rtmr0: FIXTURE_EXPECTED.rtmr0,
      report_data: FIXTURE_EXPECTED.reportData,
      td_attributes: FIXTURE_EXPECTED.tdAttributes,
      tee_tcb_svn: FIXTURE_EXPECTED.teeTcbSvn,
      fmspc: FIXTURE_EXPECTED.fmspc,
      debug: false,
      trailing_bytes: 70,
      tee_tcb_svn2: null,
    });
    expect(JSON.stringify(view)).not.toMatch(/"[0-9a-f]*[A-F][0-9a-fA-F]*"/);
  });
});

describe('parseTdxQuote truncations name the field that ran short', () => {
  // [field, offset, length] of the v4 fixture, independent of the parser's own bookkeeping.
  const layout: [string, number, number][] = [];
  let at = 0;
  const add = (field: string, length: number) => {
    layout.push([field, at, length]);
    at += length;
  };
  add('header.version', 2);
  add('header.att_key_type', 2);
  add('header.tee_type', 4);
  add('header.qe_svn', 2);
  add('header.pce_svn', 2);
  add('header.qe_vendor_id', 16);
  add('header.user_data', 20);
  add('td_report.tee_tcb_svn', 16);
  for (const field of ['mrseam', 'mrsignerseam']) add(`td_report.${field}`, 48);
  for (const field of ['seam_attributes', 'td_attributes', 'xfam']) add(`td_report.${field}`, 8);
  for (const field of ['mrtd', 'mrconfigid', 'mrowner', 'mrownerconfig', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3']) add(`td_report.${field}`, 48);
  add('td_report.report_data', 64);
  add('signature_data_len', 4);
  add('signature_data.ecdsa_signature', 64);
  add('signature_data.attestation_key', 64);
  add('signature_data.cert_data_type', 2);
  add('signature_data.cert_data_size', 4);
  add('qe_cert_data.qe_report', 384);
  add('qe_cert_data.qe_report_signature', 64);
  add('qe_cert_data.qe_auth_data_len', 2);
  add('qe_cert_data.qe_auth_data', 32);
  add('qe_cert_data.cert_data_type', 2);
  add('qe_cert_data.cert_data_size', 4);
  add('qe_cert_data.pck_cert_chain', 3678);

  it('the layout table covers the whole declared quote', () => {
    expect(at).toBe(5006 - 70);
  });

  it.each(layout)('%s (offset %i, %i bytes)', (field, offset, length) => {
    for (const cut of new Set([offset, offset + length - 1])) {
      expectDomainError(
        () => parseTdxQuote(fixture.subarray(0, cut)),
        ErrorCode.QUOTE_MALFORMED,
        `quote too short: ${field} at offset ${offset} needs ${length} bytes, ${cut - offset} left`,
      );
    }
  });
});

describe('parseTdxQuote v5', () => {
  it('parses body type 2 (TD report 1.0) with the descriptor inside the signed bytes', () => {
    const quote = parseTdxQuote(synthesiseV5(2));
    expect(quote.header.version).toBe(5);
    expect(quote.bodyType).toBe(2);
    expect(quote.tdReportVersion).toBe('1.0');
    expect(quote.signedBytes.length).toBe(48 + 6 + 584);
    expect(toHex(quote.body.mrTd)).toBe(FIXTURE_EXPECTED.mrtd);
    expect(quote.body.teeTcbSvn2).toBeUndefined();
    expect(quote.trailingBytes).toBe(70);
  });

  it('parses body type 3 (TD report 1.5) with TEE_TCB_SVN2 and MRSERVICETD', () => {
    const extra = new Uint8Array(64).map((_, i) => i + 1);
    const quote = parseTdxQuote(synthesiseV5(3, extra));
    expect(quote.tdReportVersion).toBe('1.5');
    expect(quote.signedBytes.length).toBe(48 + 6 + 648);
    expect(toHex(quote.body.teeTcbSvn2!)).toBe(toHex(extra.subarray(0, 16)));
    expect(toHex(quote.body.mrServiceTd!)).toBe(toHex(extra.subarray(16)));
    expect(toHex(quote.body.rtmr2)).toBe(FIXTURE_EXPECTED.rtmr2);
    expect(buildQuoteParseView(quote).mrservicetd).toBe(toHex(extra.subarray(16)));
  });

  it.each([
    ['body type 1 (SGX)', (q: Uint8Array) => withU16(q, 48, 1), ErrorCode.QUOTE_UNSUPPORTED, 'body type 1'],
    ['body type 9', (q: Uint8Array) => withU16(q, 48, 9), ErrorCode.QUOTE_UNSUPPORTED, 'body type 9'],
    ['body size mismatch', (q: Uint8Array) => withU32(q, 50, 648), ErrorCode.QUOTE_MALFORMED, 'body.size'],
  ])('rejects %s', (_name, mutate, code, message) => {
    expectDomainError(() => parseTdxQuote(mutate(synthesiseV5(2))), code, message);
  });

  it('names v5 descriptor fields when truncated', () => {
    const v5 = synthesiseV5(3);
    expectDomainError(() => parseTdxQuote(v5.subarray(0, 49)), ErrorCode.QUOTE_MALFORMED, 'body.type at offset 48');
    expectDomainError(() => parseTdxQuote(v5.subarray(0, 52)), ErrorCode.QUOTE_MALFORMED, 'body.size at offset 50');
    expectDomainError(() => parseTdxQuote(v5.subarray(0, 54 + 584 + 3)), ErrorCode.QUOTE_MALFORMED, 'td_report.tee_tcb_svn2 at offset 638');
  });
});

describe('parseTdxQuote rejects what it does not support', () => {
  // Offsets inside the v4 fixture: see the layout table above.
  const CERT_DATA_TYPE = 764;
  const QE_CERT_DATA_TYPE = 1252;
  it.each([
    ['version 3', withU16(fixture, 0, 3), ErrorCode.QUOTE_UNSUPPORTED, 'quote version 3'],
    ['version 6', withU16(fixture, 0, 6), ErrorCode.QUOTE_UNSUPPORTED, 'quote version 6'],
    ['attestation key type 3 (P-384)', withU16(fixture, 2, 3), ErrorCode.QUOTE_UNSUPPORTED, 'attestation key type 3'],
    ['SGX TEE type', withU32(fixture, 4, 0), ErrorCode.QUOTE_UNSUPPORTED, 'TEE type 0x00000000'],
    ['unknown TEE type', withU32(fixture, 4, 0x82), ErrorCode.QUOTE_UNSUPPORTED, 'TEE type 0x00000082'],
    ['certification data type 5 at top level', withU16(fixture, CERT_DATA_TYPE, 5), ErrorCode.QUOTE_UNSUPPORTED, 'certification data type 5'],
    ['certification data type 1', withU16(fixture, CERT_DATA_TYPE, 1), ErrorCode.QUOTE_UNSUPPORTED, 'certification data type 1'],
    ['QE certification data type 4', withU16(fixture, QE_CERT_DATA_TYPE, 4), ErrorCode.QUOTE_UNSUPPORTED, 'QE certification data type 4'],
    ['QE certification data type 3 (encrypted PPID)', withU16(fixture, QE_CERT_DATA_TYPE, 3), ErrorCode.QUOTE_UNSUPPORTED, 'type 3'],
  ])('%s', (_name, bytes, code, message) => {
    expectDomainError(() => parseTdxQuote(bytes), code, message);
  });

  it.each([
    ['signature data longer than its contents', withU32(fixture, 632, 4300 + 10), 'signature_data has 10 unparsed bytes'],
    ['signature data longer than the quote', withU32(fixture, 632, 4300 + 71), 'signature_data declares 4371 bytes, 4370 present'],
    ['QE certification data shorter than its contents', withU32(fixture, 766, 4166 - 1), 'qe_cert_data.pck_cert_chain'],
    ['QE auth data length past the end', withU16(fixture, 1218, 0xffff), 'qe_cert_data.qe_auth_data at offset 1220'],
  ])('malformed: %s', (_name, bytes, message) => {
    expectDomainError(() => parseTdxQuote(bytes), ErrorCode.QUOTE_MALFORMED, message);
  });

  it('rejects quotes over 16 KiB and an empty quote', () => {
    const big = new Uint8Array(16 * 1024 + 1);
    big.set(fixture);
    expectDomainError(() => parseTdxQuote(big), ErrorCode.QUOTE_MALFORMED, 'at most 16384');
    expectDomainError(() => parseTdxQuote(new Uint8Array(0)), ErrorCode.QUOTE_MALFORMED, 'header.version at offset 0');
  });

  it('counts any trailing bytes after the signature data, up to the size limit', () => {
    const padded = new Uint8Array(16 * 1024);
    padded.set(fixture);
    expect(parseTdxQuote(padded).trailingBytes).toBe(16 * 1024 - 4936);
    expect(parseTdxQuote(fixture.subarray(0, 4936)).trailingBytes).toBe(0);
  });

  it('rejects a PCK chain PEM with bad base64 as malformed', () => {
    const text = Buffer.from(fixture).toString('latin1');
    const at = text.indexOf('-----BEGIN CERTIFICATE-----') + 40;
    const broken = new Uint8Array(fixture);
    broken[at] = '*'.charCodeAt(0);
    expectDomainError(() => parseTdxQuote(broken), ErrorCode.QUOTE_MALFORMED, 'pck cert chain: certificate 1 is not valid base64');
  });

  it('never puts quote bytes into an error message', () => {
    const error = expectDomainError(() => parseTdxQuote(withU32(fixture, 4, 0)), ErrorCode.QUOTE_UNSUPPORTED);
    expect(error.message.length).toBeLessThan(200);
  });
});
