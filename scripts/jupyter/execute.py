"""Executes one notebook top to bottom with nbclient and writes it, with its outputs, even when a cell fails.

usage: execute.py INPUT OUTPUT --kernel NAME --timeout SECONDS
Exit status 0 when every cell ran, 1 when one failed (its outputs, errors included, are in OUTPUT).
Used by scripts/run-notebooks.mjs; nbconvert --execute would stop without writing the partial notebook.
"""
import argparse
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('input')
    parser.add_argument('output')
    parser.add_argument('--kernel', required=True)
    parser.add_argument('--timeout', type=int, required=True)
    args = parser.parse_args()
    nb = nbformat.read(args.input, as_version=4)
    # NOTE: the kernel runs in the notebook's own folder, as in Jupyter; no per-cell timing metadata, so
    # re-executing a notebook changes only its outputs.
    client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout, record_timing=False,
                            resources={'metadata': {'path': os.path.dirname(os.path.abspath(args.input))}})
    status = 0
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        status = 1
        print(f'execute.py: {type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ""}', file=sys.stderr)
    finally:
        nbformat.write(nb, args.output)
    return status


if __name__ == '__main__':
    sys.exit(main())
