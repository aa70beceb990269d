/** Training progress as one live HTML output in a notebook: the epoch table so far and a bar for the running phase. */
import type { LiveOutput, MimeBundle } from './notebook.js';

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** The bar of the running phase. */
export interface PhaseState {
  /** e.g. `epoch 2/5 train`. */
  label: string;
  done: number;
  total: number;
  elapsedSeconds: number;
  /** Extra text after the counts, e.g. the running loss. */
  comment?: string;
}

/** Seconds as `m:ss`. */
function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The HTML of the progress output (fastai's look: a table with one row per epoch, then a `<progress>` bar
 * with counts, elapsed<remaining time and a comment); the plain-text twin goes in `text/plain`.
 */
export function progressBundle(columns: readonly string[], rows: readonly string[][], phase?: PhaseState): MimeBundle {
  const head = columns.map((c) => `<th style="text-align:left;padding:2px 10px">${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td style="text-align:left;padding:2px 10px">${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  const parts = [`<table class="kestrel-progress" style="border-collapse:collapse"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`];
  const lines = [columns.map((c) => c.padEnd(11)).join('').trimEnd(), ...rows.map((r) => r.map((c) => c.padEnd(11)).join('').trimEnd())];
  if (phase) {
    const eta = phase.done > 0 ? (phase.elapsedSeconds / phase.done) * (phase.total - phase.done) : NaN;
    const status = `${phase.label} ${phase.done}/${phase.total} [${clock(phase.elapsedSeconds)}<${clock(eta)}]${phase.comment ? ` ${phase.comment}` : ''}`;
    parts.push(`<div><progress value="${phase.done}" max="${Math.max(1, phase.total)}" style="width:300px;vertical-align:middle"></progress> ${escapeHtml(status)}</div>`);
    lines.push(status);
  }
  return { 'text/html': `<div>${parts.join('')}</div>`, 'text/plain': lines.join('\n') };
}

/** Redraws a progress bundle into one live output at most every `intervalMs` (forced draws always go out). */
export class LiveProgress {
  private last = -Infinity;

  /** A view drawing into `output`. */
  constructor(private readonly output: LiveOutput, private readonly intervalMs = 250, private readonly now: () => number = () => performance.now()) {}

  /** Draws unless the last draw was less than the interval ago; `force` draws anyway. */
  draw(bundle: () => MimeBundle, force = false): void {
    const t = this.now();
    if (!force && t - this.last < this.intervalMs) return;
    this.last = t;
    this.output.update(bundle());
  }
}
