import { Controller, Get, HttpCode, Logger, Post } from '@nestjs/common';
import { ADMIN_AUTH_ERRORS, AdminAuth, CallerHotkey } from '../../auth';
import { KeyCustodyService } from '../../keys/key-custody.service';
import { ApiDoc } from '../../openapi/api-doc.decorator';
import { KeyRotationResponse, KeyStatusResponse, toKeyRotationResponse, toKeyStatusResponse } from '../dto/key-rotation.response';

@Controller('admin/keys')
@AdminAuth()
export class AdminKeysController {
  private readonly logger = new Logger('admin');

  constructor(private readonly custody: KeyCustodyService) {}

  @Post('rotate')
  @HttpCode(200)
  @ApiDoc({
    summary:
      'Re-wrap every data key (volume and root passphrases) under the active KEK (BROKER_ACTIVE_KEK) by compare-and-swap on the stored bytes; rows that cannot be opened are skipped and counted; safe to repeat. The old KEK can leave BROKER_KEKS once `remaining` is 0',
    tag: 'admin',
    auth: 'admin',
    response: KeyRotationResponse,
    errors: [...ADMIN_AUTH_ERRORS],
  })
  async rotate(@CallerHotkey() admin: string): Promise<KeyRotationResponse> {
    const result = await this.custody.rotate();
    this.logger.log({ msg: 'KEK rotation run', admin, ...result });
    return toKeyRotationResponse(result);
  }

  @Get('status')
  @ApiDoc({
    summary: 'Stored secrets per KEK id (and per table), and the KEK ids stored rows use that this broker lacks',
    tag: 'admin',
    auth: 'admin',
    response: KeyStatusResponse,
    errors: [...ADMIN_AUTH_ERRORS],
  })
  async status(): Promise<KeyStatusResponse> {
    return toKeyStatusResponse(await this.custody.status());
  }
}
