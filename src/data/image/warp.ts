/** Pixel work done in JS on uint8 HWC buffers: projective warps (bilinear, reflection padding) and brightness/contrast. */

/** A 3x3 matrix, row-major. */
export type Matrix3 = [number, number, number, number, number, number, number, number, number];

/** Product a * b of 3x3 matrices. */
export function multiply3(a: Matrix3, b: Matrix3): Matrix3 {
  const out = new Array<number>(9) as Matrix3;
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  }
  return out;
}

/** Solves the 8x8 system A x = b in place (Gaussian elimination with partial pivoting). */
function solve8(a: number[][], b: number[]): number[] {
  const n = 8;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [b[col], b[pivot]] = [b[pivot], b[col]];
    for (let r = col + 1; r < n; r++) {
      const f = a[r][col] / a[col][col];
      for (let k = col; k < n; k++) a[r][k] -= f * a[col][k];
      b[r] -= f * b[col];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

/**
 * The homography taking the corners of the square [-1, 1]^2 (top-left, top-right, bottom-right, bottom-left)
 * to the same corners moved by `offsets` (8 numbers: dx, dy per corner).
 */
export function homographyFromCorners(offsets: number[]): Matrix3 {
  const from = [[-1, -1], [1, -1], [1, 1], [-1, 1]];
  const a: number[][] = [];
  const b: number[] = [];
  from.forEach(([x, y], i) => {
    const u = x + offsets[2 * i]; const v = y + offsets[2 * i + 1];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.push(u);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y]); b.push(v);
  });
  const h = solve8(a, b);
  return [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1];
}

function reflect(i: number, n: number): number {
  // NOTE: reflection about pixel edges (…2 1 0 | 0 1 2…), like grid_sample's 'reflection' padding.
  if (n === 1) return 0;
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/** Samples an outWidth x outHeight image from `source` (HWC uint8) through `matrix` (output pixel -> source pixel). */
export function warpImage(source: Uint8Array, width: number, height: number, channels: number, matrix: Matrix3, outWidth: number, outHeight: number): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight * channels);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = matrix;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const w = m6 * x + m7 * y + m8;
      const sx = (m0 * x + m1 * y + m2) / w;
      const sy = (m3 * x + m4 * y + m5) / w;
      const x0 = Math.floor(sx); const y0 = Math.floor(sy);
      const ax = sx - x0; const ay = sy - y0;
      const inside = x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height;
      const xa = inside ? x0 : reflect(x0, width); const xb = inside ? x0 + 1 : reflect(x0 + 1, width);
      const ya = inside ? y0 : reflect(y0, height); const yb = inside ? y0 + 1 : reflect(y0 + 1, height);
      const p00 = (ya * width + xa) * channels; const p01 = (ya * width + xb) * channels;
      const p10 = (yb * width + xa) * channels; const p11 = (yb * width + xb) * channels;
      for (let c = 0; c < channels; c++) {
        const top = source[p00 + c] + (source[p01 + c] - source[p00 + c]) * ax;
        const bottom = source[p10 + c] + (source[p11 + c] - source[p10 + c]) * ax;
        out[o++] = top + (bottom - top) * ay + 0.5;
      }
    }
  }
  return out;
}

/** Brightness (multiply) then contrast (blend with the mean), torchvision ColorJitter style; in place through a lookup table. */
export function adjustColour(data: Uint8Array, brightness: number, contrast: number): void {
  if (brightness === 1 && contrast === 1) return;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  const mean = (sum / Math.max(1, data.length)) * brightness;
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const value = (v * brightness - mean) * contrast + mean;
    table[v] = Math.max(0, Math.min(255, Math.round(value)));
  }
  for (let i = 0; i < data.length; i++) data[i] = table[data[i]];
}
