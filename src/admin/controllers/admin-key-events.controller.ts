import { Controller, Get, Query } from '@nestjs/common';
import { ADMIN_AUTH_ERRORS, AdminAuth } from '../../auth';
import { ApiDoc } from '../../openapi/api-doc.decorator';
import { KeyEventsQuery } from '../dto/key-events.query';
import { KeyEventsPage } from '../dto/key-events.response';
import { KeyEventsService } from '../services/key-events.service';

@Controller('admin/key-events')
@AdminAuth()
export class AdminKeyEventsController {
  constructor(private readonly events: KeyEventsService) {}

  @Get()
  @ApiDoc({
    summary:
      'Key-release events, newest first: root releases, syncs and replays, replacements of a key in use (rekey or restore), restores, shredding and the retention purge — volumes and generations, never keys; paged by next_cursor',
    tag: 'admin',
    auth: 'admin',
    query: KeyEventsQuery,
    response: KeyEventsPage,
    errors: [...ADMIN_AUTH_ERRORS],
  })
  list(@Query() query: KeyEventsQuery): Promise<KeyEventsPage> {
    return this.events.page(query);
  }
}
