/**
 * Lint: typescript-eslint's type-checked rules over every TypeScript file of tsconfig.json (src, test,
 * migrations, bench), through the project service so each file is checked with the real types. The
 * CommonJS helpers (jest transform, forge launchers, test hosts) are not in any tsconfig: they keep
 * the untyped rules. No stylistic rule is enabled: layout belongs to prettier (`npm run format`).
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // @types/jest types the asymmetric matchers (expect.any, expect.stringMatching, objectContaining)
    // as `any`, so every `{ field: expect.any(String) }` would be a hit. Specs keep the other
    // no-unsafe-* rules, which still catch an untyped JSON.parse or query result being used.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
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
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', __filename: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly' },
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
