"""``ROUTER_MODULE_NETWORKS``: the networks a registered ``base_url`` and the prober may reach.

Without a fence the registry is a port-scan oracle: anyone who may register names any address
and the health prober fetches it. Host names are resolved and every address they resolve to
must lie inside the fence, at registration and again at each probe (a name may be re-pointed
after it was registered), and the prober then connects to the address it checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(text: str) -> tuple[Network, ...]:
    """``10.0.0.0/8, 127.0.0.1/32`` → networks; ValueError naming the bad entry."""
    networks: list[Network] = []
    for part in text.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not a CIDR such as 10.0.0.0/8") from None
    if not networks:
        raise ValueError("names no network")
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class Reachable:
    """A URL inside the fence, with the addresses its host resolved to when it was checked."""

    url: str
    addresses: tuple[Address, ...]  # empty when no fence applies (the client resolves)

    def pinned(self) -> list[tuple[str, dict[str, str]]]:
        """The URLs to try in order, with their extra headers: plain HTTP connects to a
        checked address (Host keeps the name), so the name cannot be re-pointed between check
        and fetch."""
        parts = urlsplit(self.url)
        if not self.addresses or parts.scheme != "http" or parts.hostname is None:
            return [(self.url, {})]
        host_header = {"Host": parts.netloc.rpartition("@")[2]}
        return [(_with_host(parts, address), host_header) for address in self.addresses]


def _with_host(parts: SplitResult, address: Address) -> str:
    literal = address.compressed
    host = f"[{literal}]" if address.version == 6 else literal
    netloc = f"{host}:{parts.port}" if parts.port else host
    return SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment).geturl()


class ModuleNetworks:
    """Decides whether a module URL lies inside the configured networks (empty: anywhere)."""

    def __init__(self, networks: tuple[Network, ...] = ()) -> None:
        self.networks = networks

    @property
    def fenced(self) -> bool:
        return bool(self.networks)

    def contains(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    async def check(self, url: str) -> Reachable | None:
        """The URL with its checked address, or None when it leads outside the fence."""
        if not self.fenced:
            return Reachable(url, ())
        host = urlsplit(url).hostname
        if not host:
            return None
        addresses = await _resolve(host)
        if not addresses or not all(self.contains(address) for address in addresses):
            return None
        return Reachable(url, tuple(addresses))


async def _resolve(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # Scope ids (fe80::1%eth0) are not part of the address the fence speaks of.
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses
