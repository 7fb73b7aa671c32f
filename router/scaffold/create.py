"""Create ``modules/NAME/`` on ModuleBase and add it to the hub, docker compose and Kubernetes.

Everything is checked before the first file is written, so a refused name, an existing module
or a taken port leaves the repository as it was.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import templates

NAME = re.compile(r"^[a-z][a-z0-9_]{1,19}$")  # a module id that is also a Python package name
KINDS = ("action", "trigger")
ROUTER_PORT = 8000
FIRST_PORT = 8030
# Names a module package cannot take: they would shadow the project's own packages.
RESERVED = frozenset({"router", "flask_core", "modules", "tests", "libs", "deploy", "docs"})
HUB_LIST = Path("modules") / "hub.toml"
COMPOSE = Path("docker-compose.yml")
K8S_BASE = Path("deploy") / "k8s" / "base"
K8S_EXAMPLE_SECRETS = Path("deploy") / "k8s" / "overlays" / "example" / "secrets.example.yaml"
_COMPOSE_PORT = re.compile(r'^\s*MODULE_PORT:\s*"?(\d+)"?\s*$', re.MULTILINE)


class ScaffoldError(ValueError):
    """The module cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class Scaffolded:
    """What was created and changed, relative to the repository root."""

    name: str
    kind: str
    port: int
    written: list[Path] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)

    def next_steps(self) -> str:
        k8s = (K8S_BASE / "kustomization.yaml") in self.changed
        lines = [f"  + {path}" for path in self.written] + [f"  ~ {p}" for p in self.changed]
        return templates.NEXT_STEPS.format(
            name=self.name,
            kind=self.kind,
            port=self.port,
            files="\n".join(lines),
            k8s_step=(
                f";\n     on Kubernetes, the Secret hub-{dns_name(self.name)}-key"
                " (member ROUTER_API_KEY)"
                if k8s
                else ""
            ),
        )


def dns_name(name: str) -> str:
    """The name as Kubernetes and DNS accept it (no underscores)."""
    return name.replace("_", "-")


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) + "Module"


def new_module(root: Path, name: str, kind: str, port: int | None = None) -> Scaffolded:
    """Create module ``name`` of ``kind`` in the repository at ``root``; refuse on any clash."""
    _check_repository(root)
    _check_name(root, name, kind)
    taken = taken_ports(root)
    port = port if port is not None else _free_port(taken)
    if not 1024 <= port <= 65535:
        raise ScaffoldError(f"port {port} is outside 1024..65535")
    if port in taken:
        raise ScaffoldError(f"port {port} is already taken ({taken[port]})")
    k8s = (root / K8S_BASE / "kustomization.yaml").is_file()
    manifest = K8S_BASE / f"{dns_name(name)}.yaml"
    if k8s and (root / manifest).exists():
        raise ScaffoldError(f"{manifest} already exists")
    result = Scaffolded(name, kind, port)
    edits = _edits(root, result, k8s)  # refuses a malformed file before anything is written
    _write_package(root, result, k8s)
    if k8s:
        text = templates.K8S_MANIFEST.format(name=name, dns=dns_name(name), port=port)
        (root / manifest).write_text(text)
        result.written.append(manifest)
    for relative, text in edits.items():
        (root / relative).write_text(text)
        result.changed.append(relative)
    return result


def _check_repository(root: Path) -> None:
    if not (root / "modules").is_dir() or not (root / HUB_LIST).is_file():
        raise ScaffoldError(f"{root} is not a Router Hub checkout (no {HUB_LIST})")


def _check_name(root: Path, name: str, kind: str) -> None:
    if kind not in KINDS:
        raise ScaffoldError(f"--type must be one of {', '.join(KINDS)}, not {kind!r}")
    if not NAME.fullmatch(name) or keyword.iskeyword(name) or name in RESERVED:
        raise ScaffoldError(
            f"bad module name {name!r}: 2-20 characters of a-z, 0-9 and _, starting with a "
            "letter, and not a Python keyword or a project package"
        )
    hub_names = {entry["name"] for entry in _hub_entries(root)}
    for clash in (root / "modules" / name, root / "tests" / "modules" / name):
        if clash.exists():
            raise ScaffoldError(f"module {name!r} already exists ({clash.relative_to(root)})")
    if name in hub_names:
        raise ScaffoldError(f"module {name!r} is already listed in {HUB_LIST}")


def _hub_entries(root: Path) -> list[dict[str, object]]:
    entries = tomllib.loads((root / HUB_LIST).read_text()).get("module", [])
    return [entry for entry in entries if isinstance(entry, dict)]


def taken_ports(root: Path) -> dict[int, str]:
    """Every port the hub, docker compose or the router already use, with who uses it."""
    taken = {ROUTER_PORT: "the router"}
    for entry in _hub_entries(root):
        taken[int(str(entry["port"]))] = f"module {entry['name']} in {HUB_LIST}"
    compose = root / COMPOSE
    if compose.is_file():
        for match in _COMPOSE_PORT.finditer(compose.read_text()):
            taken.setdefault(int(match.group(1)), f"a service in {COMPOSE}")
    return taken


def _free_port(taken: dict[int, str]) -> int:
    port = max([FIRST_PORT - 1, *(p for p in taken if p >= FIRST_PORT)]) + 1
    if port > 65535:
        raise ScaffoldError("no free port left above 8030; pass --port")
    return port


def _fields(result: Scaffolded, k8s: bool) -> dict[str, object]:
    summary = (
        "Brings platform events to the router; its example action answers calls too."
        if result.kind == "trigger"
        else "Answers calls routed to it by the router."
    )
    return {
        "name": result.name,
        "kind": result.kind,
        "port": result.port,
        "cls": class_name(result.name),
        "summary": summary,
        "dns": dns_name(result.name),
        "k8s_note": f" and `{K8S_BASE}/{dns_name(result.name)}.yaml`" if k8s else "",
    }


def _write_package(root: Path, result: Scaffolded, k8s: bool) -> None:
    fields = _fields(result, k8s)
    package, tests = Path("modules") / result.name, Path("tests") / "modules" / result.name
    files = {
        package / "__init__.py": templates.INIT,
        package / "__main__.py": templates.MAIN,
        package / "module.py": templates.MODULE,
        package / "environment.py": templates.ENVIRONMENT,
        package / "README.md": templates.README,
        tests / "__init__.py": "",
        tests / f"test_{result.name}.py": templates.TEST,
    }
    for relative, template in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.format(**fields))
        result.written.append(relative)


def _section(lines: list[str], header: str, indent: str = "") -> tuple[int, int]:
    """The line range ``(start, end)`` of the block under ``header`` (up to the next sibling)."""
    try:
        start = lines.index(f"{indent}{header}\n")
    except ValueError as error:
        raise ScaffoldError(f"{COMPOSE} has no {header!r} section") from error
    sibling = re.compile(rf"^{indent}[A-Za-z]")
    end = next((i for i in range(start + 1, len(lines)) if sibling.match(lines[i])), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # before the blank lines that separate the blocks
    return start, end


def _with_compose_service(text: str, result: Scaffolded) -> str:
    """Add the service, its secrets volume, and that volume to the one-shot ``secrets`` service.

    Edited as text, so the file's comments, anchors and order stay as they are.
    """
    name, dns = result.name, dns_name(result.name)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    _, end = _section(lines, "volumes:")
    lines.insert(end, f"  {dns}-secrets:\n")
    start, end = _section(lines, "secrets:", "  ")
    mounts, _ = _section(lines[start:end], "volumes:", "    ")
    last = start + mounts + 1
    while last < end and lines[last].startswith("      - "):
        last += 1
    lines.insert(last, f"      - {dns}-secrets:/secrets/{name}\n")
    _, end = _section(lines, "services:")
    service = templates.COMPOSE_SERVICE.format(name=name, dns=dns, port=result.port)
    lines.insert(end, "\n" + service.rstrip("\n") + "\n")
    return "".join(lines)


def _with_resource(text: str, resource: str) -> str:
    """Append ``resource`` to a kustomization's ``resources:`` list, in the list's own indent."""
    lines = text.splitlines(keepends=True)
    try:
        start = lines.index("resources:\n")
    except ValueError as error:
        raise ScaffoldError(f"{K8S_BASE / 'kustomization.yaml'} has no resources: list") from error
    end = start + 1
    while end < len(lines) and lines[end].lstrip().startswith("- "):
        end += 1
    entries = lines[start + 1 : end]
    indent = entries[0][: len(entries[0]) - len(entries[0].lstrip())] if entries else "  "
    lines.insert(end, f"{indent}- {resource}\n")
    return "".join(lines)


def _edits(root: Path, result: Scaffolded, k8s: bool) -> dict[Path, str]:
    """The new text of every existing file the module is added to (nothing written yet)."""
    hub = (root / HUB_LIST).read_text()
    entry = templates.HUB_ENTRY.format(name=result.name, kind=result.kind, port=result.port)
    edits = {HUB_LIST: hub + ("" if hub.endswith("\n") else "\n") + entry}
    if (root / COMPOSE).is_file():
        edits[COMPOSE] = _with_compose_service((root / COMPOSE).read_text(), result)
    if k8s:
        kustomization = K8S_BASE / "kustomization.yaml"
        text = (root / kustomization).read_text()
        edits[kustomization] = _with_resource(text, f"{dns_name(result.name)}.yaml")
        if (root / K8S_EXAMPLE_SECRETS).is_file():  # the example overlay provides every Secret
            secret = templates.K8S_EXAMPLE_SECRET.format(dns=dns_name(result.name))
            edits[K8S_EXAMPLE_SECRETS] = (root / K8S_EXAMPLE_SECRETS).read_text() + secret
    return edits
