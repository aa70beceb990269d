import test from 'node:test';
import assert from 'node:assert/strict';
import { AbortedError, Batcher, QueueFullError } from '../../src/serve/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('items submitted together run as one batch; a full batch runs without waiting for the delay', async () => {
  const batches: number[][] = [];
  const batcher = new Batcher<number, number>((xs) => { batches.push(xs); return xs.map((x) => x * 10); }, { maxBatchSize: 4, maxDelayMs: 10_000 });
  const started = Date.now();
  const out = await Promise.all([1, 2, 3, 4].map((x) => batcher.submit(x)));
  assert.deepEqual(out, [10, 20, 30, 40]);
  assert.deepEqual(batches, [[1, 2, 3, 4]]);
  assert.ok(Date.now() - started < 5_000, 'a full batch must not wait for maxDelayMs');
});

test('a partial batch runs after maxDelayMs; sizes in units split batches; one batch at a time', async () => {
  const batches: number[][] = [];
  let running = 0;
  let overlap = false;
  const batcher = new Batcher<number, number>(async (xs) => {
    running++;
    overlap ||= running > 1;
    batches.push(xs);
    await sleep(20);
    running--;
    return xs;
  }, { maxBatchSize: 5, maxDelayMs: 30 });
  const sizes = [2, 2, 2, 1, 9];
  const out = await Promise.all(sizes.map((size, i) => batcher.submit(i, size)));
  assert.deepEqual(out, [0, 1, 2, 3, 4]);
  // 2+2 fit in 5; 2+1 fit; the 9-unit item is bigger than a batch and runs alone.
  assert.deepEqual(batches, [[0, 1], [2, 3], [4]]);
  assert.equal(overlap, false);
  await batcher.drain();
  assert.equal(batcher.busy, false);
});

test('a full queue refuses at once; an aborted item leaves the queue; an error fails only its batch', async () => {
  let fail = true;
  const batcher = new Batcher<number, number>((xs) => {
    if (fail) { fail = false; throw new Error('boom'); }
    return xs;
  }, { maxBatchSize: 2, maxDelayMs: 50, maxQueue: 3 });
  const first = batcher.submit(1);
  const controller = new AbortController();
  const aborted = batcher.submit(2, 1, controller.signal);
  const third = batcher.submit(3);
  await assert.rejects(batcher.submit(4), QueueFullError);
  controller.abort();
  await assert.rejects(aborted, AbortedError);
  await assert.rejects(first, /boom/);
  await assert.rejects(third, /boom/);
  assert.equal(await batcher.submit(5), 5);
  assert.throws(() => new Batcher(() => [], { maxBatchSize: 0 }), /maxBatchSize must be an integer >= 1/);
});
