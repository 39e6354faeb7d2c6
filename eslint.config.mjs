// ESLint flat config: typescript-eslint's recommended rules (no type information, so it stays fast).
// Layout is Prettier's job (.prettierrc.json, `npm run format:check` in `npm test`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/build/**', '**/coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks what is unused on purpose: an Express error handler's 4th
      // parameter (Express tells error middleware apart by arity), a codec's unused argument, or a
      // field dropped from an object by destructuring it out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // The validators match control characters on purpose, to refuse them (labels, log-safe text).
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read raw HTTP and CLI JSON whose shape is what they assert; `any` there is the honest type.
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The bin shims and jest.config.js are CommonJS run by Node as they are.
    files: ['**/*.cjs', 'jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
