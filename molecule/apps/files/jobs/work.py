"""The jobs RQ runs: each notes its number and the release that ran it in Redis, slowly enough that
a worker told to stop has one in hand (RQ's warm shutdown must finish it)."""

import os
import time

from redis import Redis

# Bumped by a code change; the tests deploy an edited copy and expect workers to run the new value.
VERSION = "1"


def record(number: int) -> str:
    time.sleep(0.05)
    Redis.from_url(os.environ["REDIS_URL"]).hset("jobs:done", str(number), VERSION)
    return VERSION
