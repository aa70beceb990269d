/** Running benchmark worker processes: waiting for an idle machine, and measuring the load of other processes. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Busy and total jiffies of all CPUs (first line of /proc/stat). */
export function cpuJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Waits (up to `maxSeconds`) until other processes use under 0.15 cores over one second; returns whether they did. */
export function waitForQuiet(maxSeconds: number): boolean {
  const deadline = performance.now() + maxSeconds * 1000;
  while (performance.now() < deadline) {
    const before = cpuJiffies();
    spawnSync('sleep', ['1']);
    if (cpuJiffies().busy - before.busy < 15) return true;
  }
  return false;
}

/** Runs one worker process; returns its `RESULT {json}` line plus the CPU other processes used meanwhile (cores). */
export function runWorker<T extends { cpuSeconds: number }>(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): T & { otherCores: number } {
  const ticks = 100; // NOTE: USER_HZ is 100 on Linux.
  const before = cpuJiffies();
  const start = performance.now();
  const child = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const wall = (performance.now() - start) / 1000;
  const after = cpuJiffies();
  const line = child.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) {
    throw new Error(`bench: ${command} ${args.join(' ')} failed (exit ${child.status}):\n${child.stderr}\n${child.stdout}`);
  }
  const result = JSON.parse(line.slice('RESULT '.length)) as T;
  const otherCores = Math.max(0, (after.busy - before.busy) / ticks - result.cpuSeconds) / wall;
  return { ...result, otherCores };
}
