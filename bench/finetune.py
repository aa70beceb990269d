"""Benchmark worker: the PyTorch twin of bench/finetune.ts's speed worker.

torchvision ResNet-34 cut before avgpool/fc (fastai's body) + fastai's head, synthetic images, AdamW as fastai's
Adam, training samples/s with the body frozen (batch norm trainable, fastai's train_bn) and unfrozen.
Run with /usr/bin/python3 bench/finetune.py [--size 224] [--batch 32] [--iters 20] [--warmup 3].
"""
import argparse, json, os, time
import torch
import torchvision
from torch import nn
from mnist import memory, reset_peak_rss, step_rate

BATCHES, CLASSES = 4, 10


class AdaptiveConcatPool2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.ap, self.mp = nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(1)

    def forward(self, x):
        return torch.cat([self.mp(x), self.ap(x)], 1)


def batch_norm(nf):
    bn = nn.BatchNorm1d(nf)
    bn.bias.data.fill_(1e-3)
    return bn


def head(nf, n_out):
    layers = [AdaptiveConcatPool2d(), nn.Flatten(), batch_norm(2 * nf), nn.Dropout(0.25), nn.Linear(2 * nf, 512, bias=False),
              nn.ReLU(inplace=True), batch_norm(512), nn.Dropout(0.5), nn.Linear(512, n_out, bias=False)]
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight)
    return nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = torch.randn(BATCHES * args.batch, 3, args.size, args.size)
    labels = torch.randint(0, CLASSES, (BATCHES * args.batch,))
    batch = lambda i: (images[(i % BATCHES) * args.batch:(i % BATCHES + 1) * args.batch], labels[(i % BATCHES) * args.batch:(i % BATCHES + 1) * args.batch])
    reset_peak_rss()
    body = nn.Sequential(*list(torchvision.models.resnet34().children())[:-2])
    model = nn.Sequential(body, head(512, CLASSES))
    groups = [[p for m in list(body)[:6] for p in m.parameters()], [p for m in list(body)[6:] for p in m.parameters()], list(model[1].parameters())]
    optimizer = torch.optim.AdamW([{'params': g} for g in groups], lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def set_frozen(frozen):
        for m in body.modules():
            for p in m.parameters(recurse=False):
                p.requires_grad_(not frozen or isinstance(m, nn.BatchNorm2d))
        optimizer.state.clear()

    def step(i):
        x, y = batch(i)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    def phase(lrs):
        for g, lr in zip(optimizer.param_groups, lrs):
            g['lr'] = lr
        model.train()
        for i in range(args.warmup):
            step(i)
        step_ms, loss = [], None
        start = time.perf_counter()
        for i in range(args.iters):
            t = time.perf_counter()
            loss = step(i)
            step_ms.append((time.perf_counter() - t) * 1000)
        return args.iters * args.batch / (time.perf_counter() - start), step_rate(step_ms, args.batch), loss

    set_frozen(True)
    frozen = phase([1e-4, 1e-4, 1e-3])
    set_frozen(False)
    unfrozen = phase([1e-5, 1e-4, 1e-3])
    print('RESULT ' + json.dumps({
        'framework': 'pytorch', 'workload': 'finetune-resnet34', 'threads': torch.get_num_threads(),
        'frozenSamplesPerSec': frozen[0], 'frozenStepSamplesPerSec': frozen[1],
        'unfrozenSamplesPerSec': unfrozen[0], 'unfrozenStepSamplesPerSec': unfrozen[1], 'loss': unfrozen[2],
        'torchVersion': torch.__version__, **memory()}), flush=True)


if __name__ == '__main__':
    main()
