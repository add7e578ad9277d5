"""The worker: same dependencies as the API, so pyslim installs them once for both."""
import requests
from pydantic import BaseModel


class Job(BaseModel):
    url: str


def handler(event, context):
    job = Job.model_validate(event)
    if event.get("dry_run"):
        return {"would_fetch": job.url}
    return {"status": requests.get(job.url, timeout=5).status_code}
