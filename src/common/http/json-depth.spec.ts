import { ErrorCode } from '../errors';
import { httpStatusOf } from './http-status-by-code';
import { jsonDepthError, jsonNestingExceeds, MAX_JSON_DEPTH } from './json-depth';

const text = (s: string) => Buffer.from(s, 'utf8');
const nested = (depth: number, open: string, close: string) => `${open.repeat(depth)}${close.repeat(depth)}`;

describe('jsonNestingExceeds', () => {
  it.each([
    ['32 arrays', nested(32, '[', ']'), false],
    ['33 arrays', nested(33, '[', ']'), true],
    ['33 objects', `${'{"a":'.repeat(33)}1${'}'.repeat(33)}`, true],
    ['32 levels mixing objects and arrays', `${'{"a":['.repeat(16)}1${']}'.repeat(16)}`, false],
    ['33 levels mixing objects and arrays', `{"b":${'[{"a":'.repeat(16)}1${'}]'.repeat(16)}}`, true],
    ['20,000 arrays', nested(20_000, '[', ']'), true],
    ['many siblings at depth 2', `[${'[1],'.repeat(10_000)}[1]]`, false],
    ['brackets inside strings', `{"a":"${'['.repeat(100)}"}`, false],
    ['escaped quote does not end the string', `{"a":"\\"${'['.repeat(100)}"}`, false],
    ['escaped backslash before the closing quote', `{"a":"\\\\",${'"b":['.repeat(1)}${'['.repeat(33)}${']'.repeat(34)}}`, true],
    ['unbalanced, deep (malformed JSON is judged too)', '['.repeat(40), true],
    ['empty', '', false],
  ])('%s', (_name, body, expected) => {
    expect(jsonNestingExceeds(text(body))).toBe(expected);
  });

  it('answers a 422 VALIDATION_FAILED naming the limit, never the body', () => {
    const error = jsonDepthError(text(`{"secret":"hunter2","x":${nested(40, '[', ']')}}`));
    expect(error).toMatchObject({ code: ErrorCode.VALIDATION_FAILED, message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` });
    expect(httpStatusOf(ErrorCode.VALIDATION_FAILED)).toBe(422);
    expect(error?.message).not.toContain('hunter2');
    expect(jsonDepthError(text('{"a":[1]}'))).toBeUndefined();
  });
});
