import test from 'node:test';
import assert from 'node:assert/strict';
import { ProgressCallback } from '../../src/learn/index.js';
import { blobLearner } from './fixtures.js';

test('the progress bar shows a real loss from the first batch on, and fits a narrow terminal without cutting a number', async () => {
  for (const columns of [120, 60, 44]) {
    const writes: string[] = [];
    const out = { isTTY: true, columns, write: (text: string) => writes.push(text) };
    await blobLearner({ callbacks: [new ProgressCallback({ mode: 'bar', out })] }).fit(2, 0.1);
    const bars = writes.filter((w) => w.startsWith('\repoch ')).map((w) => w.slice(1).replace('\x1b[K', ''));
    assert.ok(bars.length >= 2, `a bar per epoch at least (${bars.length})`);
    for (const bar of bars) {
      assert.doesNotMatch(bar, /NaN|Na$/, bar);
      assert.ok(bar.length <= columns - 1, `${bar.length} > ${columns - 1}: ${bar}`);
      assert.match(bar, /^epoch \d\/2 \[[#.]*\] +\d+% \d+\/8 eta \S+ loss \d\.\d{4}$/, bar);
    }
  }
});
