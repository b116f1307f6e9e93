import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: undefined,
      tls: undefined,
      trustProxy: [],
      acceptedTcbStatuses: ['UpToDate'],
      nonceTtlSeconds: 600,
      bootTokenTtlSeconds: 600,
      luksVolumes: ['storage', 'tdx-cache'],
      minerPolicy: 'open',
      signatureWindowSeconds: 600,
      attestationPort: 30443,
      allowPrivateHosts: false,
      collateralStaleGraceSeconds: 86400,
      rateLimitAnonPerMin: 60,
      logLevel: 'info',
      requestTimeoutSeconds: 30,
      maxConnectionsPerIp: 64,
      keyRetentionDays: 30,
      bootIdentityPinning: 'registered-host',
    });
    expect(config.dataDir.endsWith('/data')).toBe(true);
  });

  it('reads lists and numbers', () => {
    const config = loadConfig({
      PORT: '9000',
      TRUST_PROXY: '10.0.0.0/8, 192.168.1.1,::1',
      PCCS_URL: 'https://a.example/sgx/certification/v4,https://b.example/sgx/certification/v4',
      ACCEPTED_TCB_STATUSES: 'UpToDate, SWHardeningNeeded',
      LUKS_VOLUMES: 'storage,cache',
      ALLOW_PRIVATE_HOSTS: 'true',
      RATE_LIMIT_ANON_PER_MIN: '0',
      REQUEST_TIMEOUT_S: '5',
      MAX_CONNECTIONS_PER_IP: '0',
      KEY_RETENTION_DAYS: '90',
      BOOT_IDENTITY_PINNING: 'off',
    });
    expect(config.requestTimeoutSeconds).toBe(5);
    expect(config.maxConnectionsPerIp).toBe(0);
    expect(config.port).toBe(9000);
    expect(config.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.1', '::1']);
    expect(config.pccsUrls).toHaveLength(2);
    expect(config.acceptedTcbStatuses).toEqual(['UpToDate', 'SWHardeningNeeded']);
    expect(config.luksVolumes).toEqual(['storage', 'cache']);
    expect(config.allowPrivateHosts).toBe(true);
    expect(config.rateLimitAnonPerMin).toBe(0);
    expect([config.keyRetentionDays, config.bootIdentityPinning]).toEqual([90, 'off']);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['port not a number', { PORT: 'abc' }, /^invalid configuration: PORT must be a port number 1\.\.65535 \(got "abc"\)$/],
    ['port out of range', { PORT: '70000' }, /^invalid configuration: PORT must be a port number/],
    ['negative ttl', { NONCE_TTL_S: '-5' }, /^invalid configuration: NONCE_TTL_S must be a whole number of seconds/],
    ['unknown miner policy', { MINER_POLICY: 'closed' }, /^invalid configuration: MINER_POLICY must be open or allowlist/],
    ['unknown TCB status', { ACCEPTED_TCB_STATUSES: 'UpToDate,Fine' }, /ACCEPTED_TCB_STATUSES has an unknown status.*\(got "Fine"\)/],
    [
      'bad trusted proxy',
      { TRUST_PROXY: '10.0.0.0/33' },
      /TRUST_PROXY must be a comma-separated list of IP addresses or CIDR blocks \(got "10\.0\.0\.0\/33"\)/,
    ],
    ['bad proxy host', { TRUST_PROXY: 'proxy.local' }, /TRUST_PROXY/],
    ['TLS cert without key', { TLS_CERT_FILE: '/x.crt' }, /TLS_KEY_FILE must be set together/],
    ['bad volume name', { LUKS_VOLUMES: 'storage,bad name' }, /LUKS_VOLUMES must be a comma-separated list of volume names/],
    ['bad PCCS URL', { PCCS_URL: 'ftp://x' }, /PCCS_URL must be one or more http\(s\) URLs/],
    ['bad log level', { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    ['bad boolean', { ALLOW_PRIVATE_HOSTS: 'maybe' }, /ALLOW_PRIVATE_HOSTS must be true or false/],
    [
      'a replaced DCAP trust anchor in production',
      { NODE_ENV: 'production', DCAP_ROOT_CA_FILE: '/etc/test-root.pem' },
      /^invalid configuration: DCAP_ROOT_CA_FILE replaces the pinned Intel SGX Root CA \(tests only\) and is refused when NODE_ENV=production \(got "\/etc\/test-root\.pem"\)$/,
    ],
    ['request timeout zero', { REQUEST_TIMEOUT_S: '0' }, /^invalid configuration: REQUEST_TIMEOUT_S must be a whole number of seconds 1\.\.3600 \(got "0"\)$/],
    ['request timeout too long', { REQUEST_TIMEOUT_S: '86400' }, /^invalid configuration: REQUEST_TIMEOUT_S must be a whole number of seconds 1\.\.3600/],
    [
      'request timeout not a number',
      { REQUEST_TIMEOUT_S: '30s' },
      /^invalid configuration: REQUEST_TIMEOUT_S must be a whole number of seconds 1\.\.3600 \(got "30s"\)$/,
    ],
    [
      'connection cap not a number',
      { MAX_CONNECTIONS_PER_IP: 'many' },
      /^invalid configuration: MAX_CONNECTIONS_PER_IP must be a whole number 0\.\.65535 \(0 turns the cap off\) \(got "many"\)$/,
    ],
    ['connection cap too large', { MAX_CONNECTIONS_PER_IP: '1000000' }, /^invalid configuration: MAX_CONNECTIONS_PER_IP must be a whole number 0\.\.65535/],
    [
      'retention of zero days',
      { KEY_RETENTION_DAYS: '0' },
      /^invalid configuration: KEY_RETENTION_DAYS must be a whole number of days, 1\.\.3650 \(got "0"\)$/,
    ],
    [
      'retention not a number',
      { KEY_RETENTION_DAYS: '30d' },
      /^invalid configuration: KEY_RETENTION_DAYS must be a whole number of days, 1\.\.3650 \(got "30d"\)$/,
    ],
    ['retention too long', { KEY_RETENTION_DAYS: '9999' }, /^invalid configuration: KEY_RETENTION_DAYS must be a whole number of days/],
    [
      'unknown pinning mode',
      { BOOT_IDENTITY_PINNING: 'strict' },
      /^invalid configuration: BOOT_IDENTITY_PINNING must be registered-host or off \(got "strict"\)$/,
    ],
    [
      'admin hotkey not ss58',
      { ADMIN_HOTKEYS: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY,admin' },
      /ADMIN_HOTKEYS must be a comma-separated list of ss58 addresses \(got "admin"\)/,
    ],
    ['signature audience with a path', { SIGNATURE_AUDIENCE: 'https://keys.example.com/broker' }, /SIGNATURE_AUDIENCE must be the broker's public origin/],
    ['signature audience not http(s)', { SIGNATURE_AUDIENCE: 'keys.example.com' }, /SIGNATURE_AUDIENCE must be the broker's public origin/],
    ['signature audience with credentials', { SIGNATURE_AUDIENCE: 'https://u:p@keys.example.com' }, /SIGNATURE_AUDIENCE must not carry credentials/],
    ['signed rate limit not a number', { RATE_LIMIT_SIGNED_PER_MIN: 'many' }, /RATE_LIMIT_SIGNED_PER_MIN must be a whole number/],
    [
      'attestation timeout zero',
      { ATTESTATION_TIMEOUT_S: '0' },
      /^invalid configuration: ATTESTATION_TIMEOUT_S must be a whole number of seconds 1\.\.3600 \(got "0"\)$/,
    ],
    [
      'attestation timeout not a number',
      { ATTESTATION_TIMEOUT_S: '2m' },
      /^invalid configuration: ATTESTATION_TIMEOUT_S must be a whole number of seconds 1\.\.3600/,
    ],
    [
      'attestation timeout too long',
      { ATTESTATION_TIMEOUT_S: '7200' },
      /^invalid configuration: ATTESTATION_TIMEOUT_S must be a whole number of seconds 1\.\.3600/,
    ],
  ];
  it.each(bad)('rejects %s with one line naming the variable', (_case, env, expected) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(expected);
    expect((error as Error).message).not.toContain('\n');
  });

  it('reads the signed-request limit and the signature audience as an origin', () => {
    expect(loadConfig({})).toMatchObject({ rateLimitSignedPerMin: 120, signatureAudience: undefined });
    const config = loadConfig({ RATE_LIMIT_SIGNED_PER_MIN: '0', SIGNATURE_AUDIENCE: 'HTTPS://Keys.Example.com:443/' });
    expect([config.rateLimitSignedPerMin, config.signatureAudience]).toEqual([0, 'https://keys.example.com']);
    expect(loadConfig({ SIGNATURE_AUDIENCE: 'http://10.0.0.1:8080' }).signatureAudience).toBe('http://10.0.0.1:8080');
  });

  it('reads the validator key file and the evidence fetch bound (default 120 s: the VM quotes and collects GPU evidence per request)', () => {
    expect(loadConfig({})).toMatchObject({ validatorKeyFile: undefined, attestationTimeoutSeconds: 120 });
    expect(loadConfig({ VALIDATOR_KEY_FILE: '/etc/bootkey/validator.json', ATTESTATION_TIMEOUT_S: '300' })).toMatchObject({
      validatorKeyFile: '/etc/bootkey/validator.json',
      attestationTimeoutSeconds: 300,
    });
  });

  it('reads MAX_INFLIGHT (default 64, 0 = off) and refuses anything but a whole number 0..65535', () => {
    expect(loadConfig({}).maxInflight).toBe(64);
    expect(loadConfig({ MAX_INFLIGHT: '0' }).maxInflight).toBe(0);
    expect(loadConfig({ MAX_INFLIGHT: '200' }).maxInflight).toBe(200);
    expect(() => loadConfig({ MAX_INFLIGHT: 'lots' })).toThrow(
      /^invalid configuration: MAX_INFLIGHT must be a whole number 0\.\.65535 \(0 turns load shedding off\) \(got "lots"\)$/,
    );
    expect(() => loadConfig({ MAX_INFLIGHT: '-1' })).toThrow(/^invalid configuration: MAX_INFLIGHT must be a whole number/);
    expect(() => loadConfig({ MAX_INFLIGHT: '70000' })).toThrow(/^invalid configuration: MAX_INFLIGHT must be a whole number 0\.\.65535/);
  });

  it('reads AUDIT_RETENTION_DAYS (default 400, 0 = forever) and refuses anything but a whole number 0..36500', () => {
    expect(loadConfig({}).auditRetentionDays).toBe(400);
    expect(loadConfig({ AUDIT_RETENTION_DAYS: '0' }).auditRetentionDays).toBe(0);
    expect(loadConfig({ AUDIT_RETENTION_DAYS: '90' }).auditRetentionDays).toBe(90);
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '1y' })).toThrow(
      /^invalid configuration: AUDIT_RETENTION_DAYS must be a whole number of days 0\.\.36500 \(0 keeps audit rows forever\) \(got "1y"\)$/,
    );
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '40000' })).toThrow(
      /^invalid configuration: AUDIT_RETENTION_DAYS must be a whole number of days 0\.\.36500/,
    );
  });

  it('never echoes a database URL (it may hold a password)', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' })).toThrow(/^invalid configuration: DATABASE_URL must be a postgres/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' })).not.toThrow(/hunter2/);
  });
});

describe('loadConfig: TD attributes and collateral lookups (issue 12)', () => {
  it('defaults: DEBUG, TUD and MIGRATABLE refused, no service TD allowed, failures remembered 300 s', () => {
    expect(loadConfig({})).toMatchObject({ tdAttributesRefused: 0x200000ffn, mrServiceTdAllowed: [], collateralNegativeTtlSeconds: 300 });
  });

  it('reads a mask with or without 0x, lowercases MRSERVICETD values, and the negative TTL', () => {
    const service = 'AB'.repeat(48);
    const config = loadConfig({ TD_ATTRIBUTES_REFUSED: '600000FF', MRSERVICETD_ALLOWED: `${service}, ${'cd'.repeat(48)}`, COLLATERAL_NEGATIVE_TTL_S: '60' });
    expect(config.tdAttributesRefused).toBe(0x600000ffn);
    expect(config.mrServiceTdAllowed).toEqual(['ab'.repeat(48), 'cd'.repeat(48)]);
    expect(config.collateralNegativeTtlSeconds).toBe(60);
    expect(loadConfig({ TD_ATTRIBUTES_REFUSED: '0xffffffffffffffff' }).tdAttributesRefused).toBe(0xffffffffffffffffn);
  });

  it("accepts Intel's TD relaunch statuses in ACCEPTED_TCB_STATUSES", () => {
    const statuses = 'UpToDate,TDRelaunchAdvised,TDRelaunchAdvisedConfigurationNeeded';
    expect(loadConfig({ ACCEPTED_TCB_STATUSES: statuses }).acceptedTcbStatuses).toEqual(statuses.split(','));
  });

  it.each([
    [
      'mask not hex',
      { TD_ATTRIBUTES_REFUSED: 'debug' },
      /^invalid configuration: TD_ATTRIBUTES_REFUSED must be a 64-bit hex mask such as 0x200000ff \(got "debug"\)$/,
    ],
    ['mask wider than 64 bits', { TD_ATTRIBUTES_REFUSED: '0x1ffffffffffffffff' }, /^invalid configuration: TD_ATTRIBUTES_REFUSED must be a 64-bit hex mask/],
    [
      'mask without DEBUG',
      { TD_ATTRIBUTES_REFUSED: '0x20000000' },
      /^invalid configuration: TD_ATTRIBUTES_REFUSED must include the DEBUG bit \(0x1\) \(got "0x20000000"\)$/,
    ],
    [
      'MRSERVICETD too short',
      { MRSERVICETD_ALLOWED: 'ab'.repeat(47) },
      /^invalid configuration: MRSERVICETD_ALLOWED must be a comma-separated list of 96-hex-digit MRSERVICETD values/,
    ],
    ['negative TTL', { COLLATERAL_NEGATIVE_TTL_S: '-1' }, /^invalid configuration: COLLATERAL_NEGATIVE_TTL_S must be a whole number of seconds/],
  ] as [string, Record<string, string>, RegExp][])('rejects %s with one line', (_case, env, expected) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(expected);
  });
});
