import { Controller, HttpCode, Logger, Post } from '@nestjs/common';
import { ADMIN_AUTH_ERRORS, AdminAuth, CallerHotkey } from '../../auth';
import { ErrorCode } from '../../common/errors';
import { KeyCustodyService } from '../../keys/key-custody.service';
import { ApiDoc } from '../../openapi/api-doc.decorator';
import { KeyRotationResponse, toKeyRotationResponse } from '../dto/key-rotation.response';

@Controller('admin/keys')
@AdminAuth()
export class AdminKeysController {
  private readonly logger = new Logger('admin');

  constructor(private readonly custody: KeyCustodyService) {}

  @Post('rotate')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Re-wrap every data key (volume and root passphrases) under the active KEK (BROKER_ACTIVE_KEK); safe to repeat. Afterwards the old KEK can leave BROKER_KEKS',
    tag: 'admin',
    auth: 'admin',
    response: KeyRotationResponse,
    errors: [...ADMIN_AUTH_ERRORS, ErrorCode.KEY_UNAVAILABLE],
  })
  async rotate(@CallerHotkey() admin: string): Promise<KeyRotationResponse> {
    const result = await this.custody.rotate();
    this.logger.log({ msg: 'KEK rotation run', admin, kekId: result.kekId, rewrapped: result.rewrapped });
    return toKeyRotationResponse(result);
  }
}
