#!/usr/bin/python3
"""Trains a little and a big CNN on Fashion-MNIST and writes a tandem model directory.

Run with Debian's python3 (python3-torch 1.13; a python3 earlier on PATH, e.g.
pyenv's, may not have torch):

  /usr/bin/python3 bench/joint/train_fashion_mnist.py OUT_DIR [--epochs-little N]
      [--epochs-big N] [--seed S] [--threads T] [--data DIR] [--train-limit N]

Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, the
four IDX .gz files); nothing is downloaded. Writes, into OUT_DIR:

  fmnist_little.pt / .json   the edge's model (TorchScript, traced)
  fmnist_big.pt / .json      the cloud's model
  training.json              seed, epochs, wall time and test accuracy of each model

Both models take raw pixels (1x1x28x28, values 0..255, as float) and
normalise inside forward(), so a client sends the image as it is stored. They
use only operators tandem's importer maps to built-in kinds (conv2d, batch
norm, relu, max pool, flatten, linear; the normalisation is one scalar mul and
add, which import as generic nodes). Training is seeded and single-process;
one thread needs about 2.5 minutes of CPU for the defaults (measured: 11 ms per
little-model step, 57 ms per big-model step of 128 images).
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel statistics (0..1 scale)


def read_idx(path, expect_dims):
    """The array of an IDX file, checked: magic, rank and the bytes the header announces."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        sys.exit(f"{path}: too short to be an IDX file")
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or rank != expect_dims:
        sys.exit(f"{path}: not an unsigned-byte IDX file of rank {expect_dims}")
    dims = struct.unpack(">" + "I" * rank, data[4 : 4 + 4 * rank])
    body = data[4 + 4 * rank :]
    count = 1
    for d in dims:
        count *= d
    if len(body) != count:
        sys.exit(f"{path}: header announces {count} bytes, file has {len(body)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def load_split(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"), 3)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"), 1)
    if images.shape[0] != labels.shape[0]:
        sys.exit(f"{data_dir}: {split} has {images.shape[0]} images but {labels.shape[0]} labels")
    return images.unsqueeze(1).float(), labels.long()


class Normalise(nn.Module):
    """Raw pixels (0..255) to the training distribution: x * a + b."""

    def forward(self, x):
        return x * (1.0 / (255.0 * STD)) + (-MEAN / STD)


class Little(nn.Module):
    """The edge's model: two 5x5 convolutions and a linear layer (about 0.3M MACs)."""

    def __init__(self):
        super().__init__()
        self.norm = Normalise()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 12, 5)
        self.fc = nn.Linear(12 * 5 * 5, 10)

    def forward(self, x):
        x = self.norm(x)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # 6 x 14 x 14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # 12 x 5 x 5
        return self.fc(torch.flatten(x, 1))


class Big(nn.Module):
    """The cloud's model: three conv + batch-norm stages and two linear layers (about 2M MACs)."""

    def __init__(self):
        super().__init__()
        self.norm = Normalise()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 3 * 3, 128)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.norm(x)
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # 16 x 14 x 14
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # 32 x 7 x 7
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)  # 64 x 3 x 3
        x = self.drop(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


def evaluate(model, images, labels, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, images.shape[0], batch):
            correct += (model(images[i : i + batch]).argmax(1) == labels[i : i + batch]).sum().item()
    return correct / images.shape[0]


def train(model, images, labels, epochs, seed, batch=128, lr=2e-3):
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((images.shape[0] + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(images.shape[0], generator=generator)
        total = 0.0
        for i in range(0, images.shape[0], batch):
            idx = order[i : i + batch]
            optimiser.zero_grad()
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * idx.shape[0]
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / images.shape[0]:.4f}", flush=True)


def export(model, out_dir, name):
    model.eval()
    example = torch.zeros(1, 1, 28, 28)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    traced.save(os.path.join(out_dir, f"{name}.pt"))
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump({"input": "1x1x28x28"}, f)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs-little", type=int, default=3)
    parser.add_argument("--epochs-big", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (1: on a busy 2-core machine OpenMP threads spin and waste the CPU)")
    parser.add_argument("--train-limit", type=int, default=0, help="train on the first N images only (0: all)")
    args = parser.parse_args()
    if args.epochs_little < 1 or args.epochs_big < 1 or args.threads < 1 or args.train_limit < 0:
        sys.exit("--epochs-*, --threads must be >= 1 and --train-limit >= 0")
    for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        if not os.path.exists(os.path.join(args.data, f)):
            sys.exit(f"{args.data}/{f} is missing: install Debian's dataset-fashion-mnist (scripts/install-deps.sh)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)

    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "test")
    if args.train_limit:
        train_x, train_y = train_x[: args.train_limit], train_y[: args.train_limit]
    report = {"seed": args.seed, "threads": args.threads, "train_images": train_x.shape[0],
              "test_images": test_x.shape[0], "torch": torch.__version__, "models": {}}
    for name, make, epochs in (("fmnist_little", Little, args.epochs_little), ("fmnist_big", Big, args.epochs_big)):
        torch.manual_seed(args.seed)
        model = make()
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {epochs} epochs", flush=True)
        start = time.monotonic()
        train(model, train_x, train_y, epochs, args.seed)
        seconds = time.monotonic() - start
        accuracy = evaluate(model, test_x, test_y)
        print(f"{name}: test accuracy {100 * accuracy:.2f}% ({seconds:.0f} s)", flush=True)
        export(model, args.out_dir, name)
        report["models"][name] = {"epochs": epochs, "train_seconds": round(seconds, 1),
                                  "test_accuracy": round(accuracy, 4),
                                  "parameters": sum(p.numel() for p in model.parameters())}
    with open(os.path.join(args.out_dir, "training.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
