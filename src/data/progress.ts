/** Download progress: a redrawn bar with bytes, rate and ETA on a TTY, sparse plain lines otherwise. */

/** One progress report of a download. */
export interface DownloadProgress {
  /** The URL being fetched (after redirects). */
  url: string;
  /** Bytes of the file present so far (including bytes resumed from an earlier attempt). */
  received: number;
  /** The full size when the server said it, else undefined. */
  total?: number;
  /** Bytes that were already on disk when this attempt started (0 for a fresh download). */
  resumedFrom: number;
  /** True for the last report of a finished transfer. */
  done: boolean;
}

/** Where a progress display writes: a stream with an optional TTY flag (process.stderr fits). */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Options of {@link progressPrinter}. */
export interface ProgressPrinterOptions {
  /** Force the TTY bar or the plain lines (default: the sink's isTTY). */
  tty?: boolean;
  /** Width of the bar in characters (default 28). */
  barWidth?: number;
  /** Clock in milliseconds (tests pass a fake one). */
  now?: () => number;
}

/** Human-readable byte count with binary units: `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * An `onProgress` callback that draws progress for `label` on `sink`: on a TTY a bar redrawn in
 * place at most 10 times a second; otherwise one line per 10% (or per 30 s without a total).
 */
export function progressPrinter(label: string, sink: ProgressSink = process.stderr, options: ProgressPrinterOptions = {}): (progress: DownloadProgress) => void {
  const tty = options.tty ?? sink.isTTY === true;
  const now = options.now ?? Date.now;
  const width = options.barWidth ?? 28;
  const start = now();
  let lastDraw = -Infinity;
  let lastStep = -1;
  return (p) => {
    const elapsed = Math.max((now() - start) / 1000, 1e-3);
    const rate = (p.received - p.resumedFrom) / elapsed;
    const fraction = p.total ? Math.min(p.received / p.total, 1) : undefined;
    const eta = p.total && rate > 0 ? (p.total - p.received) / rate : NaN;
    const amount = p.total ? `${formatBytes(p.received)} / ${formatBytes(p.total)}` : formatBytes(p.received);
    if (tty) {
      if (!p.done && now() - lastDraw < 100) return;
      lastDraw = now();
      const filled = fraction === undefined ? 0 : Math.round(fraction * width);
      const bar = fraction === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
      const tail = p.done ? `in ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`;
      sink.write(`\r${label} ${bar}${amount} ${formatBytes(rate)}/s ${tail}\x1b[K${p.done ? '\n' : ''}`);
      return;
    }
    // NOTE: logs (CI, files) get few lines: every 10% with a total, every 30 s without one.
    const step = fraction !== undefined ? Math.floor(fraction * 10) : Math.floor(elapsed / 30);
    if (!p.done && step === lastStep) return;
    lastStep = step;
    const percent = fraction === undefined ? '' : `${(fraction * 100).toFixed(0)}% `;
    const resumed = p.resumedFrom > 0 ? ` (resumed at ${formatBytes(p.resumedFrom)})` : '';
    sink.write(`${label}: ${percent}${amount}, ${formatBytes(rate)}/s${p.done ? ', done' : ''}${resumed}\n`);
  };
}
