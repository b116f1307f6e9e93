/**
 * Unit specs live beside the code (src/**\/*.spec.ts); e2e and medium tests under test/.
 * Our TypeScript compiles to CommonJS; ESM-only dependencies are turned into CommonJS by babel.
 */
const ESM_ONLY = ['@nestjs', '@noble', 'file-type', 'strtok3', 'token-types', '@tokenizer', 'uint8array-extras', '@borewit'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    '^.+\\.m?js$': [
      'babel-jest',
      {
        babelrc: false,
        configFile: false,
        plugins: [require.resolve('./test/support/jest/import-meta-url.babel.js'), ['@babel/plugin-transform-modules-commonjs', { importInterop: 'node' }]],
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  setupFiles: ['reflect-metadata'],
  testTimeout: 60000,
};
