"""Router Hub's modules: platform triggers (twitch, discord) and actions (quotes)."""
