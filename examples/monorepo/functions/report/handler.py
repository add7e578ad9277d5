"""The report: writes to S3 on arm64, with only the S3 service models of botocore."""
import boto3

_s3 = boto3.client("s3", region_name="us-east-1")


def handler(event, context):
    _s3.put_object(Bucket=event["bucket"], Key="report.json", Body=b"{}")
    return {"written": True}
