import { DomainError } from '../common/errors';
import fc from 'fast-check';
import { connectableAddress, ipv6Bytes, isPrivateAddress } from './host-policy';
import { evaluateGpuPolicy } from './gpu-policy';

describe('isPrivateAddress', () => {
  // Only global unicast may be dialled; every form that embeds an IPv4 address is judged by the
  // IPv4 address it carries (or refused when its embedding cannot be known).
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['192.0.2.1', true],
    ['198.51.100.7', true],
    ['203.0.113.9', true],
    ['240.0.0.1', true],
    ['255.255.255.255', true],
    ['::1', true],
    ['::', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['ff02::1', true],
    ['100::1', true],
    ['2001:db8::1', true],
    ['3fff::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    // IPv4-compatible (deprecated) and SIIT IPv4-translated: not global unicast, whatever they carry
    ['::127.0.0.1', true],
    ['::7f00:1', true],
    ['::8.8.8.8', true],
    ['::ffff:0:127.0.0.1', true],
    ['::ffff:0:8.8.8.8', true],
    // NAT64 well-known prefix: judged by the embedded IPv4
    ['64:ff9b::127.0.0.1', true],
    ['64:ff9b::7f00:1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['64:ff9b::10.0.0.1', true],
    ['64:ff9b::8.8.8.8', false],
    ['64:ff9b::1:8.8.8.8', true],
    // NAT64 local-use prefix: where the IPv4 sits depends on the site's prefix length
    ['64:ff9b:1::8.8.8.8', true],
    ['64:ff9b:1::7f00:1', true],
    // 6to4: judged by the IPv4 in bits 16..47
    ['2002:7f00:1::1', true],
    ['2002:a00:1::1', true],
    ['2002:a9fe:a9fe::1', true],
    ['2002:808:808::1', false],
    // Teredo and the rest of the IETF protocol block
    ['2001::1', true],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', true],
    ['2001:2::1', true],
    ['2001:10::1', true],
    ['not-an-address', true],
    ['8.8.8.8', false],
    ['203.0.114.7', false],
    ['2606:4700::1111', false],
    ['2a00:1450:4001:82a::200e', false],
    ['2620:4f:8000::1', false],
  ])('%s → %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('ipv6Bytes', () => {
  const hexGroups = (bytes: Uint8Array) => Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  it('reads every textual form back to the same 16 bytes (full, compressed, dotted tail)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (bytes, at, run) => {
        const groups = hexGroups(bytes);
        const forms = [
          groups.join(':'),
          new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1),
          `${groups.slice(0, 6).join(':')}:${Array.from(bytes.subarray(12)).join('.')}`,
        ];
        // A run of groups zeroed and written as "::".
        const zeroed = Uint8Array.from(bytes);
        const end = Math.min(8, at + Math.max(1, run));
        zeroed.fill(0, 2 * at, 2 * end);
        const z = hexGroups(zeroed);
        const compressed = `${z.slice(0, at).join(':')}::${z.slice(end).join(':')}`;
        expect(ipv6Bytes(compressed)).toEqual(zeroed);
        for (const form of forms) expect([form, ipv6Bytes(form)]).toEqual([form, bytes]);
      }),
    );
  });
  it.each(['1:2:3:4:5:6:7', '1::2::3', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3', '12345::1', 'g::1'])('refuses %s', (text) => {
    expect(ipv6Bytes(text)).toBeNull();
  });
});

describe('connectableAddress', () => {
  it('refuses loopback unless private hosts are allowed', async () => {
    await expect(connectableAddress('127.0.0.1', false)).rejects.toMatchObject({ code: 'PRIVATE_HOST' });
    await expect(connectableAddress('localhost', false)).rejects.toBeInstanceOf(DomainError);
    await expect(connectableAddress('127.0.0.1', true)).resolves.toBe('127.0.0.1');
  });
  it('refuses IPv6 literals that reach IPv4 loopback or private space', async () => {
    for (const host of ['64:ff9b::7f00:1', '2002:7f00:1::1', '::127.0.0.1', '2001::1']) {
      await expect(connectableAddress(host, false)).rejects.toMatchObject({ code: 'PRIVATE_HOST' });
    }
  });
  it('says when a name does not resolve', async () => {
    await expect(connectableAddress('no-such-host.invalid', false)).rejects.toMatchObject({ code: 'HOST_UNRESOLVABLE' });
  });
});

describe('evaluateGpuPolicy', () => {
  it.each([
    ['expected ids, any case', ['H100-A', 'h100-a'], ['h100-a'], null, true],
    ['an unexpected id', ['h100-a', 'rtx'], ['h100-a'], null, false],
    ['count matches', ['a', 'a'], ['a'], 2, true],
    ['count differs', ['a'], ['a'], 2, false],
    ['no expected GPUs and none given', [], [], null, true],
  ] as const)('%s', (_name, ids, expected, count, accepted) => {
    expect(evaluateGpuPolicy([...ids], [...expected], count).accepted).toBe(accepted);
  });
});
