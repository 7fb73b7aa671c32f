"""The epoch of the Redis data: notice when Redis lost its data, and recreate what we can."""
