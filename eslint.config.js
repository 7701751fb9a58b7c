// ESLint flat config: typescript-eslint's type-checked rules for the TypeScript (src/, test/, config files),
// the untyped rules for the .mjs JavaScript (bench/, scripts/, test fixtures), import-x/no-cycle everywhere,
// and eslint-config-prettier last so no rule fights the formatter (`prettier --check` runs beside ESLint).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier/flat';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // .tmp/ holds the README's examples that `npm run typecheck` extracts.
  globalIgnores(['dist/', 'coverage/', '.tmp/', 'node_modules/']),

  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers (and bigints) in messages and Redis keys are the norm here and stringify unambiguously;
      // undefined, null, objects and unions with them stay reported.
      // (Options given replace the preset's, so the strict ones are restated.)
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowAny: false,
          allowBoolean: false,
          allowNever: false,
          allowNullish: false,
          allowNumber: true,
          allowRegExp: false,
        },
      ],
      // Handing on a caught error as it is: `reject(err)`, `Promise.reject(err)` with err unknown, the same
      // rethrow that only-throw-error allows for `throw err`. Rejecting with anything else stays reported.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // `() => clearTimeout(t)`, `.catch(() => this.emit('error', e))`: the shorthand callback is the idiom.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // noUncheckedIndexedAccess is on, and Redis replies are arrays indexed by position: `reply[i]!` is the
      // deliberate, visible marker that the index is known to be there.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // A leading underscore marks a binding kept on purpose, e.g. `const { error: _previous, ...rest } = last`.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  // No import cycles. Type-only imports are erased at run time and are not counted.
  {
    plugins: { 'import-x': importX },
    settings: {
      // As import-x's flatConfigs.typescript: without .ts in these, the imported modules are never parsed and
      // no cycle through them is seen. The TypeScript resolver maps NodeNext's './x.js' to ./x.ts.
      'import-x/extensions': ['.ts', '.js', '.mjs', '.cjs'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` })],
    },
    rules: {
      // Packages cannot import this project back: not walking into them saves most of the rule's time.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },

  // Tests.
  {
    files: ['test/**/*.ts'],
    rules: {
      // Stub handlers are written `async () => 'ok'`: the Worker's and Batcher's types ask for a Promise.
      '@typescript-eslint/require-await': 'off',
      // vitest's asymmetric matchers (expect.stringMatching, expect.any, ...) are typed `any`, and tests read
      // the CLI's JSON output through JSON.parse; the assertions themselves check the shape.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // Tests destructure methods (`{ signal, progress }`, as the README shows) and hand them to expect().
      '@typescript-eslint/unbound-method': 'off',
    },
  },

  // JavaScript: no types to check.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },

  prettier,
);
