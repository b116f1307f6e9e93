/**
 * `GET /miner/servers/`: the miner's inventory in the Chutes shape, as chutes-miner's
 * `remote-inventory`, `scorch-remote` and gepetto read it (v1 message purpose `miner`).
 */
import { Controller, Get } from '@nestjs/common';
import { CallerHotkey, HOTKEY_AUTH_ERRORS, HotkeyAuth } from '../auth';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { MinerServerListResponse } from './dto/server.dto';
import { ServersService } from './servers.service';

@Controller('miner')
@HotkeyAuth()
export class MinerServersController {
  constructor(private readonly servers: ServersService) {}

  @Get('servers')
  @ApiDoc({
    summary: "The caller's servers in the Chutes miner inventory shape, newest first (a v1 signature's empty-body purpose here is `miner`)",
    tag: 'servers',
    auth: 'hotkey',
    response: MinerServerListResponse,
    errors: [...HOTKEY_AUTH_ERRORS],
  })
  async list(@CallerHotkey() hotkey: string): Promise<MinerServerListResponse> {
    return { servers: await this.servers.inventory(hotkey) };
  }
}
