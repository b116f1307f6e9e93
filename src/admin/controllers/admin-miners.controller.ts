import { Body, Controller, Delete, Get, Param, Put } from '@nestjs/common';
import { ADMIN_AUTH_ERRORS, AdminAuth, CallerHotkey } from '../../auth';
import { ErrorCode } from '../../common/errors';
import { ApiDoc } from '../../openapi/api-doc.decorator';
import { MinerHotkeyParams, SetMinerStatusRequest } from '../dto/miner.request';
import { MinerListResponse, MinerRemovedResponse, MinerResponse } from '../dto/miner.response';
import { AdminMinersService } from '../services/admin-miners.service';

@Controller('admin/miners')
@AdminAuth()
export class AdminMinersController {
  constructor(private readonly miners: AdminMinersService) {}

  @Get()
  @ApiDoc({
    summary: 'Every miner entry (allowed / blocked), by hotkey',
    tag: 'admin',
    auth: 'admin',
    response: MinerListResponse,
    errors: [...ADMIN_AUTH_ERRORS],
  })
  list(): Promise<MinerListResponse> {
    return this.miners.list();
  }

  @Put(':hotkey')
  @ApiDoc({
    summary: 'Allow or block a miner (creates or replaces its entry); a blocked miner is refused everywhere, boot attestation included',
    tag: 'admin',
    auth: 'admin',
    body: SetMinerStatusRequest,
    response: MinerResponse,
    errors: [...ADMIN_AUTH_ERRORS],
  })
  set(@Param() params: MinerHotkeyParams, @Body() body: SetMinerStatusRequest, @CallerHotkey() admin: string): Promise<MinerResponse> {
    return this.miners.set(params.hotkey, body, admin);
  }

  @Delete(':hotkey')
  @ApiDoc({
    summary: 'Remove a miner entry (MINER_POLICY then decides alone)',
    tag: 'admin',
    auth: 'admin',
    response: MinerRemovedResponse,
    errors: [...ADMIN_AUTH_ERRORS, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_FAILED],
  })
  remove(@Param() params: MinerHotkeyParams, @CallerHotkey() admin: string): Promise<MinerRemovedResponse> {
    return this.miners.remove(params.hotkey, admin);
  }
}
