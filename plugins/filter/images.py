"""Filters for the algorithm images role job_images: image_refs, algorithm_images,
images_to_pull, registry_auths, registry_ca_files.

An image a job runs is named by "name:tag" (MLExchange's image_name and image_tag);
an inventory may pin it to a digest, "name:tag@sha256:<hex>": the host then pulls
that digest and tags it name:tag, so the job runs exactly that image whatever the
registry's tag points to later.
"""

from __future__ import annotations

import base64
import json
import re

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REF = re.compile(
    r"^(?P<name>(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?%s(?:/%s)*)" % (_COMPONENT, _COMPONENT)
    + r":(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def image_refs(refs):
    """Each "name:tag[@sha256:...]" as {ref, name, tag, digest, pull, ok}; pull is what
    `podman pull` gets (the digest when pinned). ok is false for anything else."""
    parsed = []
    for ref in refs:
        match = REF.match(str(ref))
        if not match:
            parsed.append(dict(ref=str(ref), name="", tag="", digest="", pull="", ok=False))
            continue
        name, tag, digest = match.group("name", "tag", "digest")
        parsed.append(dict(ref=str(ref), name=name, tag=tag, digest=digest or "",
                           pull="%s@%s" % (name, digest) if digest else "%s:%s" % (name, tag), ok=True))
    return parsed


def algorithm_images(algorithms):
    """The "name:tag[@digest]" of each model in config.yml's algorithms (image_name,
    image_tag as the parent flow reads them, optional image_digest)."""
    refs = []
    for model in (algorithms or {}).values():
        if not isinstance(model, dict) or not model.get("image_name"):
            continue
        ref = "%s:%s" % (model["image_name"], model.get("image_tag") or "latest")
        if model.get("image_digest"):
            ref += "@" + model["image_digest"]
        refs.append(ref)
    return refs


def images_to_pull(inspected):
    """The image_refs entries (loop items of `podman image inspect --format
    '{{json .RepoDigests}}' name:tag`) to pull: missing, or pinned to a digest the
    local name:tag is not."""
    pull = []
    for result in inspected:
        image = result["item"]
        if result.get("rc") != 0:
            pull.append(image)
        elif image["digest"]:
            try:
                digests = json.loads(result.get("stdout") or "null") or []
            except ValueError:
                digests = []
            if "%s@%s" % (image["name"], image["digest"]) not in digests:
                pull.append(image)
    return pull


def registry_auths(registries):
    """{"auths": {registry: {"auth": base64("user:password")}}}: an engine auth file's entries."""
    return {"auths": {r["registry"]: {"auth": base64.b64encode(
        ("%s:%s" % (r["username"], r["password"])).encode()).decode()} for r in registries or []}}


def registry_ca_files(registries):
    """[{registry, ca_file}] of the registries with their own CA: loop items without the password."""
    return [dict(registry=r["registry"], ca_file=r["ca_file"]) for r in registries or [] if r.get("ca_file")]


class FilterModule:
    def filters(self):
        return {"image_refs": image_refs, "algorithm_images": algorithm_images, "images_to_pull": images_to_pull,
                "registry_auths": registry_auths, "registry_ca_files": registry_ca_files}
