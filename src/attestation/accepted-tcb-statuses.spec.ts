/** Config validates ACCEPTED_TCB_STATUSES against its own copy of the names; it must be core's list. */
import { KNOWN_TCB_STATUSES } from '../config/tcb-statuses';
import { TCB_STATUSES } from './core/dcap';

describe('ACCEPTED_TCB_STATUSES names', () => {
  it('are exactly the TCB statuses the verification core can report, in its order', () => {
    expect([...KNOWN_TCB_STATUSES]).toEqual([...TCB_STATUSES]);
  });
});
