/** Admin management of miner admission (allowed / blocked), over MinersService, with a log line per change. */
import { Injectable, Logger } from '@nestjs/common';
import { DomainError, ErrorCode } from '../../common/errors';
import { canonicalSs58 } from '../../common/validation/ss58';
import { MinersService } from '../../miners/miners.service';
import { SetMinerStatusRequest } from '../dto/miner.request';
import { MinerListResponse, MinerRemovedResponse, MinerResponse, toMinerResponse } from '../dto/miner.response';

@Injectable()
export class AdminMinersService {
  private readonly logger = new Logger('admin');

  constructor(private readonly miners: MinersService) {}

  async list(): Promise<MinerListResponse> {
    return { items: (await this.miners.list()).map(toMinerResponse) };
  }

  async set(hotkey: string, body: SetMinerStatusRequest, admin: string): Promise<MinerResponse> {
    const record = await this.miners.setStatus(hotkey, body.status, body.reason ?? null);
    this.logger.log({ msg: 'miner status set', admin, hotkey: record.hotkey, status: record.status });
    return toMinerResponse(record);
  }

  async remove(hotkey: string, admin: string): Promise<MinerRemovedResponse> {
    const canonical = canonicalSs58(hotkey);
    if (!(await this.miners.remove(canonical))) throw new DomainError(ErrorCode.NOT_FOUND, 'miner not found');
    this.logger.log({ msg: 'miner entry removed', admin, hotkey: canonical });
    return { hotkey: canonical, removed: true };
  }
}
