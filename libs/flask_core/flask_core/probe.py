"""``python -m flask_core.probe [URL]``: a container health check with nothing but the stdlib.

Exits 0 when ``URL`` answers 2xx within the timeout, else 1 with one line on stderr. Without a
URL it asks this container's own service: ``http://127.0.0.1:{port}/health`` where the port is
``MODULE_PORT`` (modules), else ``ROUTER_PORT``, else 8000, so one image-wide ``HEALTHCHECK``
fits every service. The probe runs inside the container, so it always targets loopback.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

TIMEOUT_SECONDS = 3.0


def default_url(environ: Mapping[str, str]) -> str:
    port = environ.get("MODULE_PORT") or environ.get("ROUTER_PORT") or "8000"
    return f"http://127.0.0.1:{port}/health"


def probe(url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when ``url`` answers 2xx, else why not."""
    if not url.startswith(("http://", "https://")):
        return f"not an http(s) URL: {url}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - scheme checked
            status = int(answer.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        return f"{url}: {getattr(error, 'reason', error)}"
    return None if 200 <= status < 300 else f"{url}: HTTP {status}"


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    url = argv[0] if argv else default_url(environ)
    failure = probe(url)
    if failure is not None:
        print(f"unhealthy: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
