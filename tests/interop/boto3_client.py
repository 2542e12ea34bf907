"""Drives `sse-bench serve` with boto3, a client the simulator was not written against.

Usage: python3 boto3_client.py S3_ENDPOINT KMS_ENDPOINT ADMIN_URL ACCESS_KEY SECRET_KEY
Exits non-zero (with an assertion message) on any mismatch.
"""
import io
import json
import sys
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

s3_url, kms_url, admin, ak, sk = sys.argv[1:6]
session = boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1")
cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = session.client("s3", endpoint_url=s3_url, config=cfg)
kms = session.client("kms", endpoint_url=kms_url, config=cfg)


def stats():
    with urllib.request.urlopen(admin + "/stats") as r:
        return json.load(r)


def s3_calls(api):
    return sum(c["count"] for c in stats()["kms"]["calls"] if c["via"] == "s3" and c["api"] == api)


key = kms.create_key(Description="boto3 interop")["KeyMetadata"]
kms.create_alias(AliasName="alias/boto3", TargetKeyId=key["KeyId"])
assert kms.describe_key(KeyId="alias/boto3")["KeyMetadata"]["Arn"] == key["Arn"]

s3.create_bucket(Bucket="boto3-bk")
s3.put_bucket_encryption(
    Bucket="boto3-bk",
    ServerSideEncryptionConfiguration={
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/boto3"},
                "BucketKeyEnabled": True,
            }
        ]
    },
)
rule = s3.get_bucket_encryption(Bucket="boto3-bk")["ServerSideEncryptionConfiguration"]["Rules"][0]
assert rule["BucketKeyEnabled"] is True, rule

body = bytes(range(256)) * 400
before = s3_calls("GenerateDataKey")
for i in range(20):
    r = s3.put_object(Bucket="boto3-bk", Key=f"bk/{i}", Body=body)
    assert r["ServerSideEncryption"] == "aws:kms" and r["BucketKeyEnabled"] is True, r
    assert r["SSEKMSKeyId"] == key["Arn"], r
assert s3_calls("GenerateDataKey") - before == 1, "one Bucket Key for 20 PUTs"

s3.create_bucket(Bucket="boto3-modes")
for mode, extra in [
    ("AES256", {"ServerSideEncryption": "AES256"}),
    ("aws:kms", {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/boto3"}),
    ("aws:kms", {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["KeyId"], "BucketKeyEnabled": True}),
    ("aws:kms:dsse", {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": key["Arn"]}),
]:
    k = f"obj-{mode}-{extra.get('BucketKeyEnabled', False)}"
    r = s3.put_object(Bucket="boto3-modes", Key=k, Body=body, **extra)
    assert r["ServerSideEncryption"] == mode, (mode, r)
    got = s3.get_object(Bucket="boto3-modes", Key=k)
    assert got["Body"].read() == body, mode
    assert got["ServerSideEncryption"] == mode
    head = s3.head_object(Bucket="boto3-modes", Key=k)
    assert head["ContentLength"] == len(body)
    if mode != "AES256":
        assert head["SSEKMSKeyId"] == key["Arn"], head

before_gdk, before_dec = s3_calls("GenerateDataKey"), s3_calls("Decrypt")
s3.put_object(Bucket="boto3-modes", Key="plain-kms", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/boto3")
s3.get_object(Bucket="boto3-modes", Key="plain-kms")["Body"].read()
assert (s3_calls("GenerateDataKey") - before_gdk, s3_calls("Decrypt") - before_dec) == (1, 1)

# Multipart through boto3's transfer manager (3 parts of 5 MiB).
big = bytes(range(251)) * (15 * 1024 * 1024 // 251)
tc = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_fileobj(io.BytesIO(big), "boto3-modes", "big", ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/boto3"}, Config=tc)
head = s3.head_object(Bucket="boto3-modes", Key="big")
assert head["ContentLength"] == len(big) and head["ServerSideEncryption"] == "aws:kms", head
out = io.BytesIO()
s3.download_fileobj("boto3-modes", "big", out)
assert out.getvalue() == big

# A managed copy of a large object between buckets is UploadPartCopy (as `aws s3 cp`
# between buckets): SSE-KMS source, SSE-S3 destination. The source is decrypted once
# per part; the destination needs no KMS call.
s3.create_bucket(Bucket="boto3-copies")
before_gdk, before_dec = s3_calls("GenerateDataKey"), s3_calls("Decrypt")
s3.copy({"Bucket": "boto3-modes", "Key": "big"}, "boto3-copies", "big-copy", ExtraArgs={"ServerSideEncryption": "AES256"}, Config=tc)
assert (s3_calls("GenerateDataKey") - before_gdk, s3_calls("Decrypt") - before_dec) == (0, 3)
head = s3.head_object(Bucket="boto3-copies", Key="big-copy")
assert head["ContentLength"] == len(big) and head["ServerSideEncryption"] == "AES256", head
out = io.BytesIO()
s3.download_fileobj("boto3-copies", "big-copy", out)
assert out.getvalue() == big

# UploadPartCopy with a range, then ListParts, by hand.
mpu = s3.create_multipart_upload(Bucket="boto3-copies", Key="ranged")
s3.upload_part_copy(Bucket="boto3-copies", Key="ranged", UploadId=mpu["UploadId"], PartNumber=1,
                    CopySource={"Bucket": "boto3-modes", "Key": "big"}, CopySourceRange="bytes=0-999")
parts = s3.list_parts(Bucket="boto3-copies", Key="ranged", UploadId=mpu["UploadId"])["Parts"]
assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 1000)], parts
s3.abort_multipart_upload(Bucket="boto3-copies", Key="ranged", UploadId=mpu["UploadId"])

# Inspection and clean-up as infrastructure tools do them.
assert "Status" not in s3.get_bucket_versioning(Bucket="boto3-copies")
acl = s3.get_bucket_acl(Bucket="boto3-copies")
assert acl["Grants"][0]["Permission"] == "FULL_CONTROL", acl
try:
    s3.get_bucket_policy(Bucket="boto3-copies")
    raise AssertionError("a bucket without a policy has none")
except s3.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "NoSuchBucketPolicy", e.response
resource = session.resource("s3", endpoint_url=s3_url, config=cfg)
for name in ["boto3-copies", "boto3-modes"]:
    b = resource.Bucket(name)
    b.object_versions.delete()
    b.delete()
assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["boto3-bk"]

listed = [o["Key"] for o in s3.list_objects_v2(Bucket="boto3-bk", Prefix="bk/")["Contents"]]
assert len(listed) == 20, listed

bad = boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key="wrong", region_name="us-east-1").client("s3", endpoint_url=s3_url, config=cfg)
try:
    bad.list_buckets()
    raise AssertionError("a wrong secret must be refused")
except bad.exceptions.ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response

with urllib.request.urlopen(admin + "/metrics") as r:
    assert b"sse_sim_kms_requests_total" in r.read()
print("boto3 interop: ok")
