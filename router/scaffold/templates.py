"""The files of a new module, as text: the package, its test and its README.

Placeholders are ``str.format`` fields; literal braces in the generated code are doubled.
"""

from __future__ import annotations

INIT = '''"""The {name} {kind} module."""

__version__ = "0.1.0"
'''

MAIN = '''"""``python -m modules.{name}``: serve the module (port {port} unless MODULE_PORT)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_core.module import ModuleSettings
from modules.entry import module_main

from . import __version__
from .environment import SECTIONS
from .module import DEFAULT_PORT, {cls}


def _settings(environ: Mapping[str, str]) -> ModuleSettings:
    return ModuleSettings.from_env(
        environ,
        default_name="{name}",
        default_port=DEFAULT_PORT,
        version=__version__,
    )


def main(argv: Sequence[str] | None = None) -> None:
    module_main(
        argv,
        name="{name}",
        description="Router Hub: the {name} {kind} module.",
        sections=SECTIONS,
        read_settings=_settings,
        build={cls},
    )


if __name__ == "__main__":
    main()
'''

ENVIRONMENT = '''"""The {name} module's environment variables, printed by ``--help``."""

from __future__ import annotations

from flask_core.variables import COMMON_VARIABLES, Variable, module_variables

from .module import DEFAULT_PORT

VARIABLES: tuple[Variable, ...] = (*module_variables("{name}", DEFAULT_PORT),)

SECTIONS = (("{name} module", VARIABLES), ("every service", COMMON_VARIABLES))
'''

MODULE = '''"""The {name} module: its example action ``{name}.echo``, run by ``!{name}``."""

from __future__ import annotations

from typing import Any

from flask_core.module import ActionCall, ModuleBase, ModuleSettings

DEFAULT_PORT = {port}


class {cls}(ModuleBase):
    """{summary}"""

    module_type = "{kind}"

    def __init__(self, settings: ModuleSettings) -> None:
        super().__init__(settings)
        self.action("{name}.echo", timeout_ms=2000)(self.echo)
        self.command("!{name}", "{name}.echo")

    async def echo(self, call: ActionCall) -> dict[str, Any]:
        """Answer with what was asked: replace this with the module's own work."""
        return {{
            "echo": call.params.get("text", ""),
            "community_id": call.community_id,
            "user_id": call.user_id,
        }}
'''

TEST = '''"""The {name} module against a real router: it registers and answers its action."""

from __future__ import annotations

from flask_core.module import ModuleSettings
from modules.{name}.module import {cls}
from tests.modules.conftest import LiveRouter, wait_running
from tests.support.servers import free_port, serve_app


async def test_the_example_action_answers_through_the_router(live_router: LiveRouter) -> None:
    key = await live_router.keys("{kind}", module_id="{name}", app=live_router.app)
    settings = ModuleSettings(
        name="{name}",
        version="0.1.0",
        port=free_port(),
        router_url=live_router.url,
        router_api_key=key,
        drain_seconds=2,
    )
    module = {cls}(settings)
    async with serve_app(module.app, settings.port):
        await wait_running(module)
        user = await live_router.keys("user", communities=["c1"], app=live_router.app)
        answer = await live_router.http.post(
            f"{{live_router.url}}/api/v1/action/{name}.echo",
            json={{"user_id": "twitch:1", "params": {{"text": "hello"}}}},
            headers={{"X-API-Key": user, "X-Community-ID": "c1"}},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {{
        "echo": "hello",
        "community_id": "c1",
        "user_id": "twitch:1",
    }}
'''

README = """# {name}

A Router Hub {kind} module on `flask_core.module.ModuleBase`, created by
`python -m router new-module {name} --type {kind} --port {port}`.

- `modules/{name}/module.py`: `{cls}` and its example action `{name}.echo` (chat command
  `!{name}`). Add actions with `self.action("{name}.something")(handler)`, endpoints reachable
  through `/api/v1/services/{name}/...` with `@module.endpoint("/path")`.
- `tests/modules/{name}/`: the module against a real router.
- Run it: `make run` starts it with the hub on port {port}; alone:
  `ROUTER_URL=http://127.0.0.1:8000 ROUTER_API_KEY=... python -m modules.{name}`.
- Deployment: the `{dns}` service in `docker-compose.yml`{k8s_note}; its key is minted by
  `python -m router secrets init` (into `{name}/ROUTER_API_KEY`), as for every listed module.

See `docs/modules.md` for the whole contract (registration, tokens, events, replies).
"""

COMPOSE_SERVICE = """  {dns}:
    <<: *hub-image
    command: ["python", "-m", "modules.{name}"]
    environment:
      <<: *redis-env
      MODULE_HOST: 0.0.0.0
      MODULE_PORT: "{port}"
      MODULE_BASE_URL: http://{dns}:{port}
      ROUTER_URL: http://router:8000
      ROUTER_API_KEY_FILE: /secrets/ROUTER_API_KEY
    volumes:
      - {dns}-secrets:/secrets:ro
    expose: ["{port}"]
    healthcheck:
      <<: *module-health
      test: ["CMD", "python", "-m", "flask_core.probe", "http://127.0.0.1:{port}/health"]
    stop_grace_period: 30s
    depends_on:
      router: {{condition: service_healthy}}
    restart: unless-stopped

"""

K8S_MANIFEST = """# The {name} module (created by python -m router new-module).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {dns}
  labels: {{app.kubernetes.io/name: {dns}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app.kubernetes.io/name: {dns}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {dns}}}
    spec:
      automountServiceAccountToken: false
      # preStop 5 s + the module's drain + Hypercorn's 10 s graceful close.
      terminationGracePeriodSeconds: 35
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: {dns}
          image: router-hub
          command: ["python", "-m", "modules.{name}"]
          ports:
            - {{name: http, containerPort: {port}}}
          envFrom:
            - configMapRef: {{name: hub-config}}
          env:
            - name: POD_IP
              valueFrom:
                fieldRef: {{fieldPath: status.podIP}}
            - name: POD_NAME
              valueFrom:
                fieldRef: {{fieldPath: metadata.name}}
            - {{name: MODULE_HOST, value: 0.0.0.0}}
            - {{name: MODULE_PORT, value: "{port}"}}
            # Each pod registers its own address, so the router balances and breaks per pod.
            - {{name: MODULE_BASE_URL, value: "http://$(POD_IP):{port}"}}
            - {{name: MODULE_INSTANCE_ID, value: "$(POD_NAME)"}}
            - {{name: ROUTER_API_KEY_FILE, value: /secrets/ROUTER_API_KEY}}
          livenessProbe:
            httpGet: {{path: /health, port: http}}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            # 503 while draining, so a leaving pod gets no new traffic.
            httpGet: {{path: /health, port: http}}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "5"]
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: 500m, memory: 256Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - {{name: data, mountPath: /data}}
            - {{name: tmp, mountPath: /tmp}}
            - {{name: secrets, mountPath: /secrets, readOnly: true}}
      volumes:
        - name: data
          emptyDir: {{sizeLimit: 256Mi}}
        - name: tmp
          emptyDir: {{sizeLimit: 64Mi}}
        - name: secrets
          # Its own key only: kubectl create secret generic hub-{dns}-key --from-file=DIR/{name}
          secret:
            secretName: hub-{dns}-key
            defaultMode: 0440
---
apiVersion: v1
kind: Service
metadata:
  name: {dns}
  labels: {{app.kubernetes.io/name: {dns}}}
spec:
  selector: {{app.kubernetes.io/name: {dns}}}
  ports:
    - {{name: http, port: {port}, targetPort: http}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {dns}
spec:
  # maxUnavailable, not minAvailable: a one-replica module must still let a node drain.
  maxUnavailable: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: {dns}}}
"""

# An example placeholder, as the overlay holds for every module.
K8S_EXAMPLE_SECRET = """---
apiVersion: v1
kind: Secret
metadata:
  name: hub-{dns}-key
type: Opaque
stringData:
  ROUTER_API_KEY: EXAMPLE-NOT-A-KEY
"""  # noqa: S105

HUB_ENTRY = """
[[module]]
name = "{name}"
role = "{kind}"
port = {port}
"""

NEXT_STEPS = """Created module {name} ({kind}) on port {port}:
{files}
Next steps:
  1. Write the module's work in modules/{name}/module.py (the example action is {name}.echo);
     list its variables in environment.py and in docs/configuration.md.
  2. Run its test:  .venv/bin/python -m pytest tests/modules/{name} -q
  3. Start the hub: make run   (the router on :8000, {name} on :{port})
  4. Call it:       curl -X POST http://127.0.0.1:8000/api/v1/action/{name}.echo \\
                      -H "X-API-Key: $KEY" -H "X-Community-ID: c1" \\
                      -H "Content-Type: application/json" \\
                      -d '{{"user_id": "twitch:1", "params": {{"text": "hi"}}}}'
  5. Deploy: `python -m router secrets init DIR` now also mints {name}/ROUTER_API_KEY
     (docker compose runs it for you){k8s_step}.
  Guide: docs/modules.md
"""
