import { childProcessEnv } from './child-env';

describe('childProcessEnv (what GPU_EVIDENCE_VERIFIER gets)', () => {
  it("passes what a verifier needs and never the broker's secrets or settings", () => {
    const child = childProcessEnv({
      PATH: '/opt/nvattest/bin:/usr/bin',
      HOME: '/var/lib/bootkey',
      LC_ALL: 'C.UTF-8',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      SSL_CERT_FILE: '/etc/ssl/certs/ca.pem',
      PYTHONPATH: '/opt/nvattest/lib',
      NVATTEST_NRAS_URL: 'https://nras.attestation.nvidia.com',
      BROKER_KEKS: 'k1:AAAA',
      BROKER_KEK_FILE: '/etc/bootkey/keks',
      DATABASE_URL: 'postgres://bootkey:secret@db/bootkey',
      VALIDATOR_KEY_FILE: '/etc/bootkey/validator.json',
      LUKS_ROOT_PASSPHRASE_FILE: '/etc/bootkey/root',
      BOOTKEY_HOTKEY_SEED: '0x00',
      UNDEFINED: undefined,
    });
    expect(child).toEqual({
      PATH: '/opt/nvattest/bin:/usr/bin',
      HOME: '/var/lib/bootkey',
      LC_ALL: 'C.UTF-8',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      SSL_CERT_FILE: '/etc/ssl/certs/ca.pem',
      PYTHONPATH: '/opt/nvattest/lib',
      NVATTEST_NRAS_URL: 'https://nras.attestation.nvidia.com',
    });
  });

  it('gives a PATH when the broker has none', () => {
    expect(childProcessEnv({})).toEqual({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' });
  });
});
