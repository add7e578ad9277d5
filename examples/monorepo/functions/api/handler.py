"""The API: validates a request body with pydantic."""
from pydantic import BaseModel


class Order(BaseModel):
    sku: str
    quantity: int


def handler(event, context):
    order = Order.model_validate(event)
    return {"statusCode": 200, "body": order.model_dump_json()}
