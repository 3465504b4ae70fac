"""Labelled cells no valid plan can keep: featurization cells that read what a training cell wrote.

    python benchmarks/label_conflicts.py

DESIGN puts the train/test split in training and scaling/encoding/feature selection in
featurization, and forbids a cell to read what a later stage in pipeline order wrote; a scaler
fitted on ``X_train`` after the split satisfies both definitions and neither constraint. This
lists every such labelled cell of the corpus (the cell, the names, the training cells that wrote
them, its first line), for whoever decides which rule gives way; the classifier does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy  # noqa: E402  (sibling script: loads the labelled corpus)


def main() -> None:
    n = 0
    for it in accuracy.load_items():
        last: dict[str, tuple[str, int]] = {}  # name -> (label, cell) of its last labelled writer
        for f in it.facts:
            if f is None:
                continue
            i, label = f.index, it.labels.get(f.index)
            if label == "featurization":
                names = sorted(r for r in f.reads if r in last and last[r][0] == "training")
                if names:
                    writers = sorted({last[r][1] for r in names})
                    lines = it.nb.cells[i].source.strip().splitlines()
                    print(f"{it.id} cell {i} reads {', '.join(names[:4])} from training cell(s) "
                          f"{writers}: {lines[0][:70] if lines else ''}")
                    n += 1
            if label:
                for w in f.defines | f.mutates:
                    last[w] = (label, i)
    print(f"{n} featurization cells read a training cell's output")


if __name__ == "__main__":
    main()
