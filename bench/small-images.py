"""Benchmark worker: the PyTorch reference for bench/small-images.ts.

torchvision ImageFolder (PIL decoding straight to 'L') + Resize(size) + ToTensor + Normalize, torch DataLoader(batch_size=64,
shuffle=True, num_workers=2, persistent_workers=True). Reports the first epoch (workers starting) and the later ones,
the folder scan time, and the CPU time per image of PIL's open + convert + resize in one thread.
Prints one `RESULT {json}` line.
Run: /usr/bin/python3 bench/small-images.py DIR [--size 28] [--epochs 2] [--workers 2] [--batch 64]
"""
import argparse, json, time
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

MEAN, STD = 0.286, 0.353


def grey(path):
    """PIL's decode straight to one channel (ImageFolder's default loader would convert to RGB first)."""
    with Image.open(path) as image:
        return image.convert('L')


def decode_cpu(files, size):
    """CPU microseconds per image of open + convert + resize (best of 5 passes over up to 1000 files)."""
    some = files[:1000]
    best = float('inf')
    for _ in range(5):
        start = time.process_time()
        for f in some:
            with Image.open(f) as image:
                image.convert('L').resize((size, size), Image.BILINEAR).tobytes()
        best = min(best, (time.process_time() - start) * 1e6 / len(some))
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('dir')
    parser.add_argument('--size', type=int, default=28)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--batch', type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    transform = transforms.Compose([
        transforms.Resize(args.size), transforms.ToTensor(), transforms.Normalize([MEAN], [STD]),
    ])
    start = time.perf_counter()
    data = datasets.ImageFolder(args.dir, transform=transform, loader=grey)
    scan_seconds = time.perf_counter() - start
    loader = DataLoader(data, batch_size=args.batch, shuffle=True, num_workers=args.workers, persistent_workers=args.workers > 0)

    def epoch():
        start = time.perf_counter()
        images = 0
        for x, _ in loader:
            images += x.shape[0]
        return images / (time.perf_counter() - start)

    first = epoch()
    rates = [epoch() for _ in range(args.epochs)]
    print('RESULT ' + json.dumps({
        'name': 'pytorch', 'imagesPerSecond': len(rates) / sum(1 / r for r in rates), 'firstEpochImagesPerSecond': first,
        'scanSeconds': scan_seconds, 'decodeCpuMicroseconds': decode_cpu([path for path, _ in data.samples], args.size),
        'torch': torch.__version__,
    }))


if __name__ == '__main__':
    main()
