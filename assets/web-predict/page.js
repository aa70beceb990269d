// Kestrel's exported classifier in the browser: the same preprocessing as `kestrel predict` (flatten alpha on
// white, centre crop / squish / pad, antialiased bilinear resize, /255, normalise), then onnxruntime-web.
const $ = (id) => document.getElementById(id);
const status = (text, error = false) => { $('status').textContent = text; $('status').className = error ? 'error' : ''; };

const meta = await (await fetch('model.json')).json();
const [channels, height, width] = meta.inputShape;
ort.env.wasm.wasmPaths = './';
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create('model.onnx', { executionProviders: ['wasm'] });
$('about').textContent = `${meta.name}: ${meta.classes.length} classes, ${channels}x${height}x${width} input. Nothing leaves this page.`;

/** The region kept in 'crop' mode (Kestrel's aspectCropRect, centred). */
function cropRect(w, h, outW, outH, fraction) {
  const aspect = outW / outH;
  let cw = w / h > aspect ? h * aspect : w;
  let ch = w / h > aspect ? h : w / aspect;
  cw = Math.max(1, Math.min(w, Math.round(cw * fraction)));
  ch = Math.max(1, Math.min(h, Math.round(ch * fraction)));
  return { left: Math.round((w - cw) * 0.5), top: Math.round((h - ch) * 0.5), width: cw, height: ch };
}

/**
 * One pass of Kestrel's resize (native/image.cc): an antialiased triangle filter (PIL's bilinear) mapping source
 * interval [from, from + length) of one axis onto outLen pixels, taps clamped to the image, float32 weights and
 * sums, rounded to bytes after each pass. Math.fround keeps every step in float32, so the bytes equal Kestrel's.
 */
function resampleAxis(src, srcW, srcH, bands, outLen, horizontal, from, length) {
  const f = Math.fround;
  const inSize = horizontal ? srcW : srcH;
  const outW = horizontal ? outLen : srcW;
  const outH = horizontal ? srcH : outLen;
  const out = new Uint8ClampedArray(outW * outH * bands);
  const scale = length / outLen;
  const support = Math.max(scale, 1);
  const across = horizontal ? srcH : srcW;
  for (let o = 0; o < outLen; o++) {
    const centre = from + (o + 0.5) * scale;
    const lo = Math.max(Math.floor(centre - support + 0.5), 0);
    const hi = Math.min(Math.floor(centre + support + 0.5), inSize);
    const weights = [];
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      weights.push(f(w));
      total += w;
    }
    if (total > 0) for (let k = 0; k < weights.length; k++) weights[k] = f(weights[k] / total);
    for (let a = 0; a < across; a++) {
      for (let b = 0; b < bands; b++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) {
          const i = lo + k;
          const idx = horizontal ? (a * srcW + i) * bands + b : (i * srcW + a) * bands + b;
          sum = f(sum + f(weights[k] * src[idx]));
        }
        const dst = horizontal ? (a * outW + o) * bands + b : (o * outW + a) * bands + b;
        out[dst] = Math.min(255, Math.max(0, Math.trunc(f(sum + 0.5))));
      }
    }
  }
  return out;
}

/** RGBA pixels -> the model's input tensor, as Kestrel's bundle preprocessing does. */
function preprocess(rgba, w, h) {
  const bands = channels;
  const pixels = new Uint8ClampedArray(w * h * bands);
  for (let i = 0; i < w * h; i++) {
    const a = rgba[i * 4 + 3] / 255;
    const [r, g, b] = [0, 1, 2].map((c) => rgba[i * 4 + c] * a + 255 * (1 - a));
    if (bands === 1) pixels[i] = r === g && g === b ? r : Math.round(0.2126 * r + 0.7152 * g + 0.0722 * b);
    else { pixels[i * 3] = r; pixels[i * 3 + 1] = g; pixels[i * 3 + 2] = b; }
  }
  const mode = meta.preprocess?.resize ?? 'crop';
  let region = { left: 0, top: 0, width: w, height: h };
  let targetW = width; let targetH = height;
  if (mode === 'crop') region = cropRect(w, h, width, height, meta.preprocess?.cropFraction ?? 1);
  if (mode === 'pad') {
    const s = Math.min(width / w, height / h);
    targetW = Math.max(1, Math.round(w * s)); targetH = Math.max(1, Math.round(h * s));
  }
  // NOTE: both passes always run; a pass at scale 1 on whole pixels is exactly the identity.
  let img = resampleAxis(pixels, w, h, bands, targetW, true, region.left, region.width);
  img = resampleAxis(img, targetW, h, bands, targetH, false, region.top, region.height);
  const cur = { w: targetW, h: targetH };
  const x = new Float32Array(channels * height * width);
  const offX = Math.floor((width - cur.w) / 2); const offY = Math.floor((height - cur.h) / 2);
  const mean = meta.normalize?.mean ?? new Array(channels).fill(0);
  const std = meta.normalize?.std ?? new Array(channels).fill(1);
  for (let c = 0; c < channels; c++) {
    for (let yy = 0; yy < height; yy++) {
      for (let xx = 0; xx < width; xx++) {
        const sx = xx - offX; const sy = yy - offY;
        const v = sx >= 0 && sy >= 0 && sx < cur.w && sy < cur.h ? img[(sy * cur.w + sx) * bands + c] : 0;
        x[c * height * width + yy * width + xx] = (v / 255 - mean[c]) / std[c];
      }
    }
  }
  return x;
}

async function classify(file) {
  try {
    status(`Reading ${file.name}...`);
    const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = canvas.getContext('2d', { willReadFrequently: true });
    g.drawImage(bitmap, 0, 0);
    const { data } = g.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' });
    const input = new ort.Tensor('float32', preprocess(data, bitmap.width, bitmap.height), [1, channels, height, width]);
    const { logits } = await session.run({ input });
    const max = Math.max(...logits.data);
    const exps = Array.from(logits.data, (v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    const ranked = exps.map((e, i) => [e / sum, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    const rows = $('top');
    rows.replaceChildren();
    for (const [p, i] of ranked) {
      const tr = document.createElement('tr');
      const name = document.createElement('td'); name.className = 'label'; name.textContent = meta.classes[i];
      const prob = document.createElement('td'); prob.className = 'p'; prob.textContent = p.toFixed(3);
      const barCell = document.createElement('td'); const bar = document.createElement('div'); bar.className = 'bar'; bar.style.width = `${Math.round(p * 120)}px`; barCell.append(bar);
      tr.append(name, prob, barCell);
      rows.append(tr);
    }
    const preview = $('preview').getContext('2d');
    preview.clearRect(0, 0, 160, 160);
    const s = Math.min(160 / bitmap.width, 160 / bitmap.height);
    preview.drawImage(bitmap, (160 - bitmap.width * s) / 2, (160 - bitmap.height * s) / 2, bitmap.width * s, bitmap.height * s);
    $('result').hidden = false;
    status(`${file.name}: ${meta.classes[ranked[0][1]]} (${ranked[0][0].toFixed(3)})`);
  } catch (error) {
    status(`Could not classify ${file.name}: ${error.message}`, true);
  }
}

const drop = $('drop');
drop.addEventListener('click', () => $('file').click());
drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') $('file').click(); });
$('file').addEventListener('change', () => { if ($('file').files[0]) void classify($('file').files[0]); });
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer.files[0];
  if (file) void classify(file);
});
document.body.dataset.ready = 'true';
status('Ready.');
