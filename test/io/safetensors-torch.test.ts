import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, type Tensor, manualSeed, noGrad, rand, tensor, tidy } from '../../src/tensor/index.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/index.js';
import { mnistCnn } from '../../src/vision/simple.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { float16FromBits, rawBytes, tempDir } from './util.js';

// NOTE: there is no `safetensors` Python package here, so the reference side implements the
// format from the spec with struct + json + torch.frombuffer, independently of Kestrel's code.
const PY_SAFETENSORS = `
import struct
ST = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
      'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
ST_NAME = {v: k for k, v in ST.items()}

def st_load(path):
    data = bytearray(open(path, 'rb').read())
    (n,) = struct.unpack('<Q', bytes(data[:8]))
    assert n % 8 == 0, 'header length is a multiple of 8'
    header = json.loads(bytes(data[8:8 + n]).decode('utf-8'))
    meta = header.pop('__metadata__', {})
    tensors, end = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        begin, stop = e['data_offsets']
        assert begin == end, f'{name} starts at {begin}, expected {end}'
        dtype = ST[e['dtype']]
        size = torch.empty((), dtype=dtype).element_size()
        assert (8 + n + begin) % size == 0, f'{name} is not aligned'
        count = (stop - begin) // size
        flat = torch.frombuffer(data, dtype=dtype, count=count, offset=8 + n + begin) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(e['shape'])
        end = stop
    assert 8 + n + end == len(data), 'tensors tile the data section'
    return tensors, meta

def st_save(path, tensors, meta=None):
    names = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header = {'__metadata__': meta} if meta else {}
    blobs, offset = [], 0
    for k in names:
        t = tensors[k].detach().contiguous()
        blob = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b''
        header[k] = {'dtype': ST_NAME[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))

def raw(t):
    return t.contiguous().reshape(-1).view(torch.uint8).clone()
`;

/** The reference reader/writer followed by a script body (dedented here, as the helper dedents the whole). */
function withSafetensors(body: string): string {
  const lines = body.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return PY_SAFETENSORS + lines.map((l) => l.slice(indent)).join('\n');
}

/** Tensors with values both sides can write down exactly (JSON numbers). */
const SPEC: [string, DType, number[], number[]][] = [
  ['w.f32', 'float32', [2, 3], [0.5, -1.25, 3e-3, 1e30, -0, 7]],
  ['w.f64', 'float64', [3], [Math.PI, -1e-300, 2 ** 60]],
  ['idx.i64', 'int64', [2, 2], [-(2 ** 62), 2 ** 53, 0, -1]],
  ['idx.i32', 'int32', [4], [-(2 ** 31), 2 ** 31 - 1, 5, -5]],
  ['idx.i16', 'int16', [3], [-32768, 32767, -2]],
  ['idx.i8', 'int8', [1, 3], [-128, 127, 3]],
  ['img.u8', 'uint8', [2, 2, 1], [0, 255, 17, 200]],
  ['mask', 'bool', [5], [1, 0, 1, 1, 0]],
  ['half', 'float16', [4], [1, -2.5, 0.000061035156, 65504]],
  ['scalar', 'float32', [], [42.5]],
  ['count', 'int64', [], [-3]],
  ['none', 'float32', [0, 5], []],
];

function fromSpec(dtype: DType, shape: number[], values: number[]): Tensor {
  if (dtype === 'float16') return tensor(new Float32Array(values), shape).to('float16');
  if (dtype === 'int64') return tensor(BigInt64Array.from(values, (v) => BigInt(v)), shape);
  const arrays: Partial<Record<DType, (v: number[]) => ArrayBufferView>> = {
    float32: (v) => Float32Array.from(v), float64: (v) => Float64Array.from(v), int32: (v) => Int32Array.from(v),
    int16: (v) => Int16Array.from(v), int8: (v) => Int8Array.from(v), uint8: (v) => Uint8Array.from(v), bool: (v) => Uint8Array.from(v),
  };
  return tensor(arrays[dtype]!(values), shape, { dtype });
}

test('PyTorch reads a file written by Kestrel (values equal, bytes identical)', { skip: skipWithoutTorch() }, () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      const tensors = new Map<string, Tensor>(SPEC.map(([name, dtype, shape, values]) => [name, fromSpec(dtype, shape, values)]));
      const nan = new Float32Array(new Uint32Array([0x7fc00001, 0xffbfffff, 0x00000001, 0x80000000]).buffer);
      tensors.set('odd.f32', tensor(nan, [4]));
      tensors.set('all.f16', float16FromBits(new Uint16Array(1 << 16).map((_, i) => i), [1 << 16]));
      const path = join(dir, 'kestrel.safetensors');
      saveSafetensors(path, tensors, { format: 'pt', producer: 'kestrel' });
      const expected = SPEC.map(([name, dtype, shape, values]) => ({ name, dtype, shape, values }));
      const names = [...tensors.keys()];
      const out = runTorch(withSafetensors(`
        loaded, meta = st_load(${JSON.stringify(path)})
        assert meta == {'format': 'pt', 'producer': 'kestrel'}, meta
        assert sorted(loaded) == sorted(${JSON.stringify(names)}), sorted(loaded)
        TORCH = {'float32': torch.float32, 'float64': torch.float64, 'int64': torch.int64, 'int32': torch.int32,
                 'int16': torch.int16, 'int8': torch.int8, 'uint8': torch.uint8, 'bool': torch.bool, 'float16': torch.float16}
        checked = 0
        for e in json.loads(${JSON.stringify(JSON.stringify(expected))}):
            want = torch.tensor(e['values'], dtype=torch.float64).to(TORCH[e['dtype']]).reshape(e['shape'])
            got = loaded[e['name']]
            assert got.dtype == want.dtype and list(got.shape) == e['shape'], (e['name'], got.dtype, got.shape)
            assert torch.equal(got, want), (e['name'], got, want)
            checked += 1
        assert torch.equal(loaded['all.f16'].view(torch.int16), torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).roll(32768))
        out['checked'] = torch.tensor(checked)
        for i, name in enumerate(${JSON.stringify(names)}):
            out['b%d' % i] = raw(loaded[name])
      `));
      assert.equal(out.checked.item(), SPEC.length);
      names.forEach((name, i) => assert.ok(rawBytes(out[`b${i}`]).equals(rawBytes(tensors.get(name)!)), `${name}: PyTorch sees the same bytes`));
    });
  } finally { cleanup(); }
});

test('Kestrel reads a torchvision state dict written by PyTorch, and a PyTorch mnist-cnn computes the same', { skip: skipWithoutTorch() }, () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      manualSeed(3);
      const x = rand([4, 1, 28, 28]);
      const resnetPath = join(dir, 'resnet18.safetensors');
      const cnnPath = join(dir, 'cnn.safetensors');
      const manifestPath = join(dir, 'expected.json');
      const out = runTorch(withSafetensors(`
        import torchvision
        torch.manual_seed(0)
        sd = torchvision.models.resnet18(num_classes=10).state_dict()
        sd['extra.bf16'] = torch.randn(5, 3).to(torch.bfloat16)
        sd['extra.f16'] = torch.randn(7).half()
        sd['extra.i8'] = torch.randint(-128, 128, (3, 3), dtype=torch.int8)
        sd['extra.i16'] = torch.randint(-32768, 32768, (9,), dtype=torch.int16)
        sd['extra.i32'] = torch.randint(-2**31, 2**31 - 1, (2,), dtype=torch.int32)
        sd['extra.u8'] = torch.randint(0, 256, (2, 2, 3), dtype=torch.uint8)
        sd['extra.bool'] = torch.rand(6) > 0.5
        sd['extra.f64'] = torch.randn(3, dtype=torch.float64)
        sd['extra.empty'] = torch.empty(0, 3)
        sd['extra.scalar'] = torch.tensor(3.5)
        st_save(${JSON.stringify(resnetPath)}, sd, {'format': 'pt'})
        names = sorted(k for k in sd if k != 'extra.bf16')
        json.dump({k: [ST_NAME[v.dtype], list(v.shape)] for k, v in sd.items()}, open(${JSON.stringify(manifestPath)}, 'w'))
        out['all_bytes'] = torch.cat([raw(sd[k]) for k in names])
        out['bf16_as_f32'] = sd['extra.bf16'].float()
        out['nbt'] = sd['bn1.num_batches_tracked']

        nn = torch.nn
        cnn = nn.Sequential(nn.Conv2d(1, 24, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(24, 36, 3, padding='same'),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10)).eval()
        st_save(${JSON.stringify(cnnPath)}, cnn.state_dict())
        with torch.no_grad():
            out['logits'] = cnn(inp['x'])
      `), { x });
      const { tensors, metadata } = loadSafetensors(resnetPath);
      assert.deepEqual(metadata, { format: 'pt' });
      const expected = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, [string, number[]]>;
      assert.equal(tensors.size, Object.keys(expected).length);
      const kestrelDType: Record<string, DType> = { F32: 'float32', F64: 'float64', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool', F16: 'float16', BF16: 'float32' };
      for (const [name, [format, shape]] of Object.entries(expected)) {
        assert.equal(tensors.get(name)!.dtype, kestrelDType[format], name);
        assert.deepEqual(tensors.get(name)!.shape, shape, name);
      }
      const names = Object.keys(expected).filter((k) => k !== 'extra.bf16').sort();
      assert.ok(Buffer.concat(names.map((k) => rawBytes(tensors.get(k)!))).equals(rawBytes(out.all_bytes)), 'every tensor bit-identical');
      assertClose(tensors.get('extra.bf16')!, out.bf16_as_f32, { rtol: 0, atol: 0, label: 'bf16 widened' });
      assert.deepEqual(tensors.get('bn1.num_batches_tracked')!.shape, []);

      const model = mnistCnn(10);
      model.loadStateDict(loadSafetensors(cnnPath).tensors);
      model.eval();
      assertClose(noGrad(() => model.forward(x)), out.logits, { rtol: 1e-5, atol: 1e-5, label: 'mnist-cnn logits' });
      model.dispose();
    });
  } finally { cleanup(); }
});
