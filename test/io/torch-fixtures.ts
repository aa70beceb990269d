/**
 * torch.save files written by Debian's PyTorch for the import tests: seeded torchvision state
 * dicts with per-tensor checksums, odd tensors (views, shared storages, dtypes), the legacy
 * format, wrapped checkpoints and hostile pickles. Generated once into a cache folder keyed by
 * the script, so the test files share them; nothing big is committed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON } from '../helpers/torch.js';

const SCRIPT = String.raw`
import hashlib, io, json, os, pickle, struct, sys, zipfile, argparse
import torch, torchvision
torch.set_num_threads(2)
out, final = sys.argv[1], sys.argv[2]
P = lambda name: os.path.join(out, name)
FINAL = lambda name: os.path.join(final, name)

def checksums(sd):
    res = {}
    for k, t in sd.items():
        c = t.detach().contiguous()
        raw = c.view(torch.int16).numpy().tobytes() if c.dtype == torch.bfloat16 else c.numpy().tobytes()
        res[k] = {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', ''), 'sha256': hashlib.sha256(raw).hexdigest()}
    return res

def calibrated(name, seed, x=None):
    # NOTE: batch statistics from one train-mode pass, and a head scaled so that eval-mode logits
    # on x have standard deviation 2: probabilities far from uniform yet not saturated.
    torch.manual_seed(seed)
    m = getattr(torchvision.models, name)()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d): mod.momentum = 1.0
    m.train()
    with torch.no_grad():
        m(torch.randn(2, 3, 48, 48))
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d): mod.momentum = 0.1
    m.eval()
    if x is None: return m, None
    head = m.fc if hasattr(m, 'fc') else m.classifier[1]
    seen = []
    head.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    with torch.no_grad():
        m(x)
        scale = 2.0 / head(seen[0]).std()
        head.weight.mul_(scale); head.bias.mul_(scale)
        logits = head(seen[0])
    return m, logits

sums = {}
torch.manual_seed(1)
x = torch.randn(1, 3, 224, 224)
open(P('input.bin'), 'wb').write(x.numpy().tobytes())
# A 224x224 PNG of smooth colour gradients and torchvision's preprocessing of it (ToTensor, ImageNet Normalize).
from PIL import Image
yy, xx = torch.meshgrid(torch.arange(224.0), torch.arange(224.0), indexing='ij')
rgb = torch.stack([xx / 223 * 255, yy / 223 * 255, (xx + yy) / 446 * 255 * (0.5 + 0.5 * torch.sin(xx / 17))], 2).round().clamp(0, 255).byte()
Image.fromarray(rgb.numpy(), 'RGB').save(P('input.png'))
t = torchvision.transforms
png_x = t.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(t.ToTensor()(Image.open(P('input.png')).convert('RGB'))).unsqueeze(0)
for seed, name in enumerate(['resnet18', 'resnet34', 'resnet50', 'mobilenet_v2']):
    m, logits = calibrated(name, seed, x)
    sd = m.state_dict()
    torch.save(sd, P(name + '.pth'))
    sums[name] = checksums(sd)
    open(P(name + '-logits.bin'), 'wb').write(logits.numpy().tobytes())
    open(P(name + '-probs.bin'), 'wb').write(torch.softmax(logits, 1).numpy().tobytes())
    with torch.no_grad():
        open(P(name + '-png-probs.bin'), 'wb').write(torch.softmax(m(png_x), 1).numpy().tobytes())

# Odd tensors: views, shared storage, every dtype, a Parameter, 0-d and empty tensors.
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
odd = {
    'transposed': base.t(),
    'shared_full': base,
    'shared_slice': base[1:3, 2:5],
    'shared_strided': base[:, ::2],
    'expanded': torch.tensor([1.5, -2.5, 3.25]).expand(4, 3),
    'f16': torch.tensor([[1.0, -2.5], [65504.0, 0.000061035156]], dtype=torch.float16),
    'bf16': torch.tensor([1.0, -3.140625, 1e30, -1e-30], dtype=torch.bfloat16),
    'f64': torch.tensor([3.141592653589793, -1e-300, 2.0 ** 60], dtype=torch.float64),
    'i64': torch.tensor([-(2 ** 62), 2 ** 53 + 1, -1, 0], dtype=torch.int64),
    'i32': torch.tensor([-(2 ** 31), 2 ** 31 - 1], dtype=torch.int32),
    'i16': torch.tensor([-32768, 32767], dtype=torch.int16),
    'i8': torch.tensor([-128, 127], dtype=torch.int8),
    'u8': torch.tensor([0, 255, 17], dtype=torch.uint8),
    'b': torch.tensor([True, False, True]),
    'param': torch.nn.Parameter(torch.tensor([[0.25, 0.5]])),
    'scalar': torch.tensor(42.5),
    'empty': torch.zeros(0, 3),
}
torch.save(odd, P('odd.pth'))
torch.save(odd, P('odd-legacy.pth'), _use_new_zipfile_serialization=False)
sums['odd'] = checksums(odd)
json.dump({k: (v.detach().float().tolist() if v.dtype in (torch.bfloat16, torch.float16) else v.detach().tolist()) for k, v in odd.items() if k not in ('i64',)}, open(P('odd-values.json'), 'w'))

# A big-endian zip: the same float32 tensors, storages byte-swapped and byteorder 'big'.
be_src = {'w': base.clone(), 'w_t': None}
be_src['w_t'] = be_src['w'].t()
buf = io.BytesIO(); torch.save(be_src, buf)
zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
with zipfile.ZipFile(P('big-endian.pth'), 'w', zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if '/data/' in info.filename:
            data = b''.join(data[i:i + 4][::-1] for i in range(0, len(data), 4))
        zout.writestr(info.filename, data)
    prefix = zin.infolist()[0].filename.split('/')[0]
    zout.writestr(prefix + '/byteorder', 'big')

# Checkpoints wrapping a small state dict, DataParallel prefixes.
small = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4, 2))
sd = small.state_dict()
sums['small'] = checksums(sd)
torch.save(sd, P('small.pth'))
torch.save({'state_dict': sd, 'epoch': 7}, P('ckpt-state_dict.pth'))
opt = torch.optim.Adam(small.parameters())
small(torch.randn(2, 3, 3, 3)).sum().backward(); opt.step()
dp = {'module.' + k: v for k, v in small.state_dict().items()}
sums['small_stepped'] = checksums(small.state_dict())
torch.save({'model': dp, 'optimizer': opt.state_dict(), 'epoch': 3, 'best': 0.91}, P('ckpt-model-dp.pth'))
torch.save({'model_state_dict': sd, 'notes': ['a', 1, None, (2.5, True)]}, P('ckpt-model_state_dict.pth'))
torch.save({'state_dict': sd, 'args': argparse.Namespace(lr=0.1)}, P('ckpt-namespace.pth'))

# Hostile files: each would run 'touch <file>' if unpickled by Python.
class Evil:
    def __init__(self, target): self.target = target
    def __reduce__(self): return (os.system, ('touch ' + self.target,))
# The files they would create are named inside the final folder, which exists when tests run.
torch.save({'conv.weight': torch.zeros(1), 'x': Evil(FINAL('pwned-zip'))}, P('evil.pth'))
torch.save(Evil(FINAL('pwned-legacy')), P('evil-legacy.pth'), _use_new_zipfile_serialization=False)
open(P('evil.pkl'), 'wb').write(pickle.dumps(Evil(FINAL('pwned-pkl'))))
open(P('evil-p2.pkl'), 'wb').write(pickle.dumps(Evil(FINAL('pwned-p2')), protocol=2))

# Zips that are not state dicts.
with zipfile.ZipFile(P('no-data-pkl.pth'), 'w') as z:
    z.writestr('archive/version', '3\n')
    z.writestr('archive/data/0', b'\0' * 16)
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), P('torchscript.pt'))

# Zips whose pickle and records disagree: a view past its storage, a missing or short record.
class BadView:
    def __reduce__(self):
        import collections
        return (torch._utils._rebuild_tensor_v2, (torch.zeros(4).storage(), 2, (3, 2), (2, 1), False, collections.OrderedDict()))
torch.save({'w': BadView()}, P('bad-strides.pth'))
zin = zipfile.ZipFile(P('small.pth'))
for name, edit in [('missing-storage.pth', lambda n, d: None if n.endswith('/data/0') else d),
                   ('short-storage.pth', lambda n, d: d[:5] if n.endswith('/data/0') else d)]:
    with zipfile.ZipFile(P(name), 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None: zout.writestr(info.filename, data)

json.dump(sums, open(P('checksums.json'), 'w'))
`;

/** Paths of the generated files. */
export interface TorchFixtures {
  dir: string;
  /** `<dir>/<name>`. */
  path(name: string): string;
  /** Per-file, per-tensor shape, dtype and SHA-256 of the contiguous bytes, as PyTorch computed them. */
  checksums: Record<string, Record<string, { shape: number[]; dtype: string; sha256: string }>>;
}

let cached: TorchFixtures | undefined;

/** Generates (once per cache key) and returns the fixture files. */
export function torchFixtures(): TorchFixtures {
  if (cached) return cached;
  const key = createHash('sha256').update(SCRIPT).update(PYTHON).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `kestrel-torch-fixtures-${key}`);
  if (!existsSync(join(dir, 'checksums.json'))) {
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      execFileSync(PYTHON, ['-c', SCRIPT, staging, dir], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`generating torch fixtures failed: ${(error as { stderr?: Buffer }).stderr?.toString() ?? String(error)}`);
    }
    // NOTE: complete folders only ever appear by rename, so a parallel run that got there first
    // leaves a usable folder: keep it and drop this one.
    try {
      renameSync(staging, dir);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(join(dir, 'checksums.json'))) throw error;
    }
  }
  cached = {
    dir,
    path: (name) => join(dir, name),
    checksums: JSON.parse(readFileSync(join(dir, 'checksums.json'), 'utf8')),
  };
  return cached;
}
