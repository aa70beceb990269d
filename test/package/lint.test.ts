/** The layer rule in eslint.config.js: imports go one way (tensor -> nn -> data -> learn -> vision -> io -> cli). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('the layer rule refuses an import that goes up the layers and allows one that goes down', async () => {
  const eslint = new ESLint({ cwd: ROOT });
  const lint = async (file: string, code: string) => (await eslint.lintText(code, { filePath: `${ROOT}${file}` }))[0].messages;
  const up = await lint('src/tensor/probe.ts', "import { main } from '../cli/index.js';\nexport const probe = main;\n");
  assert.equal(up.length, 1);
  assert.equal(up[0].ruleId, 'no-restricted-imports');
  assert.match(up[0].message, /src\/tensor sits below src\/cli: imports go one way/);
  const sideways = await lint('src/vision/probe.ts', "import { plotHistory } from '../interpret/index.js';\nexport const probe = plotHistory;\n");
  assert.match(sideways[0]?.message ?? '', /src\/vision sits below src\/interpret/, 'vision and interpret are one layer: neither imports the other');
  const down = await lint('src/io/probe.ts', "import { Learner } from '../learn/index.js';\nimport { tensor } from '../tensor/index.js';\nexport const probe = [Learner, tensor];\n");
  assert.deepEqual(down, []);
});
