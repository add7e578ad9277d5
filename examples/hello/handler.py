"""A small Lambda handler: fetches a URL with requests and validates the event with pydantic."""
import json

import requests
from pydantic import BaseModel


class Event(BaseModel):
    url: str = "https://example.com"


def handler(event, context):
    request = Event.model_validate(event or {})
    response = requests.get(request.url, timeout=5)
    return {"statusCode": 200, "body": json.dumps({"url": request.url, "status": response.status_code})}
