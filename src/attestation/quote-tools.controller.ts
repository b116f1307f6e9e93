import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ErrorCode } from '../common/errors';
import { AnonymousRateLimited } from '../common/rate-limit/anon-rate-limit.guard';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { decodeQuoteBase64, QuoteRequest } from './dto/quote.request';
import { QuoteParseResponse, QuoteVerifyResponse } from './dto/quote-tools.response';
import { QuoteToolsService } from './quote-tools.service';

@Controller('attestation/quote')
export class QuoteToolsController {
  constructor(private readonly tools: QuoteToolsService) {}

  @Post('parse')
  @AnonymousRateLimited()
  @HttpCode(200)
  @ApiDoc({
    summary: "A TDX quote's fields as JSON (header, MRTD, RTMR0..3, REPORTDATA, TD attributes, TEE TCB SVN, FMSPC); no verification",
    tag: 'attestation',
    auth: 'none',
    body: QuoteRequest,
    response: QuoteParseResponse,
    errors: [ErrorCode.QUOTE_MALFORMED, ErrorCode.QUOTE_UNSUPPORTED, ErrorCode.RATE_LIMITED],
  })
  parse(@Body() body: QuoteRequest): QuoteParseResponse {
    return this.tools.parse(decodeQuoteBase64(body.quote));
  }

  @Post('verify')
  @AnonymousRateLimited()
  @HttpCode(200)
  @ApiDoc({
    summary: 'DCAP status, advisories, debug flag, and which measurement set the quote matches (or, per register, what differs)',
    tag: 'attestation',
    auth: 'none',
    body: QuoteRequest,
    response: QuoteVerifyResponse,
    errors: [ErrorCode.QUOTE_MALFORMED, ErrorCode.QUOTE_UNSUPPORTED, ErrorCode.COLLATERAL_UNAVAILABLE, ErrorCode.RATE_LIMITED],
  })
  verify(@Body() body: QuoteRequest): Promise<QuoteVerifyResponse> {
    return this.tools.verify(decodeQuoteBase64(body.quote));
  }
}
