"""jobs: a Flask app that hands work to RQ workers through Redis, as apps with background jobs do.

POST /tasks/<n> queues work.record(n) and answers 202 with the job's id; /health pings Redis.
"""

import os

from flask import Flask, jsonify
from redis import Redis
from rq import Queue

import work

app = Flask(__name__)
redis = Redis.from_url(os.environ["REDIS_URL"])
queue = Queue("jobs", connection=redis)


@app.post("/tasks/<int:number>")
def send(number):
    job = queue.enqueue(work.record, number)
    return jsonify(id=job.id), 202


@app.get("/health")
def health():
    redis.ping()
    return jsonify(status="ok", version=work.VERSION)
