/** Ctrl-C and SIGTERM during `kestrel train`: stop at the next batch, keep what finished, say how to resume. */
import { type Callback, CancelFitError, type Learner } from '../learn/index.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * A callback that turns the first SIGINT/SIGTERM into a clean stop of the fit (after the current batch,
 * or right after the epoch's checkpoint when the signal comes during validation). A second signal exits
 * at once. `install()` before fitting, `uninstall()` after.
 */
export class Interrupt implements Callback {
  readonly name = 'Interrupt';
  // NOTE: after Checkpoint (85) and ProgressCallback (90), so a finished epoch is saved and printed first.
  readonly order = 95;
  /** The signal received, if any. */
  signal: NodeJS.Signals | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  /** Listens for SIGINT and SIGTERM (replacing Node's default of exiting silently). */
  install(): this {
    for (const signal of SIGNALS) {
      const handler = () => {
        if (this.signal) process.exit(exitCode(this.signal));
        this.signal = signal;
        process.stderr.write(`\nkestrel: ${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping after this batch (again to quit now)\n`);
      };
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
    return this;
  }

  /** Restores the default signal behaviour. */
  uninstall(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.clear();
  }

  afterBatch(learn: Learner): void {
    if (this.signal && learn.training) throw new CancelFitError(`interrupted by ${this.signal}`);
  }

  afterEpoch(): void {
    if (this.signal) throw new CancelFitError(`interrupted by ${this.signal}`);
  }
}

/** The conventional exit code after a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function exitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}
