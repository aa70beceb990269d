"""Benchmark worker: the Keras MNIST CNN on Fashion-MNIST in idiomatic PyTorch (the reference for bench/mnist.ts).

TensorDataset + DataLoader(batch_size=256, shuffle=True), nn.Sequential, torch.optim.Adam(lr=1e-3),
cross-entropy; train samples/s over one full epoch after a warm-up, inference samples/s over the
test set, accuracy and peak RSS. Run with /usr/bin/python3 bench/mnist.py [--train-samples N] [--warmup B].
"""
import argparse, gzip, json, os, statistics, time
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

FASHION_DIR = os.environ.get('KESTREL_FASHION_DIR', '/usr/share/datasets/fashion-mnist')
MEAN, STD, BATCH = 0.286, 0.353, 256


LOAD_PEAK = [0.0]


def status_mb(name):
    fields = dict(line.split(':', 1) for line in open('/proc/self/status'))
    return int(fields[name].split()[0]) / 1024


def reset_peak_rss():
    """Resets VmHWM so later peaks measure training and inference only (as bench/common.ts does)."""
    LOAD_PEAK[0] = max(LOAD_PEAK[0], status_mb('VmHWM'))
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def memory():
    peak = status_mb('VmHWM')
    return {'rssMb': status_mb('VmRSS'), 'peakRssMb': peak, 'processPeakRssMb': max(LOAD_PEAK[0], peak), 'cpuSeconds': time.process_time()}


def load(split, limit=None):
    with gzip.open(os.path.join(FASHION_DIR, f'{split}-images-idx3-ubyte.gz')) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(FASHION_DIR, f'{split}-labels-idx1-ubyte.gz')) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    images, labels = images[:limit], labels[:limit]
    x = (torch.from_numpy(images.copy()).float() / 255 - MEAN) / STD
    return x, torch.from_numpy(labels.astype(np.int64))


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 24, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(24, 36, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(36 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def train_epoch(model, optimizer, loader, max_batches=None):
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    total, batches, samples, step_ms = 0.0, 0, 0, []
    last = time.perf_counter()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
        samples += len(xb)
        now = time.perf_counter()
        if len(xb) == BATCH:
            step_ms.append((now - last) * 1000)
        last = now
        if max_batches is not None and batches >= max_batches:
            break
    return total / batches, samples, step_ms


def evaluate(model, loader):
    model.eval()
    correct, n, step_ms = 0, 0, []
    last = time.perf_counter()
    with torch.no_grad():
        for xb, yb in loader:
            correct += (model(xb).argmax(1) == yb).sum().item()
            n += len(xb)
            now = time.perf_counter()
            if len(xb) == BATCH:
                step_ms.append((now - last) * 1000)
            last = now
    return correct / n, n, step_ms


def step_rate(step_ms, batch):
    """Samples/s of a typical step: batch / median step time (as bench/common.ts stepRate)."""
    return batch * 1000 / statistics.median(step_ms) if step_ms else float('nan')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--train-samples', type=int, default=60000)
    parser.add_argument('--warmup', type=int, default=20)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train = TensorDataset(*load('train', args.train_samples))
    test = TensorDataset(*load('t10k'))
    train_loader = DataLoader(train, batch_size=BATCH, shuffle=True)
    test_loader = DataLoader(test, batch_size=BATCH)
    reset_peak_rss()
    model = mnist_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, optimizer, train_loader, args.warmup)
    evaluate(model, DataLoader(TensorDataset(*test[:2 * BATCH]), batch_size=BATCH))

    start = time.perf_counter()
    loss, samples, train_ms = train_epoch(model, optimizer, train_loader)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy, n, infer_ms = evaluate(model, test_loader)
    infer_seconds = time.perf_counter() - start
    print('RESULT ' + json.dumps({
        'framework': 'pytorch', 'workload': 'mnist-cnn', 'threads': torch.get_num_threads(),
        'trainSamplesPerSec': samples / train_seconds, 'inferSamplesPerSec': n / infer_seconds,
        'trainStepSamplesPerSec': step_rate(train_ms, BATCH), 'inferStepSamplesPerSec': step_rate(infer_ms, BATCH),
        'trainSeconds': train_seconds, 'inferSeconds': infer_seconds, 'loss': loss, 'accuracy': accuracy,
        'torchVersion': torch.__version__, **memory()}), flush=True)


if __name__ == '__main__':
    main()
