"""Benchmark worker: the PyTorch reference for bench/loader.ts.

PIL decoding + torchvision RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize(ImageNet),
torch DataLoader(batch_size=64, shuffle=True, num_workers=2, persistent_workers=True), one warm-up epoch,
then images/s over the timed epochs. Prints one `RESULT {json}` line.
Run: /usr/bin/python3 bench/loader.py DIR [--workers 2] [--batch 64] [--size 224] [--epochs 2]
"""
import argparse, json, os, time
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class Files(Dataset):
    """Image files with integer labels (the class is the prefix before the first '-')."""

    def __init__(self, root, transform):
        self.files = sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith('.jpg'))
        names = sorted({os.path.basename(f).split('-')[0] for f in self.files})
        self.labels = [names.index(os.path.basename(f).split('-')[0]) for f in self.files]
        self.transform = transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as image:
            return self.transform(image.convert('RGB')), self.labels[i]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('dir')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--epochs', type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    transform = transforms.Compose([
        transforms.RandomResizedCrop(args.size), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    data = Files(args.dir, transform)
    loader = DataLoader(data, batch_size=args.batch, shuffle=True, num_workers=args.workers, persistent_workers=args.workers > 0)
    for x, y in loader:  # warm-up: starts the workers
        pass
    start = time.perf_counter()
    images = 0
    checksum = 0.0
    for _ in range(args.epochs):
        for x, y in loader:
            images += x.shape[0]
            checksum += float(x[0, 0, 0, 0])
    seconds = time.perf_counter() - start
    print('RESULT ' + json.dumps({'name': 'pytorch', 'images': images, 'seconds': seconds, 'imagesPerSecond': images / seconds,
                                  'shape': list(x.shape), 'dtype': str(x.dtype), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
