"""Writes the PTX of every `gpu.binary` in an MLIR file (lorc-opt --lorc-cuda-pipeline output,
format=isa) to OUT_DIR/<binary name>.ptx, decoding MLIR's string escapes; prints how many.

  extract_ptx.py IN.mlir OUT_DIR
"""
import os
import re
import sys


def unescape(s):
    # MLIR prints non-printable bytes as \XX (hex) and a backslash or quote escaped.
    return re.sub(r'\\([0-9A-Fa-f]{2}|\\|")',
                  lambda m: m.group(1) if m.group(1) in ('\\', '"') else chr(int(m.group(1), 16)), s)


def main(src, out_dir):
    text = open(src).read()
    os.makedirs(out_dir, exist_ok=True)
    count = 0
    for m in re.finditer(r'gpu\.binary @(\w+)\s*\[#gpu\.object<.*?(?:assembly|bin) = "((?:[^"\\]|\\.)*)"', text):
        with open(os.path.join(out_dir, m.group(1) + ".ptx"), "w") as f:
            f.write(unescape(m.group(2)))
        count += 1
    print("extracted %d PTX modules" % count)
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
