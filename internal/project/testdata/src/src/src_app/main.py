"""Entry point."""
from fastapi import FastAPI

app: FastAPI = FastAPI(title="src app")


@app.get("/health")
def health():
    return {"ok": True}
