"""Filter: what to change so that a code directory holds exactly a source tree.

Both trees come from ansible.builtin.find (recurse, get_checksum): the source on the
controller, the code directory on the host before any change. One listing on each
side replaces a stat per file, so a converged host costs two tasks.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

OWNER = "root:root"


def _pycache(rel):
    return "__pycache__" in rel.split(os.sep)


def _want(src_files, src_root):
    want = {}
    for f in src_files:
        rel = os.path.relpath(f["path"], src_root)
        if f.get("isdir"):
            want[rel] = ("d", "0755", OWNER, None)
        elif f.get("isreg"):
            # Executable for the owner: the flows run their shell scripts directly.
            want[rel] = ("f", "0755" if f.get("xusr") else "0644", OWNER, f["checksum"])
        else:
            raise AnsibleFilterError(f"worker code bundle: {rel} is neither a file nor a directory (a symlink?); ship its target instead")
    return want


def _have(dst_files, dst_root):
    have = {}
    for f in dst_files:
        rel = os.path.relpath(f["path"], dst_root)
        if _pycache(rel):
            continue  # Python's own caches, written next to the code at run time
        kind = "d" if f.get("isdir") else "f" if f.get("isreg") else "other"
        have[rel] = (kind, f.get("mode"), f"{f.get('pw_name')}:{f.get('gr_name')}", f.get("checksum") if kind == "f" else None)
    return have


def _under(rel, roots):
    return any(rel == r or rel.startswith(r + os.sep) for r in roots)


def code_tree_plan(src_files, src_root, dst_files, dst_root, check_mode=False):
    """{'remove': [...], 'dirs': [...], 'files': [{'path', 'mode'}]}, paths relative.

    remove: what the source lacks or holds as another type, topmost only (removing a
    directory takes its contents). dirs, files: what is missing or differs in type,
    mode, owner or content, parents first. In check mode nothing is removed, so what
    would replace a removed path is left out (the removal already reports the change).
    """
    want = _want(src_files, src_root)
    have = _have(dst_files, dst_root)
    stale = {k for k, v in have.items() if k not in want or want[k][0] != v[0]}
    remove = sorted(k for k in stale if not _under(os.path.dirname(k), stale))
    ship = [k for k in sorted(want) if have.get(k) != want[k] and not (check_mode and _under(k, remove))]
    return {
        "remove": remove,
        "dirs": [k for k in ship if want[k][0] == "d"],
        "files": [{"path": k, "mode": want[k][1]} for k in ship if want[k][0] == "f"],
    }


class FilterModule:
    def filters(self):
        return {"code_tree_plan": code_tree_plan}
