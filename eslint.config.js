// ESLint for Kestrel's TypeScript: typescript-eslint's recommended rules (syntax only, no type information, so it
// stays fast) and the layer rule: imports go one way, native -> tensor -> nn, optim, distributed -> data -> learn ->
// vision, interpret -> io -> dashboard, cli, serve. `npm test` runs it (npm run lint alone).
import tseslint from 'typescript-eslint';

/** Layers, lowest first; a layer may import only from layers before it (and itself). */
const LAYERS = [
  ['tensor'], ['nn', 'optim', 'distributed'], ['data'], ['learn'], ['vision', 'interpret'], ['io'], ['dashboard', 'serve'], ['cli'],
];

/** The src/ folders a layer must not import: its own rank and above, except itself. */
function forbidden(layer) {
  const rank = LAYERS.findIndex((names) => names.includes(layer));
  return LAYERS.slice(rank).flat().filter((name) => name !== layer);
}

const layerRules = LAYERS.flat().map((layer) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: forbidden(layer).map((name) => ({
        group: [`**/${name}/*`, `../${name}`, `../../${name}`, `../../../${name}`],
        message: `src/${layer} sits below src/${name}: imports go one way (see eslint.config.js)`,
      })),
    }],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'runs/**', 'scripts/jupyter/node_modules/**', 'test/fixtures/**', 'assets/**', '**/*.cjs', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // NOTE: `any` appears where libraries hand back untyped data (pickles, JSON, Vega); unused names are tsc's job.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },
  ...layerRules,
);
