"""Starts moto's server as the DynamoDB reference stand-in of `make test`.

Run by standins.sh with the venv's Python: moto_server.py -H 127.0.0.1 -p PORT.

moto is patched here only where its answers lack something AWS always sends
and the project's client libraries rely on, so that such a gap shows up as this
list, not as a crash in a test:

- DescribeTable: AWS gives every secondary index an IndexArn
  ("<table arn>/index/<name>"); moto 5.2.5 gives none, and guregu/dynamo v2
  dereferences it when it pages a query.
- Atomic writes: DynamoDB applies each write to an item atomically (concurrent
  `ADD n` updates all count); moto's threaded server reads, changes and stores
  the item without a lock, so concurrent updates get lost. Requests are
  handled one at a time (connections are still accepted concurrently).
"""

import sys
import threading

from moto.dynamodb.models import table as ddb_table
from moto.moto_server import werkzeug_app
from moto.server import main

_describe = ddb_table.Table.describe


def _describe_with_index_arns(self, base_key="TableDescription"):
    result = _describe(self, base_key=base_key)
    desc = result[base_key]
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for index in desc.get(key) or []:
            index.setdefault("IndexArn", f"{desc['TableArn']}/index/{index['IndexName']}")
    return result


ddb_table.Table.describe = _describe_with_index_arns

_dispatch = werkzeug_app.DomainDispatcherApplication.__call__
_one_at_a_time = threading.Lock()


def _serialized(self, environ, start_response):
    with _one_at_a_time:
        response = _dispatch(self, environ, start_response)
        try:
            # The body is produced inside the lock too.
            return [b"".join(response)]
        finally:
            if hasattr(response, "close"):
                response.close()


werkzeug_app.DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    main(sys.argv[1:])
