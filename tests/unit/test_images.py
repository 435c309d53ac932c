"""plugins/filter/images.py: the job images a host pulls, and the credentials it keeps."""
import base64
import json

import pytest

from conftest import load_plugin

f = load_plugin("plugins/filter/images.py")
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("ref, name, tag, digest, pull", [
    ("registry.example.org/mlex/autoencoder:1.2", "registry.example.org/mlex/autoencoder", "1.2", "",
     "registry.example.org/mlex/autoencoder:1.2"),
    (f"127.0.0.1:5000/mlex/smoke-algorithm:1@{DIGEST}", "127.0.0.1:5000/mlex/smoke-algorithm", "1", DIGEST,
     f"127.0.0.1:5000/mlex/smoke-algorithm@{DIGEST}"),
    ("registry.example.org/mlexchange/mlex_pytorch_autoencoders:main", "registry.example.org/mlexchange/mlex_pytorch_autoencoders", "main", "",
     "registry.example.org/mlexchange/mlex_pytorch_autoencoders:main"),
])
def test_a_tagged_reference_is_split_and_a_pinned_one_pulled_by_digest(ref, name, tag, digest, pull):
    [parsed] = f.image_refs([ref])
    assert parsed == dict(ref=ref, name=name, tag=tag, digest=digest, pull=pull, ok=True)


@pytest.mark.parametrize("ref", [
    "registry.example.org/mlex/autoencoder",          # no tag: which one would run?
    "127.0.0.1:5000/mlex/autoencoder",                 # the port is not a tag
    "registry.example.org/mlex/autoencoder:1@sha256:abc",
    "Registry/Upper:1", "img:1 --privileged", "",
])
def test_anything_else_is_not_ok(ref):
    assert f.image_refs([ref])[0]["ok"] is False


def test_algorithms_give_their_images_with_the_parent_flows_default_tag():
    algorithms = {"a": {"image_name": "reg/x", "image_tag": "2"}, "b": {"image_name": "reg/y"},
                  "c": {"image_name": "reg/z", "image_tag": 3, "image_digest": DIGEST}, "d": {"python_file_name": {}}}
    assert f.algorithm_images(algorithms) == ["reg/x:2", "reg/y:latest", f"reg/z:3@{DIGEST}"]
    assert f.algorithm_images({}) == [] and f.algorithm_images(None) == []


def test_only_missing_or_wrongly_pinned_images_are_pulled():
    plain, pinned, moved = f.image_refs(["reg/a:1", f"reg/b:1@{DIGEST}", f"reg/c:1@{DIGEST}"])
    inspected = [
        {"item": plain, "rc": 0, "stdout": '["reg/a@sha256:' + "cd" * 32 + '"]'},
        {"item": pinned, "rc": 0, "stdout": json.dumps([f"reg/b@{DIGEST}"])},
        {"item": moved, "rc": 0, "stdout": json.dumps(["reg/c@sha256:" + "ef" * 32])},
    ]
    assert f.images_to_pull(inspected) == [moved]
    assert f.images_to_pull([{"item": plain, "rc": 125, "stdout": ""}]) == [plain]


def test_credentials_become_auth_file_entries_and_ca_items_carry_no_password():
    registries = [{"registry": "reg:5000", "username": "u", "password": "p:w", "ca_file": "/ca.pem"},
                  {"registry": "other", "username": "v", "password": "q"}]
    auths = f.registry_auths(registries)["auths"]
    assert base64.b64decode(auths["reg:5000"]["auth"]).decode() == "u:p:w"
    assert f.registry_ca_files(registries) == [{"registry": "reg:5000", "ca_file": "/ca.pem"}]


def _collector():
    import importlib.machinery
    import importlib.util

    from conftest import ROOT
    loader = importlib.machinery.SourceFileLoader("collect_job_images", str(ROOT / "roles/job_images/files/collect-job-images"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def test_the_collector_takes_only_unused_images_of_the_job_registries():
    images = [
        {"Id": "unused", "Names": ["reg:5000/m/x:2"], "Containers": 0},
        {"Id": "kept", "Names": ["reg:5000/m/x:1"], "Containers": 0},
        {"Id": "in-use", "Names": ["reg:5000/m/y:1"], "Containers": 1},
        {"Id": "local-build", "Names": ["localhost/prefect-with-podman:latest"]},
        {"Id": "also-elsewhere", "Names": ["reg:5000/m/z:1", "other.example/z:1"]},
        {"Id": "untagged", "Names": [], "RepoDigests": [f"reg:5000/m/x@{DIGEST}"]},
        {"Id": "hub", "Names": ["docker.io/library/debian:12"]},
        {"Id": "nameless", "Names": [], "RepoDigests": []},
    ]
    got = [i["Id"] for i in _collector().candidates(images, {"reg:5000"}, {"reg:5000/m/x:1"})]
    assert got == ["unused", "untagged"]
