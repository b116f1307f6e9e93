import { ErrorCode } from '../common/errors/error-code';
import { HTTP_STATUS_BY_CODE } from '../common/http/http-status-by-code';
import { ADVICE, adviceFor, describeRefusal, describeUnreachable } from './advice';
import { BrokerRefusedError, BrokerUnreachableError } from './errors';

describe('advice', () => {
  // Iterates the enum itself: a code added on the server without advice here fails this test.
  it.each(Object.values(ErrorCode))('%s has a sentence that says what to do', (code) => {
    const advice = adviceFor(code, HTTP_STATUS_BY_CODE[code]);
    expect(advice).toBe(ADVICE[code]);
    expect(advice).toMatch(/^[A-Z].{30,}\.$/);
  });

  it('has no advice for codes the server does not have', () => {
    expect(Object.keys(ADVICE).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('falls back to the server message for an unknown code, and to the status for a codeless answer', () => {
    const unknown = new BrokerRefusedError(409, 'SOMETHING_NEW', 'the new thing happened', { code: 'SOMETHING_NEW' });
    expect(describeRefusal(unknown)).toEqual(['bootkey: the broker refused: the new thing happened (SOMETHING_NEW, HTTP 409)']);
    const proxy = new BrokerRefusedError(502, undefined, 'HTTP 502 Bad Gateway', undefined);
    expect(describeRefusal(proxy)).toEqual([
      'bootkey: the broker refused: HTTP 502 Bad Gateway (HTTP 502)',
      expect.stringMatching(/^ {2}what to do: The broker \(or a proxy in front of it\) could not reach/),
    ]);
    expect(adviceFor(undefined, 418)).toBeUndefined();
  });

  it('prints the server message, the code and the advice', () => {
    const refused = new BrokerRefusedError(403, ErrorCode.NOT_ADMIN, 'admin hotkey required', {});
    expect(describeRefusal(refused)).toEqual(['bootkey: the broker refused: admin hotkey required (NOT_ADMIN, HTTP 403)', `  what to do: ${ADVICE.NOT_ADMIN}`]);
  });

  it('says what to do when the broker cannot be reached', () => {
    expect(describeUnreachable(new BrokerUnreachableError('http://x:1', 'connection refused'))[1]).toMatch(/check --url \(or BOOTKEY_URL\)/);
    expect(describeUnreachable(new BrokerUnreachableError('https://x', 'untrusted', 'pass --ca-file'))[1]).toBe('  what to do: pass --ca-file.');
  });
});
