import { X509Certificate } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { selfSignedCert, TestCert } from '../../../test/support/tls';
import { trustedProxyList } from '../../config/app-config';
import { clientIp, clientKeyHash, normalizeIp } from './client-identity';

function fakeRequest(peer: string, headers: Record<string, string> = {}, peerCertificate?: X509Certificate): FastifyRequest {
  const socket = peerCertificate ? { remoteAddress: peer, getPeerX509Certificate: () => peerCertificate } : { remoteAddress: peer };
  return { raw: { socket }, headers } as unknown as FastifyRequest;
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
    [
      'trusted peer: right-most untrusted hop wins over a spoofed left entry',
      '10.1.2.3',
      { 'x-forwarded-for': '1.1.1.1, 203.0.113.5, 10.9.9.9' },
      '203.0.113.5',
    ],
    ['trusted peer without header: the peer itself', '10.1.2.3', {}, '10.1.2.3'],
    ['trusted IPv6 peer', '::1', { 'x-forwarded-for': '2001:db8::7' }, '2001:db8::7'],
    ['garbage header from trusted peer', '10.1.2.3', { 'x-forwarded-for': 'not-an-ip' }, '10.1.2.3'],
    ['mapped peer address', '::ffff:198.51.100.9', {}, '198.51.100.9'],
    // Proxies (and some load balancers) write ip:port and [v6]:port entries.
    ['trusted peer: ip:port entry', '10.1.2.3', { 'x-forwarded-for': '203.0.113.5:51234' }, '203.0.113.5'],
    ['trusted peer: [v6]:port entry', '10.1.2.3', { 'x-forwarded-for': '[2001:db8::7]:443' }, '2001:db8::7'],
    ['trusted peer: [v6] entry without port', '10.1.2.3', { 'x-forwarded-for': '[2001:db8::7]' }, '2001:db8::7'],
    [
      'trusted peer: ip:port hop is not skipped in favour of a spoofed left entry',
      '10.1.2.3',
      { 'x-forwarded-for': '1.1.1.1, 203.0.113.5:51234' },
      '203.0.113.5',
    ],
    ['trusted peer: mapped hop with port', '10.1.2.3', { 'x-forwarded-for': '[::ffff:203.0.113.5]:80' }, '203.0.113.5'],
    // An entry that does not parse ends the walk: nothing to its left can be vouched for.
    ['trusted peer: unparsable hop stops the walk before a spoofed left entry', '10.1.2.3', { 'x-forwarded-for': '1.1.1.1, bogus, 10.9.9.9' }, '10.1.2.3'],
    // When every hop is a trusted address, the left-most one is whatever the client wrote.
    [
      'trusted peer: every hop trusted → the peer, not the client-supplied left-most entry',
      '10.1.2.3',
      { 'x-forwarded-for': '10.6.6.6, 10.5.5.5' },
      '10.1.2.3',
    ],
    ['trusted peer: several headers joined in order', '10.1.2.3', { 'x-forwarded-for': ['1.1.1.1', '203.0.113.5'] as unknown as string }, '203.0.113.5'],
  ];
  it.each(cases)('%s', (_name, peer, headers, expected) => {
    expect(clientIp(fakeRequest(peer, headers), trusted)).toBe(expected);
  });

  it('ignores X-Client-Cert from an untrusted peer and unparsable ones from trusted peers', () => {
    expect(clientKeyHash(fakeRequest('198.51.100.9', { 'x-client-cert': 'garbage' }), trusted)).toBeUndefined();
    expect(clientKeyHash(fakeRequest('10.0.0.1', { 'x-client-cert': 'garbage' }), trusted)).toBeUndefined();
  });

  describe('client certificates through a trusted proxy that presents its own', () => {
    let proxy: TestCert;
    let vm: TestCert;
    beforeAll(async () => {
      proxy = await selfSignedCert('proxy');
      vm = await selfSignedCert('vm ephemeral');
    });
    const cert = (c: TestCert) => new X509Certificate(c.certPem);

    it("takes the forwarded certificate, not the proxy's own", () => {
      const request = fakeRequest('10.0.0.1', { 'x-client-cert': encodeURIComponent(vm.certPem) }, cert(proxy));
      expect(clientKeyHash(request, trusted)).toBe(vm.spkiSha256);
    });
    it("never counts the proxy's own certificate as the client's (no header, or one that does not parse)", () => {
      expect(clientKeyHash(fakeRequest('10.0.0.1', {}, cert(proxy)), trusted)).toBeUndefined();
      expect(clientKeyHash(fakeRequest('10.0.0.1', { 'x-client-cert': 'garbage' }, cert(proxy)), trusted)).toBeUndefined();
    });
    it('from an untrusted peer, the handshake certificate only', () => {
      expect(clientKeyHash(fakeRequest('198.51.100.9', { 'x-client-cert': encodeURIComponent(vm.certPem) }, cert(proxy)), trusted)).toBe(proxy.spkiSha256);
    });
  });
});
