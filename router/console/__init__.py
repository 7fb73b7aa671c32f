"""The admin console (SPEC §12): static pages served by the router, talking to the admin API."""
