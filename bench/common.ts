/** Shared helpers of the benchmark workers: process memory, argument parsing and result output. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Resident and peak resident memory of this process in MiB (from /proc/self/status). */
export function processMemory(): { rssMb: number; peakRssMb: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rssMb: field('VmRSS'), peakRssMb: field('VmHWM') };
}

let loadPeakMb = 0;

/**
 * Resets the kernel's peak-RSS counter (VmHWM) so later peaks measure training and inference
 * only, not data loading; remembers the earlier peak for the whole-process figure.
 */
export function resetPeakRss(): void {
  loadPeakMb = Math.max(loadPeakMb, processMemory().peakRssMb);
  writeFileSync('/proc/self/clear_refs', '5');
}

/** Reads `--name value` / `--name=value` options (numbers) from argv, with defaults. */
export function numberArgs<T extends Record<string, number>>(defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-zA-Z]+)(?:=(.*))?$/.exec(argv[i]);
    if (!match || !(match[1] in defaults)) throw new Error(`bench: unknown option ${argv[i]} (known: ${Object.keys(defaults).join(', ')})`);
    const value = Number(match[2] ?? argv[++i]);
    if (!Number.isFinite(value)) throw new Error(`bench: --${match[1]} needs a number`);
    out[match[1]] = value;
  }
  return out as T;
}

/** Prints a worker's result as one `RESULT {json}` line for bench/run.ts to pick up. */
export function report(result: Record<string, unknown>): void {
  const cpu = process.cpuUsage();
  const mem = processMemory();
  console.log(`RESULT ${JSON.stringify({ ...result, ...mem, processPeakRssMb: Math.max(loadPeakMb, mem.peakRssMb), cpuSeconds: (cpu.user + cpu.system) / 1e6 })}`);
}

/** Seconds since `start` (a performance.now() value). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/**
 * Samples/s of a typical step: batch / median step time. Robust to bursts of load from other
 * processes on a shared machine, unlike wall time over the whole run.
 */
export function stepRate(stepMs: number[], batch: number): number {
  if (stepMs.length === 0) return NaN;
  const sorted = [...stepMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return (batch * 1000) / median;
}

/** Splits markdown into the text before the first `## ` heading and its `## ` sections (heading line first). */
export function markdownSections(text: string): { head: string; sections: string[] } {
  const [head, ...sections] = text.split(/\n(?=## )/);
  return { head, sections: sections.map((section) => section.trimEnd()) };
}

/** The heading line of a section from {@link markdownSections}. */
export function sectionHeading(section: string): string {
  return section.split('\n', 1)[0];
}

/** Joins a head and sections back into markdown, one blank line apart, ending in a newline. */
export function joinSections(head: string, sections: string[]): string {
  return `${[head.trimEnd(), ...sections].join('\n\n')}\n`;
}

/** Replaces (or appends) the section under `heading` in the markdown file at `path`, keeping the others. */
export function writeSection(path: string, heading: string, text: string): void {
  const { head, sections } = markdownSections(existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n');
  const at = sections.findIndex((s) => sectionHeading(s) === heading);
  if (at < 0) sections.push(text.trimEnd());
  else sections[at] = text.trimEnd();
  writeFileSync(path, joinSections(head, sections));
}

/** The middle value (upper median for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs a worker process (cwd `cwd`, extra `env`) and parses its `RESULT {json}` line. */
export function runResult<T>(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): T {
  const child = spawnSync(command, args, { cwd: options.cwd, encoding: 'utf8', maxBuffer: 16 * 2 ** 20, env: { ...process.env, ...options.env } });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) throw new Error(`${command} ${args.join(' ')} failed (${child.status}):\n${child.stderr}`);
  return JSON.parse(line.slice(7)) as T;
}
