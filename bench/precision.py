"""Benchmark worker for bench/precision.ts: PyTorch training and inference in float32 or bfloat16.

fp32: idiomatic PyTorch (contiguous NCHW, torch.no_grad for inference), as bench/mnist.py and bench/resnet.py.
bf16: what a performance-minded PyTorch user writes on CPU: torch.autocast('cpu', dtype=torch.bfloat16),
model and batches in channels_last, torch.inference_mode for inference; the loss in float32.
Workloads as bench/precision-worker.ts: mnist-cnn on real Fashion-MNIST (batch 256, Adam 1e-3) or ResNet-18 on
synthetic 3x64x64 images (batch 64, SGD lr 0.01 momentum 0.9).
Run with /usr/bin/python3 bench/precision.py --workload mnist|resnet --precision fp32|bf16 [--train-samples N] [--iters N] [--warmup N].
"""
import argparse, contextlib, json, os, time
import torch
import torchvision
from mnist import load, memory, mnist_cnn, reset_peak_rss, step_rate

MNIST_BATCH, RESNET_BATCH, RESNET_SIZE, RESNET_BATCHES = 256, 64, 64, 4


def timed(count, batch, step):
    """Samples/s over `count` steps, and from the median step."""
    step_ms = []
    start = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        step(i)
        step_ms.append((time.perf_counter() - t) * 1000)
    return count * batch / (time.perf_counter() - start), step_rate(step_ms, batch)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--workload', choices=['mnist', 'resnet'], required=True)
    parser.add_argument('--precision', choices=['fp32', 'bf16'], required=True)
    parser.add_argument('--train-samples', type=int, default=60000)
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    bf16 = args.precision == 'bf16'
    layout = torch.channels_last if bf16 else torch.contiguous_format

    if args.workload == 'mnist':
        x_train, y_train = load('train', args.train_samples)
        x_test, y_test = load('t10k')
        model, batch = mnist_cnn(), MNIST_BATCH
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        order = torch.randperm(len(x_train))
        train_steps, infer_steps = len(x_train) // batch, len(x_test) // batch

        def train_batch(i):
            index = order[i * batch:(i + 1) * batch]
            return x_train[index], y_train[index]

        def infer_batch(i):
            return x_test[i * batch:(i + 1) * batch], y_test[i * batch:(i + 1) * batch]
    else:
        images = torch.randn(RESNET_BATCHES * RESNET_BATCH, 3, RESNET_SIZE, RESNET_SIZE)
        labels = torch.randint(0, 10, (RESNET_BATCHES * RESNET_BATCH,))
        model, batch = torchvision.models.resnet18(num_classes=10), RESNET_BATCH
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        train_steps = infer_steps = args.iters

        def train_batch(i):
            start = (i % RESNET_BATCHES) * batch
            return images[start:start + batch], labels[start:start + batch]
        infer_batch = train_batch

    model = model.to(memory_format=layout)
    autocast = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    loss_fn = torch.nn.CrossEntropyLoss()
    reset_peak_rss()

    def train_step(i):
        x, y = train_batch(i)
        optimizer.zero_grad()
        with autocast():
            logits = model(x.contiguous(memory_format=layout))
        loss = loss_fn(logits.float(), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    model.train()
    for i in range(args.warmup):
        train_step(i)
    train, train_step_rate = timed(train_steps, batch, train_step)
    loss = train_step(0)

    model.eval()
    guard = torch.inference_mode if bf16 else torch.no_grad
    correct = [0]

    def infer_step(i):
        x, y = infer_batch(i)
        with guard(), autocast():
            correct[0] += (model(x.contiguous(memory_format=layout)).float().argmax(1) == y).sum().item()

    for i in range(args.warmup):
        infer_step(i)
    correct[0] = 0
    infer, infer_step_rate = timed(infer_steps, batch, infer_step)
    print('RESULT ' + json.dumps({
        'framework': 'pytorch', 'workload': 'mnist-cnn' if args.workload == 'mnist' else 'resnet18', 'precision': args.precision,
        'threads': torch.get_num_threads(), 'trainSamplesPerSec': train, 'trainStepSamplesPerSec': train_step_rate,
        'inferSamplesPerSec': infer, 'inferStepSamplesPerSec': infer_step_rate, 'loss': loss,
        'accuracy': correct[0] / (infer_steps * batch), 'torchVersion': torch.__version__, **memory()}), flush=True)


if __name__ == '__main__':
    main()
