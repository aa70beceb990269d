/** Rich output in a Jupyter notebook: MIME bundles, the display protocol, and the running kernel's display functions. */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

/**
 * What a notebook can show: MIME type to content (`image/png` as base64, `image/svg+xml`, `text/html`
 * and `text/plain` as text), Jupyter's display-data format.
 */
export type MimeBundle = Partial<Record<'image/png' | 'image/jpeg' | 'image/gif' | 'image/svg+xml' | 'text/html' | 'text/markdown' | 'text/plain', string>>;

/**
 * The display protocol: an object with this method shows itself in a notebook. It is the symbol Deno's
 * Jupyter kernel uses (`Symbol.for('Jupyter.display')`), so Kestrel's figures and tables display there too.
 */
export const DISPLAY: unique symbol = Symbol.for('Jupyter.display') as never;

/** An object that knows its notebook representation. */
export interface Displayable {
  [DISPLAY](): MimeBundle;
}

/** Whether `value` follows the display protocol. */
export function isDisplayable(value: unknown): value is Displayable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Displayable>)[DISPLAY] === 'function';
}

/** One output area that can be replaced in place (a live progress table). */
export interface LiveOutput {
  /** Shows `bundle` (the first call) or replaces what this output shows (later calls). */
  update(bundle: MimeBundle): void;
}

/** The display functions of the kernel running this process. */
export interface NotebookHost {
  /** The kernel's name, e.g. `tslab`. */
  readonly name: string;
  /** Shows a bundle as a new output of the running cell. */
  display(bundle: MimeBundle): void;
  /** A new output area that later calls replace. */
  live(): LiveOutput;
}

/** The structural part of tslab's public module that Kestrel uses. */
interface TslabDisplay {
  raw(contentType: string, data: string | Uint8Array): void;
}
interface TslabModule {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

// NOTE: tslab sends one MIME type per message, so the richest type a bundle has is chosen, in this order.
const PREFERENCE = ['text/html', 'image/png', 'image/svg+xml', 'image/jpeg', 'image/gif', 'text/markdown', 'text/plain'] as const;

/** The MIME type of `bundle` a single-type kernel shows, and its content. */
export function preferredMime(bundle: MimeBundle): [string, string] {
  for (const type of PREFERENCE) {
    const data = bundle[type];
    if (data !== undefined) return [type, data];
  }
  return ['text/plain', ''];
}

/** Adapts tslab's module to a NotebookHost. */
export function tslabHost(tslab: TslabModule): NotebookHost {
  const send = (target: TslabDisplay, bundle: MimeBundle) => {
    const [type, data] = preferredMime(bundle);
    target.raw(type, data);
  };
  return {
    name: 'tslab',
    display: (bundle) => send(tslab.display, bundle),
    live: () => {
      const output = tslab.newDisplay();
      return { update: (bundle) => send(output, bundle) };
    },
  };
}

/**
 * tslab's module when this process is a tslab kernel (started as `tslab kernel ...`), loaded from the
 * kernel's own installation; undefined otherwise.
 */
function findTslab(argv: readonly string[]): TslabModule | undefined {
  const script = argv[1];
  if (!script || !argv.slice(2).includes('kernel')) return undefined;
  let real: string;
  try { real = realpathSync(script); } catch { return undefined; }
  // NOTE: the kernel is started through tslab's bin/tslab; its package root is the folder above. Loading it
  // from there (not by name from Kestrel's folder) finds the very module the kernel runs, so output goes to
  // the current cell. Kestrel never depends on tslab: outside such a kernel nothing is loaded.
  if (basename(real) !== 'tslab' || basename(dirname(real)) !== 'bin') return undefined;
  try {
    const candidate = createRequire(real)(join(dirname(real), '..')) as Partial<TslabModule>;
    if (typeof candidate.display?.raw === 'function' && typeof candidate.newDisplay === 'function') return candidate as TslabModule;
  } catch {
    return undefined;
  }
  return undefined;
}

let detected: NotebookHost | null | undefined;
let override: NotebookHost | null | undefined;

/**
 * The notebook kernel this process runs in (tslab), or undefined in a terminal, a script or a test.
 * `setNotebookHost` replaces what is detected.
 */
export function notebookHost(): NotebookHost | undefined {
  if (override !== undefined) return override ?? undefined;
  if (detected === undefined) {
    const tslab = findTslab(process.argv);
    detected = tslab ? tslabHost(tslab) : null;
  }
  return detected ?? undefined;
}

/**
 * Sets the notebook host by hand: another kernel's adapter, a recorder in tests, `null` for "not a
 * notebook", or `undefined` to go back to detection.
 */
export function setNotebookHost(host: NotebookHost | null | undefined): void {
  override = host;
}
