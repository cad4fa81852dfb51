#!/usr/bin/python3
"""Folds `perf script` call stacks and draws them as an SVG flame graph.

Usage:
  perf script -i perf.data | bench/flame.py --title T --out flame.svg [--folded out.folded]
  bench/flame.py --title T --out flame.svg < perf-script.txt

Each sample's stack becomes one line "thread;outer;...;inner COUNT" (the
folded form, written with --folded), and the graph draws every frame as a box
as wide as the samples under it: callers below, callees above. Standard
library only. The input is bounded: at most --max-lines lines are read and
frames past --max-depth are dropped (the graph says how many lines were cut).
"""

import argparse
import html
import re
import sys
from collections import Counter

HEADER = re.compile(r"^(\S.*?)\s+(\d+)(?:/(\d+))?\s+")
FRAME = re.compile(r"^\s+[0-9a-fA-F]+\s+(.*?)\s+\((.*)\)\s*$")


def clean_symbol(sym, dso):
    if sym in ("[unknown]", ""):
        base = dso.rsplit("/", 1)[-1]
        return f"[{base}]"
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    # Template and argument lists make frames unreadable and split one function
    # into many: keep the name.
    depth, out = 0, []
    for ch in sym:
        if ch in "<(":
            depth += 1
            if depth == 1:
                out.append("<>" if ch == "<" else "()")
            continue
        if ch in ">)":
            depth = max(0, depth - 1)
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out).replace(";", ":")[:160]


def fold(lines, max_depth, by_thread):
    """Counter of folded stacks from perf script text."""
    stacks = Counter()
    comm, frames = None, []

    def flush():
        if comm is not None and frames:
            path = [comm] + list(reversed(frames))[:max_depth]
            stacks[";".join(path)] += 1

    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            comm, frames = None, []
            continue
        if not line[0].isspace():
            flush()
            frames = []
            m = HEADER.match(line)
            if m:
                name = m.group(1).strip().replace(";", ":")
                comm = f"{name}-{m.group(3) or m.group(2)}" if by_thread else name
            else:
                comm = "?"
            continue
        m = FRAME.match(line)
        if m and comm is not None:
            frames.append(clean_symbol(m.group(1), m.group(2)))
    flush()
    return stacks


class Node:
    __slots__ = ("name", "count", "children")

    def __init__(self, name):
        self.name, self.count, self.children = name, 0, {}


def build_tree(stacks):
    root = Node("all")
    for stack, n in stacks.items():
        root.count += n
        node = root
        for name in stack.split(";"):
            node = node.children.setdefault(name, Node(name))
            node.count += n
    return root


def color(name):
    h = 0
    for ch in name:
        h = (h * 31 + ord(ch)) & 0xFFFFFF
    if name.startswith("[") or "kernel" in name:
        return f"rgb({200 + h % 55},{110 + (h >> 8) % 60},{40 + (h >> 16) % 40})"
    return f"rgb({220 + h % 35},{90 + (h >> 8) % 120},{30 + (h >> 16) % 50})"


def render(root, title, subtitle, width=1400, row=16, min_px=0.3):
    rects = []
    max_depth = [0]

    def walk(node, x, depth):
        w = node.count / root.count * width if root.count else 0
        if w < min_px:
            return
        rects.append((node, x, depth, w))
        max_depth[0] = max(max_depth[0], depth)
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            walk(child, cx, depth + 1)
            cx += child.count / root.count * width

    walk(root, 0.0, 0)
    top = 50
    height = top + (max_depth[0] + 1) * row + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 20}" height="{height}" '
        f'font-family="monospace" font-size="11">',
        '<style>rect:hover{stroke:#000;stroke-width:0.5}</style>',
        f'<rect x="0" y="0" width="{width + 20}" height="{height}" fill="#f8f8f0"/>',
        f'<text x="10" y="18" font-size="15">{html.escape(title)}</text>',
        f'<text x="10" y="36">{html.escape(subtitle)}</text>',
    ]
    for node, x, depth, w in rects:
        y = height - 20 - (depth + 1) * row
        pct = 100.0 * node.count / root.count
        label = f"{node.name} ({node.count} samples, {pct:.2f}%)"
        out.append(f'<g><title>{html.escape(label)}</title>'
                   f'<rect x="{10 + x:.2f}" y="{y}" width="{w:.2f}" height="{row - 1}" fill="{color(node.name)}"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[: chars - 2] + ".."
            out.append(f'<text x="{12 + x:.2f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", help="perf script output (default: standard input)")
    p.add_argument("--out", required=True, help="SVG file to write")
    p.add_argument("--folded", help="also write the folded stacks here")
    p.add_argument("--title", default="flame graph", help="title line (default: 'flame graph')")
    p.add_argument("--by-thread", action="store_true", help="one tower per thread id instead of per thread name")
    p.add_argument("--max-lines", type=int, default=20_000_000, help="lines of input read at most (default 20000000)")
    p.add_argument("--max-depth", type=int, default=200, help="frames kept per stack (default 200)")
    args = p.parse_args(argv)
    if args.max_lines <= 0 or args.max_depth <= 0:
        p.error("--max-lines and --max-depth must be positive")

    src = open(args.input, encoding="utf-8", errors="replace") if args.input else sys.stdin
    cut = False

    def bounded():
        nonlocal cut
        for i, line in enumerate(src):
            if i >= args.max_lines:
                cut = True
                return
            yield line

    stacks = fold(bounded(), args.max_depth, args.by_thread)
    if not stacks:
        sys.exit(f"flame.py: no call stacks in {args.input or 'standard input'}: "
                 "record with 'perf record -g' and pass 'perf script' output")
    if args.folded:
        with open(args.folded, "w", encoding="utf-8") as f:
            for stack, n in sorted(stacks.items()):
                f.write(f"{stack} {n}\n")
    root = build_tree(stacks)
    subtitle = f"{root.count} samples" + (f"; input cut at {args.max_lines} lines" if cut else "")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(render(root, args.title, subtitle))
    print(f"{args.out}: {root.count} samples, {len(stacks)} distinct stacks")


if __name__ == "__main__":
    main(sys.argv[1:])
