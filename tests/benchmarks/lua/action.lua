-- POST /api/v1/action/{id} as a user key in one community (the profile of the proxy path).
wrk.method = "POST"
wrk.body = '{"user_id": "twitch:bench", "params": {"n": 1}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
wrk.headers["X-Community-ID"] = os.getenv("BENCH_COMMUNITY")
