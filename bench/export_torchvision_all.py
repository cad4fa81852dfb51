#!/usr/bin/python3
"""Writes every torchvision classification model (up to --max-params) as a
model directory: NAME.pt (torch.jit.trace in eval mode, random weights) and
NAME.json ({"input": "1x3xHxW"} at the size its weights' transforms crop to).
Nothing is downloaded: the sizes come from the weights' metadata in code.

  export_torchvision_all.py OUT_DIR [MAX_PARAMS=150e6] [NAME_REGEX]

NAME_REGEX (re.match on torchvision's name) picks a subset, e.g. '^(resnet|vgg)'.
"""
import json
import os
import re
import sys

import torch
from torchvision import models

out = sys.argv[1]
max_params = float(sys.argv[2]) if len(sys.argv) > 2 else 150e6
pattern = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
skipped = []
for name in models.list_models(module=models):
    if pattern and not pattern.match(name):
        continue
    try:
        size = models.get_model_weights(name).DEFAULT.transforms().crop_size[0]
    except Exception:  # no weights metadata: the usual ImageNet size
        size = 224
    kwargs = {"init_weights": False} if name in ("googlenet", "inception_v3") else {}
    model = models.get_model(name, **kwargs).eval()
    params = sum(p.numel() for p in model.parameters())
    if params > max_params:
        skipped.append(f"{name} ({params / 1e6:.0f}M parameters)")
        continue
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.rand(1, 3, size, size), check_trace=False)
    traced.save(os.path.join(out, f"tv_{name}.pt"))  # tv_: not a zoo name
    with open(os.path.join(out, f"tv_{name}.json"), "w") as f:
        json.dump({"input": f"1x3x{size}x{size}"}, f)
    print(f"{name}: {params / 1e6:.1f}M parameters, input {size}x{size}", flush=True)
print("skipped (over the parameter cap):", ", ".join(skipped) or "none")
