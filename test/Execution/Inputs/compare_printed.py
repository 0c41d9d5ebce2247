"""Compares the numbers two mlir-runner printMemref outputs print, in order.

Usage: compare_printed.py ACTUAL REFERENCE TOLERANCE
Prints one line per output, "output N: K values, max |d| X, OK|MISMATCH", then "PASS"/"FAIL";
exits 1 on a mismatch (a different count of values, or |d| > TOLERANCE·max(1, |ref|)).
"""
import re
import sys

NUMBER = re.compile(r"[-+]?(?:nan|inf|\d+\.?\d*(?:e[-+]?\d+)?)", re.IGNORECASE)


def outputs(path):
    """The printed tensors: each starts at an 'Unranked Memref' header, values after 'data ='."""
    blocks, current = [], None
    with open(path) as f:
        for line in f:
            if line.startswith("Unranked Memref"):
                current = []
                blocks.append(current)
                continue
            if current is not None:
                current.extend(float(x) for x in NUMBER.findall(line))
    return blocks


def main():
    actual, reference, tol = outputs(sys.argv[1]), outputs(sys.argv[2]), float(sys.argv[3])
    ok = len(actual) == len(reference) and len(actual) > 0
    if len(actual) != len(reference):
        print(f"{len(actual)} outputs, reference has {len(reference)}")
    for n, (a, r) in enumerate(zip(actual, reference)):
        same = len(a) == len(r)
        worst = max((abs(x - y) for x, y in zip(a, r)), default=0.0)
        good = same and all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a, r))
        print(f"output {n}: {len(a)} values, max |d| {worst:.3g}, {'OK' if good else 'MISMATCH'}")
        ok = ok and good
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
