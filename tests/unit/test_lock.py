"""Every direct tool dependency is pinned exactly in the lock."""
import re

from conftest import ROOT


def names(path, pinned=False):
    out = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        m = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(==)?\s*([^,;\s]*)", line)
        out[m.group(1).lower().replace("_", "-")] = (m.group(3), m.group(4))
    return out


def test_every_direct_dependency_is_pinned():
    direct = names("requirements/tools.in")
    lock = names("requirements/tools.txt")
    missing = [n for n in direct if n not in lock]
    assert not missing, f"not in requirements/tools.txt: {missing} (run make lock)"
    loose = [n for n, (op, _) in lock.items() if op != "=="]
    assert not loose, f"lock entries without ==: {loose}"
