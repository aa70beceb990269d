/** Test helper: runs the built `kestrel` command in a child process. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI entry point (bin/kestrel.js at the package root). */
export const KESTREL_BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));

/** Runs `kestrel ...args` and returns its exit code and output. */
export function kestrel(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [KESTREL_BIN, ...args], { encoding: 'utf8', timeout: 600000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
