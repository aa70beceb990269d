/** A small pool of loader worker threads: tasks queue up, each worker takes one at a time, results come back by promise. */
import { Worker } from 'node:worker_threads';
import { type BatchResult, type BatchTask, type WorkerSetup, runBatchTask } from './worker-task.js';

interface Pending {
  task: BatchTask;
  resolve: (result: BatchResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  current: Pending | null;
}

function describeTask(task: BatchTask): string {
  const files = task.files.slice(0, 3).join(', ');
  return `${files}${task.files.length > 3 ? `, … (${task.files.length} files)` : ''}`;
}

/** Runs batch tasks on `size` worker threads (or in this thread when size is 0). */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;

  /** Starts `size` workers with the given setup. */
  constructor(readonly size: number, private readonly setup: WorkerSetup) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
    this.idle();
  }

  private spawn(): Slot {
    // NOTE: only flags that make sense in a worker; e.g. `node --input-type=module -e ...` would make it fail.
    const execArgv = process.execArgv.filter((a) => /^--(enable-source-maps|max-old-space-size|stack-size|no-warnings|trace-|experimental-)/.test(a));
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: this.setup, execArgv });
    const slot: Slot = { worker, current: null };
    worker.on('message', (message: { ok: true; result: BatchResult } | { ok: false; id: number; message: string }) => {
      const pending = slot.current;
      slot.current = null;
      if (pending) {
        if (message.ok) pending.resolve(message.result);
        else pending.reject(new Error(`image loader worker failed on ${describeTask(pending.task)}: ${message.message}`));
      }
      this.pump();
    });
    const fail = (error: Error) => {
      const pending = slot.current;
      slot.current = null;
      const reason = new Error(`image loader worker died${pending ? ` while loading ${describeTask(pending.task)}` : ''}: ${error.message}`);
      pending?.reject(reason);
      // NOTE: every queued task fails too; a dead worker usually means a broken install (e.g. sharp missing).
      for (const p of this.queue.splice(0)) p.reject(reason);
      const index = this.slots.indexOf(slot);
      if (index >= 0 && !this.closed) this.slots[index] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { if (!this.closed && code !== 0) fail(new Error(`exit code ${code}`)); });
    return slot;
  }

  /** Queues a task; resolves with its result. */
  run(task: BatchTask): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new Error('image loader is closed'));
    if (this.size === 0) return runBatchTask(task, this.setup);
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.busy();
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.current || this.queue.length === 0) continue;
      slot.current = this.queue.shift()!;
      slot.worker.postMessage(slot.current.task);
    }
    if (this.queue.length === 0 && this.slots.every((s) => !s.current)) this.idle();
  }

  /** NOTE: workers hold the process open only while they have work, so a finished program exits by itself. */
  private busy(): void { for (const s of this.slots) s.worker.ref(); }

  private idle(): void { for (const s of this.slots) s.worker.unref(); }

  /** Stops every worker; pending tasks are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('image loader closed');
    for (const p of this.queue.splice(0)) p.reject(error);
    for (const s of this.slots) { s.current?.reject(error); s.current = null; }
    // NOTE: idle workers are unref'd, and waiting for one to exit does not keep the event loop alive by itself:
    // a program whose last work is this close() would exit with the promise unsettled (exit code 13).
    this.busy();
    await Promise.all(this.slots.map((s) => stopWorker(s.worker)));
  }
}

/**
 * Asks a worker to exit once its running task is done (terminating it inside a native decode would
 * abort the process); terminates it after `graceMs` if it does not.
 */
function stopWorker(worker: Worker, graceMs = 30000): Promise<void> {
  return new Promise((resolve) => {
    if (worker.threadId === -1) { resolve(); return; }
    const timer = setTimeout(() => void worker.terminate(), graceMs);
    worker.once('exit', () => { clearTimeout(timer); resolve(); });
    worker.postMessage({ exit: true });
  });
}
