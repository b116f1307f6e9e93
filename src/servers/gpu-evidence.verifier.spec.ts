import { DomainError, ErrorCode } from '../common/errors';
import { evidenceArray } from './gpu-evidence.verifier';

const items = [{ gpu: 'GPU-0', evidence: 'ZXY=' }];

describe("evidenceArray (what the verifier's --evidence file holds)", () => {
  it('takes an array as sent, and a JSON string holding one decoded once (the real proxy double-encodes)', () => {
    expect(evidenceArray(items)).toEqual(items);
    expect(evidenceArray(JSON.stringify(items))).toEqual(items);
    expect(evidenceArray('[]')).toEqual([]);
  });

  it.each([
    ['nothing', null],
    ['an object', { gpu: 'GPU-0' }],
    ['a string that is not JSON', 'evidence'],
    ['a JSON string holding an object', JSON.stringify({ gpu: 'GPU-0' })],
    ['an array encoded twice (decoded once only)', JSON.stringify(JSON.stringify(items))],
    ['a number', 7],
  ])('refuses %s with GPU_EVIDENCE_INVALID', (_name, value) => {
    let error: unknown;
    try {
      evidenceArray(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(ErrorCode.GPU_EVIDENCE_INVALID);
  });
});
