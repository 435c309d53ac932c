"""roles/mlex_worker_code's tree filter: what a converge removes and ships so that
the code directory holds exactly the bundle (the e2e facility tests run it on a host)."""
import pytest
from ansible.errors import AnsibleFilterError
from conftest import load_plugin

code_tree = load_plugin("roles/mlex_worker_code/filter_plugins/code_tree.py")

SRC, DST = "/ctl/code", "/opt/code"


def src(rel, checksum=None, xusr=False):
    if checksum is None:
        return {"path": f"{SRC}/{rel}", "isdir": True, "isreg": False}
    return {"path": f"{SRC}/{rel}", "isdir": False, "isreg": True, "checksum": checksum, "xusr": xusr}


def dst(rel, checksum=None, mode=None, owner="root", kind=None):
    kind = kind or ("d" if checksum is None else "f")
    return {"path": f"{DST}/{rel}", "isdir": kind == "d", "isreg": kind == "f",
            "mode": mode or ("0755" if kind == "d" else "0644"), "pw_name": owner, "gr_name": "root",
            **({"checksum": checksum} if kind == "f" else {})}


SOURCE = [src("flows"), src("flows/run.sh", "a", xusr=True), src("flows/f.py", "b"), src("README.md", "c")]
CONVERGED = [dst("flows"), dst("flows/run.sh", "a", mode="0755"), dst("flows/f.py", "b"), dst("README.md", "c")]


def plan(have, check_mode=False, source=SOURCE):
    return code_tree.code_tree_plan(source, SRC, have, DST, check_mode)


def test_a_converged_directory_needs_nothing():
    assert plan(CONVERGED) == {"remove": [], "dirs": [], "files": []}


def test_an_empty_directory_gets_everything_parents_first_with_exec_bits():
    p = plan([])
    assert p["remove"] == [] and p["dirs"] == ["flows"]
    assert p["files"] == [{"path": "README.md", "mode": "0644"}, {"path": "flows/f.py", "mode": "0644"},
                          {"path": "flows/run.sh", "mode": "0755"}]


@pytest.mark.parametrize("changed", [
    dst("flows/f.py", "edited"),                 # content
    dst("flows/f.py", "b", mode="0600"),         # mode
    dst("flows/f.py", "b", owner="nobody"),      # owner
])
def test_a_drifted_file_is_shipped_again_alone(changed):
    have = [e for e in CONVERGED if not e["path"].endswith("f.py")] + [changed]
    assert plan(have) == {"remove": [], "dirs": [], "files": [{"path": "flows/f.py", "mode": "0644"}]}


def test_extras_are_removed_topmost_only_and_pycache_is_left_alone():
    have = CONVERGED + [dst(".git"), dst(".git/objects"), dst(".git/objects/x", "x"), dst("stray.py", "s"),
                        dst("flows/__pycache__"), dst("flows/__pycache__/f.cpython-311.pyc", "p")]
    assert plan(have) == {"remove": [".git", "stray.py"], "dirs": [], "files": []}


def test_a_type_switch_removes_then_ships_and_check_mode_skips_what_it_cannot_create():
    have = [dst("flows", "was-a-file"), dst("README.md", kind="d"), dst("README.md/x", "x")]
    p = plan(have)
    assert p["remove"] == ["README.md", "flows"] and p["dirs"] == ["flows"]
    assert [f["path"] for f in p["files"]] == ["README.md", "flows/f.py", "flows/run.sh"]
    # Check mode removes nothing: the removal reports the change, the rest is left out.
    assert plan(have, check_mode=True) == {"remove": ["README.md", "flows"], "dirs": [], "files": []}


def test_a_symlink_in_the_bundle_is_refused_by_name():
    link = {"path": f"{SRC}/flows/link", "isdir": False, "isreg": False, "islnk": True}
    with pytest.raises(AnsibleFilterError, match="flows/link is neither a file nor a directory"):
        plan([], source=SOURCE + [link])
