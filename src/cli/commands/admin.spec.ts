import { UsageError } from '../errors';
import { parseSince } from './admin';

describe('parseSince', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  it.each([
    ['30m', '2026-03-01T11:30:00.000Z'],
    ['24h', '2026-02-28T12:00:00.000Z'],
    ['7d', '2026-02-22T12:00:00.000Z'],
    ['90s', '2026-03-01T11:58:30.000Z'],
    ['2026-02-01', '2026-02-01T00:00:00.000Z'],
    ['2026-02-01T10:00:00+02:00', '2026-02-01T08:00:00.000Z'],
  ])('%s → %s', (text, expected) => {
    expect(parseSince(text, now)).toBe(expected);
  });

  it.each(['yesterday', '7w', '', '1700000000'])('refuses %p', (text) => {
    expect(() => parseSince(text, now)).toThrow(UsageError);
  });
});
