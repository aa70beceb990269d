/** Entry point of a loader worker thread: receives {@link BatchTask}s, answers {@link BatchResult}s (buffers transferred). */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { type BatchTask, type WorkerSetup, runBatchTask } from './worker-task.js';

const setup = workerData as WorkerSetup;
// NOTE: one libvips thread per image; parallelism comes from the workers and from images in flight.
sharp.concurrency(1);
sharp.cache(false);

parentPort!.on('message', (task: BatchTask) => {
  runBatchTask(task, setup).then(
    (result) => parentPort!.postMessage({ ok: true, result }, [result.data]),
    (error: unknown) => parentPort!.postMessage({ ok: false, id: task.id, message: String((error as Error)?.message ?? error) }),
  );
});
