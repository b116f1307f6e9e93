import type { FastifyRequest } from 'fastify';
import { trustedProxyList } from '../../config/app-config';
import { clientIp, clientKeyHash, normalizeIp } from './client-identity';

function fakeRequest(peer: string, headers: Record<string, string> = {}): FastifyRequest {
  return { raw: { socket: { remoteAddress: peer } }, headers } as unknown as FastifyRequest;
}

describe('client identity', () => {
  const trusted = trustedProxyList(['10.0.0.0/8', '::1']);

  it('normalises IPv4-mapped IPv6 addresses', () => {
    expect(normalizeIp('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
  });

  const cases: [string, string, Record<string, string>, string][] = [
    ['untrusted peer: X-Forwarded-For ignored', '198.51.100.9', { 'x-forwarded-for': '203.0.113.5' }, '198.51.100.9'],
    ['trusted peer: client from X-Forwarded-For', '10.1.2.3', { 'x-forwarded-for': '203.0.113.5' }, '203.0.113.5'],
    ['trusted peer: right-most untrusted hop wins over a spoofed left entry', '10.1.2.3', { 'x-forwarded-for': '1.1.1.1, 203.0.113.5, 10.9.9.9' }, '203.0.113.5'],
    ['trusted peer without header: the peer itself', '10.1.2.3', {}, '10.1.2.3'],
    ['trusted IPv6 peer', '::1', { 'x-forwarded-for': '2001:db8::7' }, '2001:db8::7'],
    ['garbage header from trusted peer', '10.1.2.3', { 'x-forwarded-for': 'not-an-ip' }, '10.1.2.3'],
    ['mapped peer address', '::ffff:198.51.100.9', {}, '198.51.100.9'],
  ];
  it.each(cases)('%s', (_name, peer, headers, expected) => {
    expect(clientIp(fakeRequest(peer, headers), trusted)).toBe(expected);
  });

  it('ignores X-Client-Cert from an untrusted peer and unparsable ones from trusted peers', () => {
    expect(clientKeyHash(fakeRequest('198.51.100.9', { 'x-client-cert': 'garbage' }), trusted)).toBeUndefined();
    expect(clientKeyHash(fakeRequest('10.0.0.1', { 'x-client-cert': 'garbage' }), trusted)).toBeUndefined();
  });
});
