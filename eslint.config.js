import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'docs/api/**', 'node_modules/**', 'coverage/**', 'bench/results/**', '.gatepass/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/shared/**', 'src/server/*.ts', 'src/server/!(node|sqlite|postgres|redis)/**', 'src/client/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'runtime-neutral code uses Web platform APIs only' }] }],
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'use Uint8Array' }, { name: 'process', message: 'runtime-neutral code must not read process' }],
    },
  },
)
