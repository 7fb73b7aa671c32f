"""``python -m modules.twitch say "!quote"``: chat as a viewer would, see what the bot answers.

The message is signed with the hub's local webhook secret exactly as Twitch signs EventSub
notifications, posted to the running Twitch module, and the router's answer is read from the
hub's ``responses.*.twitch`` pub/sub channel (SPEC §11).
"""

from __future__ import annotations

import argparse
import hashlib
import os

import httpx

from modules.localhub import ReplyWatch, SignedMessage, hub_secret, post_and_print, run_say

from .eventsub import event_id_of
from .module import DEFAULT_PORT
from .signing import chat_message, sign_eventsub

DEFAULT_CHANNEL = "44429626"
WEBHOOK_KEY_FILE = "twitch_webhook_secret"


def parser() -> argparse.ArgumentParser:
    described = argparse.ArgumentParser(
        prog="python -m modules.twitch say",
        description="Send a signed Twitch chat message to the running Twitch module "
        "and print the bot's reply.",
    )
    described.add_argument("text", help='the chat message, e.g. "!quote"')
    described.add_argument("--channel", default=DEFAULT_CHANNEL, help="broadcaster user id")
    described.add_argument("--user", default="viewer", help="the chatter's login")
    described.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('MODULE_PORT', DEFAULT_PORT)}",
        help="the Twitch module's base URL",
    )
    return described


def _user_id(login: str) -> str:
    """A stable numeric id for ``login``, as Twitch user ids are numbers."""
    return str(int(hashlib.sha256(login.encode()).hexdigest()[:8], 16))


def _secret() -> bytes:
    configured = os.environ.get("TWITCH_WEBHOOK_SECRET", "").strip()
    return (configured or hub_secret(WEBHOOK_KEY_FILE)).encode()


async def say(text: str, channel: str, user: str, url: str) -> int:
    """Send one message; print the reply. 0 when one came, 1 when none did."""
    message = chat_message(channel, text, chatter_id=_user_id(user), chatter_login=user)
    signed = sign_eventsub(_secret(), "notification", message)
    event_id = event_id_of(signed.message_id)

    async def reply(_answer: httpx.Response, watch: ReplyWatch) -> str | None:
        return await watch.reply_to(event_id)

    outgoing = SignedMessage(
        platform="Twitch",
        url=f"{url}/webhooks/twitch",
        body=signed.body,
        headers=signed.headers,
        shown=f"{user} in #{channel}: {text}",
        no_reply_hint="is the channel linked to a community, and the text a command?",
    )
    return await post_and_print(outgoing, "twitch", reply)


def main(argv: list[str]) -> int:
    options = parser().parse_args(argv)
    return run_say(say(options.text, options.channel, options.user, options.url))
