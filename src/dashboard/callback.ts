/** Dashboard: a Learner callback that serves a live training page (progress, curves, epoch metrics, confusion matrix, stop button). */
import { type Callback, CancelFitError, ConfusionMatrix, GracefulStop, type Learner } from '../learn/index.js';
import type { SseClient } from './http.js';
import { DEFAULT_DASHBOARD_PORT, PageServer } from './server.js';

/** Options of a Dashboard. */
export interface DashboardOptions {
  /** Port (default 8008; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 127.0.0.1: only this machine can open the page). */
  host?: string;
  /** Shown on the page: the command line, the run's folder, settings. */
  title?: string;
  command?: string;
  settings?: Record<string, unknown>;
  /** Class names (default: the training data's). */
  classes?: readonly string[];
  /** How often new batch points are sent to the page, in ms (default 500). */
  intervalMs?: number;
  /** Called with the URL once the server listens. */
  onListen?: (url: string) => void;
}

/** One training batch as the page plots it. */
interface BatchPoint { iteration: number; loss: number; lr: number }

/**
 * Serves a local page that follows training live over server-sent events. The hot path (afterBatch) only
 * appends three numbers to arrays; a timer sends them every `intervalMs`. The page's stop button ends the fit
 * after the current batch: through the learner's GracefulStop (which then writes a resumable checkpoint) if
 * it has one, else by cancelling the fit.
 */
export class Dashboard implements Callback {
  readonly name = 'Dashboard';
  // NOTE: after the Recorder (50), before the progress bar (90) and Checkpoint (85) so epoch records are final.
  readonly order = 80;
  readonly server: PageServer;
  private readonly batches: BatchPoint[] = [];
  private sent = 0;
  private readonly epochs: Record<string, unknown>[] = [];
  private confusion: { classes: string[]; counts: number[][] } | null = null;
  private metric: ConfusionMatrix | null = null;
  private addedMetric = false;
  private timer: NodeJS.Timeout | null = null;
  private status: 'waiting' | 'running' | 'stopping' | 'stopped' | 'finished' | 'failed' = 'waiting';
  private stopRequested = false;
  private startedAt = 0;
  private progress = { epoch: 0, epochs: 0, batch: 0, batches: 0, iteration: 0, totalIterations: 0, startIteration: 0, elapsed: 0, phase: 'train' };
  private classes: string[] = [];

  /** A dashboard (call start() or let beforeFit start it). */
  constructor(readonly options: DashboardOptions = {}) {
    this.server = new PageServer({
      page: 'dashboard', port: options.port ?? DEFAULT_DASHBOARD_PORT, host: options.host,
      api: { state: () => this.snapshot() },
      actions: { stop: () => this.requestStop() },
      onClient: (client: SseClient) => client.send('snapshot', this.snapshot()),
    });
  }

  /** Starts the server (idempotent); resolves to the page's URL. */
  async start(): Promise<string> {
    if (!this.server.address) {
      const url = await this.server.start();
      this.options.onListen?.(url);
    }
    return this.server.url;
  }

  /** The page's URL (after start). */
  get url(): string { return this.server.url; }

  /** Everything the page shows, as JSON. */
  snapshot(): Record<string, unknown> {
    return {
      title: this.options.title ?? 'Kestrel training', command: this.options.command ?? null, settings: this.options.settings ?? {},
      classes: this.classes, status: this.status, progress: this.progressNow(), batches: this.batches, epochs: this.epochs, confusion: this.confusion,
    };
  }

  /** Asks training to stop after the current batch (what the page's button does). */
  requestStop(): { ok: boolean; status: string } {
    if (this.status === 'running') { this.stopRequested = true; this.status = 'stopping'; this.server.broadcast('status', { status: this.status }); }
    return { ok: this.stopRequested, status: this.status };
  }

  private progressNow(): Record<string, unknown> {
    return { ...this.progress, elapsed: this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0 };
  }

  async beforeFit(learn: Learner): Promise<void> {
    await this.start();
    const known = this.options.classes ?? learn.data.train.dataset?.classes ?? (learn.data.train as { classes?: string[] }).classes ?? [];
    this.classes = [...known];
    // NOTE: the confusion matrix comes from the validation pass itself: reuse the learner's ConfusionMatrix metric or add one.
    this.metric = learn.metrics.find((m): m is ConfusionMatrix => m instanceof ConfusionMatrix) ?? null;
    if (!this.metric && learn.data.valid) { this.metric = new ConfusionMatrix(); learn.metrics.push(this.metric); this.addedMetric = true; }
    const perEpoch = learn.data.train.length;
    this.progress = { epoch: learn.startEpoch, epochs: learn.epochs, batch: 0, batches: perEpoch, iteration: learn.iteration, totalIterations: learn.epochs * perEpoch, startIteration: learn.iteration, elapsed: 0, phase: 'train' };
    for (const record of learn.history) this.epochs.push(this.epochRecord(record as unknown as Record<string, unknown>));
    this.startedAt = performance.now();
    this.status = 'running';
    this.server.broadcast('snapshot', this.snapshot());
    this.timer = setInterval(() => this.flush(), this.options.intervalMs ?? 500);
    this.timer.unref();
  }

  beforeEpoch(learn: Learner): void { this.progress.epoch = learn.epoch; this.progress.batch = 0; this.progress.phase = 'train'; }

  beforeValidate(): void { this.progress.phase = 'valid'; }

  afterBatch(learn: Learner): void {
    if (!learn.training || learn.loss === undefined) return;
    this.batches.push({ iteration: learn.iteration, loss: learn.lossValue, lr: learn.optimizer?.paramGroups[0]?.lr ?? NaN });
    this.progress.batch = learn.batchIndex + 1;
    this.progress.iteration = learn.iteration + 1;
    if (this.stopRequested) {
      this.stopRequested = false;
      const graceful = learn.callbacks.find((c): c is GracefulStop => c instanceof GracefulStop);
      if (graceful) graceful.request('stopped from the dashboard');
      else throw new CancelFitError('stopped from the dashboard');
    }
  }

  private epochRecord(record: Record<string, unknown>): Record<string, unknown> {
    const metrics = (record.metrics ?? {}) as Record<string, number>;
    return { epoch: record.epoch, trainLoss: record.trainLoss, validLoss: record.validLoss, accuracy: metrics.accuracy ?? record.accuracy ?? null, seconds: record.seconds, lr: record.lr, metrics };
  }

  afterEpoch(learn: Learner): void {
    const record = learn.history[learn.history.length - 1];
    if (!record || record.epoch !== learn.epoch + 1) return;
    const entry = this.epochRecord(record as unknown as Record<string, unknown>);
    this.epochs.push(entry);
    if (this.metric && learn.data.valid) {
      const counts = this.metric.matrix();
      const classes = counts.length === this.classes.length ? this.classes : counts.map((_, i) => this.classes[i] ?? String(i));
      this.confusion = { classes, counts };
    }
    this.flush();
    this.server.broadcast('epoch', { record: entry, confusion: this.confusion });
  }

  async afterCancelFit(): Promise<void> { this.status = 'stopped'; }

  async afterFit(learn: Learner): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.addedMetric && this.metric) { const i = learn.metrics.indexOf(this.metric); if (i >= 0) learn.metrics.splice(i, 1); }
    this.addedMetric = false;
    if (this.status === 'running' || this.status === 'stopping') this.status = this.status === 'stopping' ? 'stopped' : 'finished';
    this.flush();
    this.server.broadcast('status', { status: this.status });
  }

  /** Sends the batch points gathered since the last flush, and the progress. */
  flush(): void {
    const fresh = this.batches.slice(this.sent);
    this.sent = this.batches.length;
    if (this.server.clientCount === 0) return;
    if (fresh.length) this.server.broadcast('batches', fresh);
    this.server.broadcast('progress', this.progressNow());
  }

  /** Marks the run failed (an error ended it) and tells the page. */
  fail(message: string): void {
    this.status = 'failed';
    this.server.broadcast('status', { status: this.status, message });
  }

  /** Ends the page's event streams and stops the server. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.flush();
    await this.server.close();
  }
}
