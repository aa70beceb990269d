// Kestrel's charts in the browser: the same Vega-Lite specs as the PNGs (served from /lib/specs.js), drawn by
// Vega with its expression interpreter (no eval, so the page runs under a strict Content-Security-Policy).
import { expressionInterpreter } from '/lib/vega-interpreter.js';

/** Draws a Vega-Lite spec into `element`; resolves to the Vega view. */
export async function mountChart(element, spec) {
  const compiled = window.vegaLite.compile(spec).spec;
  const view = new window.vega.View(window.vega.parse(compiled, null, { ast: true }), { expr: expressionInterpreter, renderer: 'svg', container: element, hover: false });
  await view.runAsync();
  return view;
}

/** Replaces (`reset`) or extends the rows of a named dataset of a view. */
export async function setRows(view, name, rows, reset = false) {
  const changes = window.vega.changeset().insert(rows);
  if (reset) changes.remove(() => true);
  await view.change(name, changes).runAsync();
}

/** Chart width that fits `element`. */
export function widthOf(element) {
  return Math.max(320, Math.floor(element.getBoundingClientRect().width) - 8);
}

/** "1:05:03" / "4:07" from seconds. */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds); const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60); const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** A table cell showing `value` rounded, with the exact number in data-value (what tests compare). */
export function numberCell(value, digits = 4) {
  const td = document.createElement('td');
  td.dataset.value = value === null || value === undefined ? '' : String(value);
  td.textContent = typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
  return td;
}

/** A table cell with text (never parsed as HTML). */
export function textCell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}
