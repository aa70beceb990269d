/** Positioned, complete reads from an open file (weight files read tensor by tensor). */
import { openSync, readSync } from 'node:fs';

/** Fills `into` with the file's bytes from `position`; a short file is an error naming `label`. */
export function readExactly(fd: number, into: Uint8Array, position: number, label: string): void {
  let done = 0;
  while (done < into.byteLength) {
    const n = readSync(fd, into, done, into.byteLength - done, position + done);
    if (n === 0) throw new Error(`${label}: unexpected end of file at byte ${position + done} (the file is truncated or changed while being read)`);
    done += n;
  }
}

/** Opens a file for reading; failure is an error "cannot read <label>: <reason>". */
export function openForReading(path: string, label: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    throw new Error(`cannot read ${label}: ${(error as Error).message}`, { cause: error });
  }
}
