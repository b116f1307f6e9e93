import { IsIn } from 'class-validator';

export class HealthResponse {
  @IsIn(['ok'])
  status: 'ok';
}
