"""Chat: a FastAPI app with a lifespan handler, a WebSocket endpoint and its interactive docs."""

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Work done once per worker before it serves, undone when it stops.
    app.state.greeting = os.environ.get("CHAT_GREETING", "hello")
    yield
    app.state.greeting = None


app = FastAPI(title="chat", lifespan=lifespan)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/info")
async def info(request: Request):
    return {
        "greeting": request.app.state.greeting,
        "root_path": request.scope.get("root_path", ""),
        "health_url": str(request.url_for("health")),
    }


@app.get("/client")
async def client(request: Request):
    # Who the server says is asking, after the proxy's X-Forwarded-For.
    return {"client": request.client.host if request.client else None,
            "forwarded_for": request.headers.get("x-forwarded-for")}


@app.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{websocket.app.state.greeting}: {text}")
    except WebSocketDisconnect:
        pass
