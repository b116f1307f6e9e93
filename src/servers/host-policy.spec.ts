import { DomainError } from '../common/errors';
import { connectableAddress, isPrivateAddress } from './host-policy';
import { evaluateGpuPolicy } from './gpu-policy';

describe('isPrivateAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['8.8.8.8', false],
    ['203.0.114.7', false],
    ['2606:4700::1111', false],
  ])('%s → %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('connectableAddress', () => {
  it('refuses loopback unless private hosts are allowed', async () => {
    await expect(connectableAddress('127.0.0.1', false)).rejects.toMatchObject({ code: 'PRIVATE_HOST' });
    await expect(connectableAddress('localhost', false)).rejects.toBeInstanceOf(DomainError);
    await expect(connectableAddress('127.0.0.1', true)).resolves.toBe('127.0.0.1');
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
