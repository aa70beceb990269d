"""Benchmark worker: the PyTorch reference for bench/weights.ts.

Reads a torchvision state dict with torch.load(weights_only=True) (PyTorch's own restricted unpickler),
then loads it into a fresh model with load_state_dict. Prints one `RESULT {json}` line.
Run: /usr/bin/python3 bench/weights.py FILE.pth ARCH [--make]   (--make writes a seeded state dict to FILE first)
"""
import json, sys, time
import torch, torchvision


def main():
    path, arch = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    if '--make' in sys.argv:
        torch.manual_seed(0)
        torch.save(getattr(torchvision.models, arch)().state_dict(), path)
        return
    model = getattr(torchvision.models, arch)()
    start = time.perf_counter()
    state = torch.load(path, map_location='cpu', weights_only=True)
    read = time.perf_counter() - start
    model.load_state_dict(state)
    total = time.perf_counter() - start
    print('RESULT ' + json.dumps({'name': 'pytorch', 'tensors': len(state), 'readSeconds': read, 'loadSeconds': total}))


main()
