"""The benchmark's ASGI service: FastAPI routes validated by pydantic."""
from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI(title="asgi-service")


class Order(BaseModel):
    item: str = Field(min_length=1, max_length=100)
    quantity: int = Field(gt=0, le=1000)


class Receipt(BaseModel):
    item: str
    quantity: int
    total_cents: int


PRICE_CENTS = 250


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/orders", response_model=Receipt)
def order(o: Order) -> Receipt:
    return Receipt(item=o.item, quantity=o.quantity, total_cents=o.quantity * PRICE_CENTS)
