"""``python -m modules.discord say "/quote"``: run a slash command, see what the bot answers.

The interaction is signed with the hub's local Ed25519 seed (standing in for Discord's key)
exactly as Discord signs interactions and posted to the running Discord module. An inline answer
(type 4) is printed at once; a deferred one (type 5) is read from the hub's
``responses.*.discord`` pub/sub channel, where the router publishes the command's result.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import time
from typing import Any

import httpx
from nacl.signing import SigningKey

from modules.localhub import ReplyWatch, SignedMessage, hub_secret, post_and_print, run_say

from .interactions import (
    APPLICATION_COMMAND,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    event_id_of,
)
from .module import DEFAULT_PORT

DEFAULT_GUILD = "1000000000000000001"
DEFAULT_CHANNEL = "1000000000000000002"
SEED_FILE = "discord_signing_key"


def parser() -> argparse.ArgumentParser:
    described = argparse.ArgumentParser(
        prog="python -m modules.discord say",
        description="Send a signed Discord slash command to the running Discord module "
        "and print the bot's reply.",
    )
    described.add_argument("text", help='the command, e.g. "/quote" or "/addquote hello"')
    described.add_argument("--guild", default=DEFAULT_GUILD, help="the server (guild) id")
    described.add_argument("--channel", default=DEFAULT_CHANNEL, help="the channel id")
    described.add_argument("--user", default="viewer", help="the user's name")
    described.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('MODULE_PORT', DEFAULT_PORT)}",
        help="the Discord module's base URL",
    )
    return described


def _snowflake() -> str:
    return str((int(time.time() * 1000) - 1420070400000) << 22 | random.getrandbits(22))


def interaction(text: str, guild: str, channel: str, user: str) -> dict[str, Any]:
    """An application command interaction for ``/name rest…``, shaped like Discord's."""
    name, _, rest = text.strip().lstrip("/").partition(" ")
    options = [{"name": "text", "type": 3, "value": rest.strip()}] if rest.strip() else []
    return {
        "id": _snowflake(),
        "application_id": os.environ.get("DISCORD_APPLICATION_ID", "local-application"),
        "type": APPLICATION_COMMAND,
        "token": secrets.token_urlsafe(32),
        "version": 1,
        "guild_id": guild,
        "channel_id": channel,
        "member": {"user": {"id": _snowflake(), "username": user}},
        "data": {"id": _snowflake(), "name": name, "type": 1, "options": options},
    }


def signed_headers(signer: SigningKey, raw: bytes) -> dict[str, str]:
    """``X-Signature-Ed25519`` over timestamp + raw body, as Discord sends it."""
    stamp = str(int(time.time()))
    return {
        "X-Signature-Ed25519": signer.sign(stamp.encode() + raw).signature.hex(),
        "X-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


async def say(text: str, guild: str, channel: str, user: str, url: str) -> int:
    """Send one command; print the reply. 0 when one came, 1 when none did."""
    signer = SigningKey(bytes.fromhex(hub_secret(SEED_FILE)))
    body = interaction(text, guild, channel, user)
    raw = json.dumps(body).encode()
    event_id = event_id_of(body["id"])

    async def reply(answer: httpx.Response, watch: ReplyWatch) -> str | None:
        return await _reply(answer.json(), watch, event_id)

    outgoing = SignedMessage(
        platform="Discord",
        url=f"{url}/webhooks/discord/interactions",
        body=raw,
        headers=signed_headers(signer, raw),
        shown=f"{user} in #{channel}: {text}",
        no_reply_hint="is the server linked to a community?",
    )
    return await post_and_print(outgoing, "discord", reply)


async def _reply(answer: dict[str, Any], watch: ReplyWatch, event_id: str) -> str | None:
    if answer.get("type") == CHANNEL_MESSAGE:
        return str((answer.get("data") or {}).get("content", ""))
    if answer.get("type") == DEFERRED_CHANNEL_MESSAGE:
        return await watch.reply_to(event_id)
    return json.dumps(answer)


def main(argv: list[str]) -> int:
    options = parser().parse_args(argv)
    return run_say(say(options.text, options.guild, options.channel, options.user, options.url))
