"""Benchmark worker: torchvision ResNet-18 (10 classes) on synthetic 3x64x64 images, batch 64, SGD momentum 0.9.

The PyTorch reference for bench/resnet.ts: same data sizes and seed, train and inference images/s, peak RSS.
Run with /usr/bin/python3 bench/resnet.py [--train-iters N] [--infer-iters N] [--warmup N].
"""
import argparse, json, os, time
import torch
import torchvision
from mnist import memory, reset_peak_rss, step_rate

BATCH, BATCHES, SIZE = 64, 4, 64


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--train-iters', type=int, default=30)
    parser.add_argument('--infer-iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = torch.randn(BATCHES * BATCH, 3, SIZE, SIZE)
    labels = torch.randint(0, 10, (BATCHES * BATCH,))
    batch = lambda i: (images[(i % BATCHES) * BATCH:(i % BATCHES + 1) * BATCH], labels[(i % BATCHES) * BATCH:(i % BATCHES + 1) * BATCH])
    reset_peak_rss()
    model = torchvision.models.resnet18(num_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step(i):
        x, y = batch(i)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    def infer_step(i):
        with torch.no_grad():
            return model(batch(i)[0]).argmax(1).sum().item()

    model.train()
    for i in range(args.warmup):
        train_step(i)
    def timed(count, step):
        step_ms, last = [], None
        for i in range(count):
            t = time.perf_counter()
            last = step(i)
            step_ms.append((time.perf_counter() - t) * 1000)
        return last, step_ms

    start = time.perf_counter()
    loss, train_ms = timed(args.train_iters, train_step)
    train_seconds = time.perf_counter() - start
    model.eval()
    for i in range(args.warmup):
        infer_step(i)
    start = time.perf_counter()
    _, infer_ms = timed(args.infer_iters, infer_step)
    infer_seconds = time.perf_counter() - start
    print('RESULT ' + json.dumps({
        'framework': 'pytorch', 'workload': 'resnet18', 'threads': torch.get_num_threads(),
        'trainSamplesPerSec': args.train_iters * BATCH / train_seconds, 'inferSamplesPerSec': args.infer_iters * BATCH / infer_seconds,
        'trainStepSamplesPerSec': step_rate(train_ms, BATCH), 'inferStepSamplesPerSec': step_rate(infer_ms, BATCH),
        'trainSeconds': train_seconds, 'inferSeconds': infer_seconds, 'loss': loss,
        'torchVersion': torch.__version__, **memory()}), flush=True)


if __name__ == '__main__':
    main()
