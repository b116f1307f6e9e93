/**
 * The JSON view of a parsed quote served by POST /attestation/quote/parse: no verification, all
 * hex lowercase, snake_case keys. FMSPC comes from the PCK leaf certificate's SGX extension (null
 * when that certificate cannot be read — the parse endpoint describes, it does not judge).
 */
import { fmspcOfPckLeaf } from '../dcap/pck-extension';
import { byteAt, toHex } from './encoding';
import { INTEL_QE_VENDOR_ID_HEX, TD_ATTRIBUTES_DEBUG_BIT } from './quote-constants';
import type { TdxQuote } from './quote.types';

export interface QuoteParseView {
  header: {
    version: number;
    attestation_key_type: number;
    tee_type: string; // "0x00000081"
    qe_svn: number;
    pce_svn: number;
    qe_vendor_id: string;
    qe_vendor_is_intel: boolean;
    user_data: string;
  };
  body_type: number;
  td_report_version: string;
  tee_tcb_svn: string;
  mrseam: string;
  mrsignerseam: string;
  seam_attributes: string;
  td_attributes: string;
  debug: boolean;
  xfam: string;
  mrtd: string;
  mrconfigid: string;
  mrowner: string;
  mrownerconfig: string;
  rtmr0: string;
  rtmr1: string;
  rtmr2: string;
  rtmr3: string;
  report_data: string;
  tee_tcb_svn2: string | null;
  mrservicetd: string | null;
  fmspc: string | null;
  pck_cert_count: number;
  quote_size: number;
  trailing_bytes: number;
}

export function buildQuoteParseView(quote: TdxQuote): QuoteParseView {
  const { header, body } = quote;
  const pckChain = quote.signature.qeCertification.pckCertChain;
  const fmspc = fmspcOfPckLeaf(pckChain.certificatesDer[0]);
  const qeVendorId = toHex(header.qeVendorId);
  return {
    header: {
      version: header.version,
      attestation_key_type: header.attestationKeyType,
      tee_type: `0x${header.teeType.toString(16).padStart(8, '0')}`,
      qe_svn: header.qeSvn,
      pce_svn: header.pceSvn,
      qe_vendor_id: qeVendorId,
      qe_vendor_is_intel: qeVendorId === INTEL_QE_VENDOR_ID_HEX,
      user_data: toHex(header.userData),
    },
    body_type: quote.bodyType,
    td_report_version: quote.tdReportVersion,
    tee_tcb_svn: toHex(body.teeTcbSvn),
    mrseam: toHex(body.mrSeam),
    mrsignerseam: toHex(body.mrSignerSeam),
    seam_attributes: toHex(body.seamAttributes),
    td_attributes: toHex(body.tdAttributes),
    debug: (byteAt(body.tdAttributes, 0) & TD_ATTRIBUTES_DEBUG_BIT) !== 0,
    xfam: toHex(body.xfam),
    mrtd: toHex(body.mrTd),
    mrconfigid: toHex(body.mrConfigId),
    mrowner: toHex(body.mrOwner),
    mrownerconfig: toHex(body.mrOwnerConfig),
    rtmr0: toHex(body.rtmr0),
    rtmr1: toHex(body.rtmr1),
    rtmr2: toHex(body.rtmr2),
    rtmr3: toHex(body.rtmr3),
    report_data: toHex(body.reportData),
    tee_tcb_svn2: body.teeTcbSvn2 ? toHex(body.teeTcbSvn2) : null,
    mrservicetd: body.mrServiceTd ? toHex(body.mrServiceTd) : null,
    fmspc: fmspc ? toHex(fmspc) : null,
    pck_cert_count: pckChain.certificatesDer.length,
    quote_size: quote.size,
    trailing_bytes: quote.trailingBytes,
  };
}
