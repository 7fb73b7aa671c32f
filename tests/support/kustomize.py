"""A small kustomize renderer: the subset ``deploy/k8s`` uses, so CI needs no kustomize binary.

Neither PyPI nor Debian (bookworm) ships a current kustomize, so the manifests are rendered here
and, where ``kubectl`` is installed, the tests check that this renderer agrees with
``kubectl kustomize`` on every object. Supported fields (anything else is refused, so a new
field in a kustomization cannot be silently ignored):

- ``resources``: YAML files (several documents each) and directories holding a kustomization;
- ``namespace``: set on every namespaced object;
- ``labels`` with ``pairs``: added to ``metadata.labels`` only (kustomize's default, without
  ``includeSelectors`` / ``includeTemplates``);
- ``images``: ``newName`` / ``newTag`` for containers whose image (without tag) is ``name``;
- ``replicas``: ``count`` for the Deployment named ``name``;
- ``patches``: JSON 6902 operations (``add``, ``replace``, ``remove``) with a ``target`` of
  ``kind`` and ``name``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

KNOWN_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


class UnsupportedKustomization(ValueError):
    """The kustomization uses something this renderer does not implement."""


def render(directory: Path) -> list[Manifest]:
    """Every object the kustomization in ``directory`` produces."""
    config = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(config) - KNOWN_FIELDS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: unsupported fields {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in config.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for patch in config.get("patches", []):
        _patch(objects, patch)
    for wanted in config.get("replicas", []):
        _named(objects, "Deployment", wanted["name"])["spec"]["replicas"] = wanted["count"]
    for image in config.get("images", []):
        _set_images(objects, image)
    for label in config.get("labels", []):
        if set(label) - {"pairs"}:
            raise UnsupportedKustomization(f"{directory}: labels support only 'pairs'")
        for manifest in objects:
            manifest.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    if "namespace" in config:
        for manifest in objects:
            _set_namespace(manifest, config["namespace"])
    return objects


def _named(objects: list[Manifest], kind: str, name: str) -> Manifest:
    for manifest in objects:
        if manifest["kind"] == kind and manifest["metadata"]["name"] == name:
            return manifest
    raise UnsupportedKustomization(f"no {kind} named {name}")


def _set_namespace(manifest: Manifest, namespace: str) -> None:
    if manifest["kind"] not in CLUSTER_SCOPED:
        manifest["metadata"]["namespace"] = namespace


def _containers(manifest: Manifest) -> list[dict[str, Any]]:
    pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _set_images(objects: list[Manifest], image: dict[str, str]) -> None:
    for manifest in objects:
        for container in _containers(manifest):
            name, _, tag = container["image"].partition(":")
            if name != image["name"]:
                continue
            new_name = image.get("newName", name)
            new_tag = image.get("newTag", tag)
            container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _patch(objects: list[Manifest], patch: dict[str, Any]) -> None:
    target = patch.get("target", {})
    if set(target) - {"kind", "name"} or "path" in patch:
        raise UnsupportedKustomization("patches support inline JSON 6902 with kind/name targets")
    manifest = _named(objects, target["kind"], target["name"])
    for operation in yaml.safe_load(patch["patch"]):
        _apply(manifest, operation)


def _apply(document: Manifest, operation: dict[str, Any]) -> None:
    steps = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
    parent: Any = document
    for step in steps[:-1]:
        parent = parent[int(step)] if isinstance(parent, list) else parent[step]
    last = steps[-1]
    op = operation["op"]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            parent[index] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del parent[index]
        else:
            raise UnsupportedKustomization(f"JSON patch op {op!r}")
        return
    if op in ("add", "replace"):
        if op == "replace" and last not in parent:
            raise UnsupportedKustomization(f"replace of a missing member {operation['path']}")
        parent[last] = copy.deepcopy(operation["value"])
    elif op == "remove":
        del parent[last]
    else:
        raise UnsupportedKustomization(f"JSON patch op {op!r}")
