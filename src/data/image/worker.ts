/** Entry point of a loader worker thread: receives {@link BatchTask}s, answers {@link BatchResult}s (buffers transferred). */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { type BatchTask, type WorkerSetup, runBatchTask } from './worker-task.js';

const setup = workerData as WorkerSetup;
// NOTE: one libvips thread per image; parallelism comes from the workers and from images in flight.
sharp.concurrency(1);
sharp.cache(false);

// NOTE: a pool closing mid-epoch sends { exit: true }: the worker ends once its tasks are done, because
// terminating a thread inside a native decode aborts the whole process.
let running = 0;
let exiting = false;
const exitWhenIdle = () => { if (exiting && running === 0) process.exit(0); };

parentPort!.on('message', (message: BatchTask | { exit: true }) => {
  if ('exit' in message) {
    exiting = true;
    exitWhenIdle();
    return;
  }
  running++;
  runBatchTask(message, setup).then(
    (result) => parentPort!.postMessage({ ok: true, result }, [result.data]),
    (error: unknown) => parentPort!.postMessage({ ok: false, id: message.id, message: String((error as Error)?.message ?? error) }),
  ).finally(() => {
    running--;
    exitWhenIdle();
  });
});
