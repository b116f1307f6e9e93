/**
 * Lint: typescript-eslint's type-checked rules over every TypeScript file of tsconfig.json (src, test,
 * migrations, bench), through the project service so each file is checked with the real types. The
 * CommonJS helpers (jest transform, forge launchers, test hosts) are not in any tsconfig: they keep
 * the untyped rules. No stylistic rule is enabled: layout belongs to prettier (`npm run format`).
 */
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries of the server, low layer to high: common/errors → common → config → database →
 * feature modules → the app (app.module, app.factory, main). A file may import its own layer and the
 * layers below it, never one above. The verification core (src/attestation/core) is pure: it sees
 * only itself, common/errors and node:crypto (no Nest, no database driver, no file or network I/O).
 * The CLI is a separate program: it shares common with the server, nothing else. Only shipped code is
 * checked: specs and test helpers may reach anywhere.
 */
const LAYERS = [
  // First match wins, so the narrower folders come first; `partialMatch: false` anchors each
  // pattern at the repository root (a folder pattern: everything below it belongs to the element).
  { type: 'core', pattern: 'src/attestation/core' },
  { type: 'errors', pattern: 'src/common/errors' },
  { type: 'common', pattern: 'src/common' },
  { type: 'config', pattern: 'src/config' },
  { type: 'database', pattern: 'src/database' },
  { type: 'cli', pattern: 'src/cli' },
  { type: 'feature', pattern: 'src/*', capture: ['feature'] },
  { type: 'app', pattern: 'src' }, // what is left: app.module.ts, app.factory.ts, main.ts
  { type: 'migrations', pattern: 'migrations' },
].map((element) => ({ ...element, partialMatch: false }));

/** Each server layer and the layers it may import besides itself. */
const LOWER = {
  errors: [],
  common: ['errors'],
  config: ['common', 'errors'],
  database: ['config', 'common', 'errors', 'migrations'],
  feature: ['core', 'database', 'config', 'common', 'errors'],
  app: ['feature', 'core', 'database', 'config', 'common', 'errors'],
  cli: ['common', 'errors'],
  migrations: [],
  core: ['errors'],
};

const toLayers = (types) => ({ to: { element: { type: types } } });
const BOUNDARY_POLICIES = [
  // Packages and node built-ins: every layer but the core.
  { from: { element: { type: '!core' } }, allow: { to: { module: { origin: ['external', 'core'] } } } },
  { from: { element: { type: 'core' } }, allow: { to: { module: { origin: 'core', source: ['node:crypto', 'crypto'] } } } },
  ...Object.entries(LOWER).map(([layer, lower]) => ({ from: { element: { type: layer } }, allow: toLayers([layer, ...lower]) })),
  // Boot (attest, issue a boot token) and LUKS (redeem the token for volume keys) are two steps
  // joined only by the boot token; its service lives outside both, and neither imports the other.
  {
    from: { element: { type: 'feature', captured: { feature: 'luks' } } },
    disallow: { to: { element: { type: 'feature', captured: { feature: 'boot' } } } },
  },
  {
    from: { element: { type: 'feature', captured: { feature: 'boot' } } },
    disallow: { to: { element: { type: 'feature', captured: { feature: 'luks' } } } },
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // A switch over a union lists every member, so a new member (a TCB status, an error code) is a
      // compile-time question instead of silently taking the default branch.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Returning a promise from inside try without await skips the catch and the finally's timing.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
    },
  },
  {
    files: ['src/**/*.ts', 'migrations/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/root-path': import.meta.dirname,
      'boundaries/elements': LAYERS,
      'import/resolver': { typescript: { project: `${import.meta.dirname}/tsconfig.json` } },
    },
    rules: {
      'boundaries/dependencies': ['error', { default: 'disallow', checkAllOrigins: true, policies: BOUNDARY_POLICIES }],
    },
  },
  {
    // @types/jest types the asymmetric matchers (expect.any, expect.stringMatching, objectContaining)
    // as `any`, so every `{ field: expect.any(String) }` would be a hit. Specs keep the other
    // no-unsafe-* rules, which still catch an untyped JSON.parse or query result being used.
    // Test doubles implement async interfaces (repositories, executors, fake servers) without
    // needing to await anything, so require-await there would only ask for noise.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/require-await': 'off' },
  },
  {
    // CommonJS helpers (jest transform plugin, forge launchers) run under plain node, outside every tsconfig.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        module: 'writable',
        require: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
);
