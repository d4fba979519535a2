"""The hello-world anchor: the smallest FastAPI route, served by the same uvicorn as erdv."""

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/hello")
async def hello() -> dict[str, bool]:
    return {"ok": True}
