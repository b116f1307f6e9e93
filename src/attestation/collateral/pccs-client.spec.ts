import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CollateralFetchError } from './collateral-source';
import { PccsCollateralSource, rawJsonMember } from './pccs-client';

describe('rawJsonMember', () => {
  it('returns the exact bytes of a member object, whitespace and key order kept', () => {
    const text = '{"tcbInfo": {"b":1, "a":{"s":"}{\\"x"}},"signature":"ab"}';
    expect(rawJsonMember(text, 'tcbInfo')).toBe('{"b":1, "a":{"s":"}{\\"x"}}');
  });
  it.each([
    ['missing member', '{"other":{}}'],
    ['not an object', '{"tcbInfo":[1]}'],
    ['unterminated', '{"tcbInfo":{"a":1'],
  ])('refuses %s', (_name, text) => {
    expect(() => rawJsonMember(text, 'tcbInfo')).toThrow(CollateralFetchError);
  });
});

describe('PccsCollateralSource failures', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // Never answers: the client must give up after its timeout.
    server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('times out a silent PCCS and names every URL it tried', async () => {
    const source = new PccsCollateralSource([url, 'http://127.0.0.1:9/'], 200);
    await expect(source.fetch('b0c06f000000', 'platform')).rejects.toThrow(
      /no PCCS answered \(127\.0\.0\.1:\d+: .*timed out after 200 ms; 127\.0\.0\.1:9: .*unreachable\)/,
    );
  });
});
