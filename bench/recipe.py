"""The Kestrel small-image recipe in idiomatic PyTorch (the twin of `kestrel train fashion-mnist`).

Same architecture (SmallResNet: ResNet-9 style, module names as Kestrel's), same batch augmentation
(random crop with 2 px black padding, horizontal flip, random erasing p 0.5 of 2-25% of the image,
filled with the mean), AdamW (lr 4e-3, weight decay 0.05) with fastai's one-cycle (25% cosine warm-up
from lr/25, cosine down to lr/1e4, beta1 0.95-0.85-0.95), label smoothing 0.1, batches of 256,
bfloat16 autocast with channels-last where the CPU has it, validation after every epoch, flip-TTA at
the end. Prints `EPOCH {json}` after each epoch and `RESULT {json}` at the end.

Run with /usr/bin/python3 bench/recipe.py [--preset fast|best] [--epochs N] [--seed S] [--threads T]
[--train-samples N] [--precision auto|fp32|bf16].
"""
import argparse, gzip, json, math, os, time
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

START = time.perf_counter()
FASHION_DIR = os.environ.get('KESTREL_FASHION_DIR', '/usr/share/datasets/fashion-mnist')
PRESETS = {'fast': {'widths': (32, 64, 128), 'epochs': 20}, 'best': {'widths': (64, 128, 256), 'epochs': 30}}
BATCH, LR, WD, SMOOTHING, PADDING, ERASING = 256, 4e-3, 0.05, 0.1, 2, 0.5


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = ConvBnRelu(c, c)
        self.b = ConvBnRelu(c, c)

    def forward(self, x):
        return x + self.b(self.a(x))


class SmallResNet(nn.Module):
    """Kestrel's SmallResNet (src/vision/small-resnet.ts): same layers, order, names and default init."""

    def __init__(self, num_classes=10, in_channels=1, widths=(32, 64, 128)):
        super().__init__()
        w1, w2, w3 = widths
        self.stem = ConvBnRelu(in_channels, w1)
        self.pool1 = nn.MaxPool2d(2)
        self.res1 = Residual(w1)
        self.conv2 = ConvBnRelu(w1, w2)
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = ConvBnRelu(w2, w3)
        self.pool3 = nn.MaxPool2d(2)
        self.res3 = Residual(w3)
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(w3, num_classes)

    def forward(self, x):
        h = self.res1(self.pool1(self.stem(x)))
        h = self.pool2(self.conv2(h))
        h = self.res3(self.pool3(self.conv3(h)))
        return self.fc(self.pool(h).flatten(1))


def augment(x, g, fill):
    """Random crop (padding PADDING, fill), flip and erasing per sample, with a few ops per batch."""
    n, c, h, w = x.shape
    p = PADDING
    padded = F.pad(x, (p, p, p, p), value=fill)
    dy = torch.randint(0, 2 * p + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * p + 1, (n,), generator=g)
    flip = torch.rand(n, generator=g) < 0.5
    cols = torch.arange(w).expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + dx[:, None]
    rows = torch.arange(h)[None] + dy[:, None]
    out = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * p)).gather(3, cols[:, None, None, :].expand(n, c, h, w))
    erase = torch.rand(n, generator=g) < ERASING
    area = (0.02 + torch.rand(n, generator=g) * 0.23) * h * w
    ratio = torch.exp(math.log(0.3) + torch.rand(n, generator=g) * (math.log(3.3) - math.log(0.3)))
    eh = (area * ratio).sqrt().round().clamp(1, h).long()
    ew = (area / ratio).sqrt().round().clamp(1, w).long()
    top = (torch.rand(n, generator=g) * (h - eh + 1)).floor().long()
    left = (torch.rand(n, generator=g) * (w - ew + 1)).floor().long()
    r = torch.arange(h)[None]
    k = torch.arange(w)[None]
    inside = ((r >= top[:, None]) & (r < (top + eh)[:, None]))[:, None, :, None] & ((k >= left[:, None]) & (k < (left + ew)[:, None]))[:, None, None, :]
    return torch.where(inside & erase[:, None, None, None], torch.zeros(()), out)


def one_cycle(pos, lr_max):
    """fastai's fit_one_cycle at progress pos: (lr, beta1)."""
    def cos(a, b, t):
        return a + (1 + math.cos(math.pi * (1 - t))) * (b - a) / 2
    if pos < 0.25:
        return cos(lr_max / 25, lr_max, pos / 0.25), cos(0.95, 0.85, pos / 0.25)
    return cos(lr_max, lr_max / 1e4, (pos - 0.25) / 0.75), cos(0.85, 0.95, (pos - 0.25) / 0.75)


def load(split, limit=None):
    with gzip.open(os.path.join(FASHION_DIR, f'{split}-images-idx3-ubyte.gz')) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:limit]
    with gzip.open(os.path.join(FASHION_DIR, f'{split}-labels-idx1-ubyte.gz')) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:limit]
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def bf16_supported():
    """As Kestrel's precision 'auto': the CPU reports bf16 instructions and libtorch has oneDNN."""
    try:
        flags = next(line for line in open('/proc/cpuinfo') if line.startswith(('flags', 'Features'))).split()
    except (OSError, StopIteration):
        return False
    return torch.backends.mkldnn.is_available() and any(f in flags for f in ('avx512_bf16', 'amx_bf16', 'bf16'))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--preset', default='fast', choices=sorted(PRESETS))
    parser.add_argument('--epochs', type=int, default=0)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--train-samples', type=int, default=None)
    parser.add_argument('--precision', default='auto', choices=['auto', 'fp32', 'bf16'])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    preset = PRESETS[args.preset]
    epochs = args.epochs or preset['epochs']
    bf16 = args.precision == 'bf16' or (args.precision == 'auto' and bf16_supported())
    xtr, ytr = load('train', args.train_samples)
    xte, yte = load('t10k')
    scaled = xtr.float() / 255
    mean, std = scaled.mean().item(), scaled.std(unbiased=False).item()
    norm = lambda x: (x.float() / 255 - mean) / std
    xte = norm(xte).contiguous(memory_format=torch.channels_last)
    fill = -mean / std
    model = SmallResNet(10, 1, preset['widths']).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WD)
    g = torch.Generator().manual_seed(args.seed)
    n = len(xtr)
    steps = math.ceil(n / BATCH)
    total = epochs * steps

    def predict(x, tta):
        model.eval()
        probs = []
        with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            for i in range(0, len(x), 256):
                xb = x[i:i + 256]
                p = model(xb).float().softmax(1)
                if tta:
                    p = (p + model(xb.flip(3)).float().softmax(1)) / 2
                probs.append(p)
        model.train()
        return torch.cat(probs)

    it = 0
    history = []
    for epoch in range(epochs):
        order = torch.randperm(n, generator=g)
        losses = []
        for b in range(steps):
            idx = order[b * BATCH:(b + 1) * BATCH]
            xb = augment(norm(xtr[idx]), g, fill).contiguous(memory_format=torch.channels_last)
            lr, beta1 = one_cycle(it / total, LR)
            for group in optimizer.param_groups:
                group['lr'] = lr
                group['betas'] = (beta1, group['betas'][1])
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
                out = model(xb)
            loss = F.cross_entropy(out.float(), ytr[idx], label_smoothing=SMOOTHING)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            it += 1
        accuracy = (predict(xte, False).argmax(1) == yte).float().mean().item()
        record = {'epoch': epoch + 1, 'trainLoss': sum(losses) / len(losses), 'accuracy': accuracy, 'seconds': time.perf_counter() - START}
        history.append(record)
        print('EPOCH ' + json.dumps(record), flush=True)
    tta = (predict(xte, True).argmax(1) == yte).float().mean().item()
    print('RESULT ' + json.dumps({
        'framework': 'pytorch', 'workload': f'recipe-{args.preset}', 'threads': torch.get_num_threads(), 'precision': 'bf16' if bf16 else 'fp32',
        'epochs': history, 'accuracy': history[-1]['accuracy'], 'ttaAccuracy': tta, 'seconds': time.perf_counter() - START,
        'cpuSeconds': time.process_time(), 'torchVersion': torch.__version__}), flush=True)


if __name__ == '__main__':
    main()
