#!/usr/bin/python3
"""Exports the TorchScript files bench/import.sh measures (random weights).

  ts_<torchvision name>.pt  torch.jit.trace in eval mode at 1x3x224x224 (named so
                         that no profile has timed a model of that name)
  chain1000.pt           a scripted 1000-node DAG: 249 residual blocks of
                         conv, batch norm, ReLU and add on a 8x16x16 tensor,
                         so its size, not its compute, is what is timed
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision

torch.manual_seed(0)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
image = torch.rand(1, 3, 224, 224)
for name in ["resnet18", "mobilenet_v2", "googlenet", "mobilenet_v3_small", "efficientnet_b0",
             "shufflenet_v2_x1_0", "squeezenet1_1", "resnet50", "densenet121", "regnet_x_400mf"]:
    kwargs = {"init_weights": False} if name == "googlenet" else {}
    model = getattr(torchvision.models, name)(**kwargs).eval()
    with torch.no_grad():
        torch.jit.trace(model, image).save(os.path.join(out, f"ts_{name}.pt"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))) + x


class Deep(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.Sequential(*[Block() for _ in range(blocks)])
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        return self.head(self.blocks(x).mean([2, 3]))


torch.jit.freeze(torch.jit.script(Deep(249).eval()), optimize_numerics=False).save(os.path.join(out, "chain1000.pt"))
print(f"wrote the import benchmark's models to {out}")
