"""Checks specific to one chat platform, for the modules that receive its webhooks.

``flask_core.platforms.webhooks``: Twitch EventSub's HMAC signature and timestamp, Discord's
Ed25519 signature and timestamp, and the strict JSON body of a verified webhook.
"""
