"""deploy/k8s: rendered (base and overlay), validated against the Kubernetes schemas, checked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.kustomize import Manifest, UnsupportedKustomization, render

REPO = Path(__file__).resolve().parents[2]
# In a container the service must listen beyond loopback.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
K8S = REPO / "deploy" / "k8s"
BASE, OVERLAY = K8S / "base", K8S / "overlays" / "example"
# The oldest Kubernetes minor still maintained when the manifests were written, and the newest
# the validator ships: the manifests must be valid for both.
KUBERNETES_VERSIONS = ("1.32.0", kubernetes_validate.latest_version())
SERVICES = {"router": 8000, "quotes": 8020, "twitch": 8010, "discord": 8011}
# What each service needs to drain on SIGTERM (router/server.py: Hypercorn's 10 s graceful
# timeout, then background tasks get 5 s; flask_core/module/: 10 s for calls in flight, then
# Hypercorn's 10 s), plus the 5 s preStop pause.
DRAIN_SECONDS = {"router": 5 + 10 + 5, "quotes": 5 + 10 + 10, "twitch": 25, "discord": 25}


def _objects(kind: str, objects: list[Manifest]) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _pod(deployment: Manifest) -> dict[str, Any]:
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


@pytest.fixture(scope="module", params=[BASE, OVERLAY], ids=["base", "overlay"])
def rendered(request: pytest.FixtureRequest) -> list[Manifest]:
    return render(request.param)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_under_the_strict_kubernetes_schemas(
    rendered: list[Manifest], version: str
) -> None:
    for manifest in rendered:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{manifest['kind']}/{manifest['metadata']['name']}"
            pytest.fail(f"{name} under {version}: {error.message} at {list(error.path)}")


def test_a_schema_error_is_caught() -> None:
    deployment = _objects("Deployment", render(BASE))["router"]
    _pod(deployment)["containers"][0]["livenessProbe"]["httpGet"]["port"] = {"no": "port"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
    _pod(deployment)["containers"][0]["livenessProbe"]["httpGet"]["port"] = "http"
    _pod(deployment)["containers"][0]["unknownField"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_each_service_has_a_hardened_one_worker_deployment_and_a_service(
    rendered: list[Manifest],
) -> None:
    deployments, services = _objects("Deployment", rendered), _objects("Service", rendered)
    assert set(deployments) == set(SERVICES) == set(services)
    for name, port in SERVICES.items():
        pod = _pod(deployments[name])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        assert pod["terminationGracePeriodSeconds"] >= DRAIN_SECONDS[name] + 5
        (container,) = pod["containers"]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert {"requests", "limits"} <= set(container["resources"])
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        for writable in ("/data", "/tmp"):
            assert "emptyDir" in volumes[mounts[writable]], writable
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert services[name]["spec"]["ports"][0]["port"] == port
        assert container["command"] == [
            "python",
            "-m",
            "router" if name == "router" else f"modules.{name}",
        ]
        liveness, readiness = container["livenessProbe"], container["readinessProbe"]
        assert liveness["httpGet"]["path"] == "/health"
        assert readiness["httpGet"]["path"] == ("/ready" if name == "router" else "/health")
        env = _env(container)
        if name == "router":
            assert env["ROUTER_WORKERS"] == "1" and env["ROUTER_HOST"] == ALL_INTERFACES
        else:
            assert env["MODULE_HOST"] == ALL_INTERFACES
            assert env["MODULE_BASE_URL"] == f"http://$(POD_IP):{port}"
            assert env["ROUTER_API_KEY_FILE"] == "/secrets/ROUTER_API_KEY"
        # Each service mounts its own secret: a module never sees the signing or admin key.
        secret = volumes[mounts["/secrets"]]["secret"]
        wanted = "hub-router-keys" if name == "router" else f"hub-{name}-key"
        assert secret["secretName"] == wanted
        # Secret files belong to root and the fsGroup: the user reads them through the group.
        assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
        assert secret["defaultMode"] & 0o040 and not secret["defaultMode"] & 0o007


def test_scaling_and_disruption_objects(rendered: list[Manifest]) -> None:
    (autoscaler,) = _objects("HorizontalPodAutoscaler", rendered).values()
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "router"
    assert autoscaler["spec"]["minReplicas"] >= 2
    budgets = _objects("PodDisruptionBudget", rendered)
    assert set(budgets) == set(SERVICES)
    for name, budget in budgets.items():
        assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}


def test_redis_settings_live_in_the_config_map(rendered: list[Manifest]) -> None:
    config = _objects("ConfigMap", rendered)["hub-config"]["data"]
    for key in ("REDIS_MODE", "REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"):
        assert key in config
    assert "HUB_NAMESPACE" in config
    assert config["REDIS_MODE"] in ("standalone", "cluster", "sentinel")
    for deployment in _objects("Deployment", rendered).values():
        refs = _pod(deployment)["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": "hub-config"}} in refs


def _secret_refs(deployment: Manifest) -> set[tuple[str, str]]:
    """(secret, key) pairs a Deployment needs (optional references excluded)."""
    pod = _pod(deployment)
    refs = set()
    env = {item["name"]: item.get("value") for item in pod["containers"][0]["env"]}
    for volume in pod["volumes"]:
        if "secret" in volume:
            name = volume["secret"]["secretName"]
            if "items" in volume["secret"]:
                refs |= {(name, item["key"]) for item in volume["secret"]["items"]}
            elif name == "hub-router-keys":  # whole Secret: the files the router is told to read
                files = (env["ROUTER_SIGNING_KEY_FILE"], env["ROUTER_BOOTSTRAP_KEYS_FILE"])
                refs |= {(name, path.rsplit("/", 1)[1]) for path in files}
            else:
                refs.add((name, env["ROUTER_API_KEY_FILE"].rsplit("/", 1)[1]))
    for item in pod["containers"][0]["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref and not ref.get("optional"):
            refs.add((ref["name"], ref["key"]))
    return refs


def test_the_overlay_provides_every_secret_the_base_references_with_example_values() -> None:
    objects = render(OVERLAY)
    provided = {
        (name, key)
        for name, secret in _objects("Secret", objects).items()
        for key in secret["stringData"]
    }
    for deployment in _objects("Deployment", objects).values():
        missing = _secret_refs(deployment) - provided
        assert not missing, f"{deployment['metadata']['name']} needs {missing}"
    assert not _objects("Secret", render(BASE)), "the base must not carry secret values"
    text = (OVERLAY / "secrets.example.yaml").read_text()
    assert "EXAMPLE VALUES ONLY" in text
    for secret in _objects("Secret", objects).values():
        for key, value in secret["stringData"].items():
            assert "EXAMPLE" in value, f"{key} must be marked as an example value"
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    assert namespaces == {"router-hub-example"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) absent")
@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_the_renderer_agrees_with_kubectl_kustomize(directory: Path) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    output = subprocess.run(  # noqa: S603
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert output.returncode == 0, output.stderr

    def keyed(objects: list[Manifest]) -> dict[tuple[str, str], Manifest]:
        return {(o["kind"], o["metadata"]["name"]): o for o in objects}

    assert keyed(list(yaml.safe_load_all(output.stdout))) == keyed(render(directory))


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\nconfigMapGenerator:\n  - name: x\n    literals: [A=1]\n"
    )
    with pytest.raises(UnsupportedKustomization, match="configMapGenerator"):
        render(tmp_path)
