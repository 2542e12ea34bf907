"""Runs `sse-bench forecast --athena-sql --sql-dialect duckdb` over access logs in DuckDB.

Usage: duckdb_aggregate.py LOG QUERY.sql OUT.csv

The log is loaded as the table s3_access_logs_db.mybucket_logs with the columns of
AWS's documented Athena table for server access logs (S3 User Guide, "Querying access
logs for requests by using Amazon Athena"), each line split by that table's RegexSerDe
input.regex; the query runs unchanged and its result is written as CSV with a header.
"""
import csv
import os
import re
import sys
import tempfile

import duckdb

COLUMNS = [
    ("bucketowner", "VARCHAR"), ("bucket_name", "VARCHAR"), ("requestdatetime", "VARCHAR"),
    ("remoteip", "VARCHAR"), ("requester", "VARCHAR"), ("requestid", "VARCHAR"),
    ("operation", "VARCHAR"), ("key", "VARCHAR"), ("request_uri", "VARCHAR"),
    ("httpstatus", "VARCHAR"), ("errorcode", "VARCHAR"), ("bytessent", "BIGINT"),
    ("objectsize", "BIGINT"), ("totaltime", "VARCHAR"), ("turnaroundtime", "VARCHAR"),
    ("referrer", "VARCHAR"), ("useragent", "VARCHAR"), ("versionid", "VARCHAR"),
    ("hostid", "VARCHAR"), ("sigv", "VARCHAR"), ("ciphersuite", "VARCHAR"),
    ("authtype", "VARCHAR"), ("endpoint", "VARCHAR"), ("tlsversion", "VARCHAR"),
    ("accesspointarn", "VARCHAR"), ("aclrequired", "VARCHAR"),
]
# The table definition's input.regex (Hive's double escaping undone).
INPUT_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) (-|[0-9]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)'
    r'(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)


def rows(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = INPUT_REGEX.match(line.rstrip("\n"))
            if not m:
                continue
            out = []
            for (name, kind), v in zip(COLUMNS, m.groups()):
                if kind == "BIGINT":
                    v = int(v) if v and v.isdigit() else None
                out.append(v)
            yield out


def main():
    log, query, out = sys.argv[1:4]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA s3_access_logs_db")
    cols = ", ".join(f"{n} {k}" for n, k in COLUMNS)
    con.execute(f"CREATE TABLE s3_access_logs_db.mybucket_logs ({cols})")
    # Row by row inserts are slow: the split rows go through a CSV file DuckDB copies in.
    with tempfile.TemporaryDirectory() as tmp:
        split = os.path.join(tmp, "rows.csv")
        with open(split, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows(log))
        con.execute(
            f"COPY s3_access_logs_db.mybucket_logs FROM '{split}' (HEADER false, NULLSTR '')"
        )
    sql = open(query, encoding="utf-8").read()
    con.execute(f"COPY ({sql.strip().rstrip(';')}) TO '{out}' (HEADER, DELIMITER ',')")


if __name__ == "__main__":
    main()
