"""Filter the served OpenAPI document down to its multipart request bodies, for openapi-python-client.

openapi-python-client 0.29.1 types a required body with two media types as `VerifyForm | VerifyJson | Unset`
without importing `Unset`, so the generated package fails to import (NameError; upstream issue #1451). A Python
backend sends files as multipart anyway (no base64 inflation), so the client is generated from the operations
with their JSON bodies removed; the server still takes both.

    curl -s http://127.0.0.1:8000/openapi.json | python clients/python/multipart_only.py > faceseal-multipart.json
"""

import json
import sys
from typing import Any


def multipart_only(document: dict[str, Any]) -> dict[str, Any]:
    for path_item in document["paths"].values():
        for operation in path_item.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in content:
                content.pop("application/json", None)
    return document


if __name__ == "__main__":
    json.dump(multipart_only(json.load(sys.stdin)), sys.stdout, indent=2)
