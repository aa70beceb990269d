/**
 * A self-contained HTML report: one file, no scripts, no network; pictures inline as data URIs and every piece
 * of text from data (class names, file names, commands) escaped. Sections are built with the helpers below.
 */
import { FONT } from './specs.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** One section of a report (its `html` built with the helpers of this module). */
export interface ReportSection {
  id: string;
  title: string;
  html: string;
}

/** What a report shows. */
export interface ReportData {
  title: string;
  subtitle?: string;
  sections: ReportSection[];
  /** Footer line, e.g. the generator and its version. */
  footer?: string;
}

/** A table cell: text, a number (shown with `digits`), or raw HTML made by these helpers. */
export type Cell = string | number | null | { number: number; digits?: number } | { html: string };

function cell(value: Cell): string {
  if (value === null) return '<td>–</td>';
  if (typeof value === 'number') return `<td class="num" data-value="${value}">${Number.isFinite(value) ? (Number.isInteger(value) ? String(value) : value.toFixed(4)) : '–'}</td>`;
  if (typeof value === 'string') return `<td>${escapeHtml(value)}</td>`;
  if ('html' in value) return `<td>${value.html}</td>`;
  return `<td class="num" data-value="${value.number}">${Number.isFinite(value.number) ? value.number.toFixed(value.digits ?? 4) : '–'}</td>`;
}

/** An HTML table (header texts escaped, cells as {@link Cell}). */
export function htmlTable(headers: readonly string[], rows: readonly (readonly Cell[])[], options: { id?: string } = {}): string {
  const head = `<tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  return `<table${options.id ? ` id="${escapeHtml(options.id)}"` : ''}><thead>${head}</thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

/** A PNG (or SVG text) inline as a data-URI image. */
export function htmlImage(picture: Buffer | string, alt: string, options: { width?: number } = {}): string {
  const uri = typeof picture === 'string' ? `data:image/svg+xml;base64,${Buffer.from(picture).toString('base64')}` : `data:image/png;base64,${picture.toString('base64')}`;
  return `<img src="${uri}" alt="${escapeHtml(alt)}"${options.width ? ` style="max-width:${options.width}px"` : ''}>`;
}

/** Preformatted text. */
export function htmlPre(text: string): string { return `<pre>${escapeHtml(text)}</pre>`; }

/** A paragraph of text. */
export function htmlText(text: string, className?: string): string { return `<p${className ? ` class="${escapeHtml(className)}"` : ''}>${escapeHtml(text)}</p>`; }

/** A sub-heading. */
export function htmlHeading(text: string): string { return `<h3>${escapeHtml(text)}</h3>`; }

const STYLE = `
body{margin:0;font:14px/1.5 ${FONT};color:#222;background:#f6f7f9}
header{padding:18px 32px;background:#fff;border-bottom:1px solid #e5e5e5}
h1{margin:0;font-size:22px}h2{font-size:18px;margin:0 0 12px}h3{font-size:15px;margin:18px 0 8px}
.sub{color:#666;margin:4px 0 0}
nav{padding:8px 32px;background:#fff;border-bottom:1px solid #e5e5e5;font-size:13px}nav a{margin-right:14px;color:#1f77b4;text-decoration:none}
main{padding:18px 32px;max-width:1200px}
section{background:#fff;border:1px solid #e5e5e5;border-radius:6px;padding:16px 20px;margin-bottom:18px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:6px 0}
th,td{padding:4px 12px;border-bottom:1px solid #e5e5e5;text-align:left}td.num{text-align:right}th{color:#666;font-weight:600}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f7f9;padding:8px 10px;border-radius:4px;font-size:13px}
img{max-width:100%;height:auto;display:block;margin:8px 0}
.muted{color:#666}footer{padding:0 32px 24px;color:#888;font-size:12px}
`;

/** The whole report as one HTML document. */
export function renderReport(data: ReportData): string {
  const nav = data.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join('');
  const sections = data.sections.map((s) => `<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>\n${s.html}\n</section>`).join('\n');
  // NOTE: the policy forbids every script and every network fetch; only inline styles and data: images load.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(data.title)}</h1>${data.subtitle ? `<p class="sub">${escapeHtml(data.subtitle)}</p>` : ''}</header>
<nav>${nav}</nav>
<main>
${sections}
</main>
<footer>${escapeHtml(data.footer ?? '')}</footer>
</body>
</html>
`;
}
