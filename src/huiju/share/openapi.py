"""An OpenAPI 3 document per grant: the rows endpoint with exactly the granted fields, masks and filter."""

from __future__ import annotations

from typing import Any

from huiju.share.filters import describe
from huiju.share.models import Grant

# 编制指南 data-item type letters -> JSON Schema
_TYPES: dict[str, dict[str, Any]] = {
    "N": {"type": "number"}, "I": {"type": "integer"}, "F": {"type": "number"}, "Y": {"type": "number"},
    "D": {"type": "string", "format": "date"}, "T": {"type": "string", "format": "date-time"},
    "L": {"type": "boolean"},
}


def for_grant(grant: Grant, field_types: dict[str, str]) -> dict[str, Any]:
    """The document a consumer's developers generate a client from (X-Road's getOpenAPI, per grant)."""
    props = {}
    for f in grant.fields:
        schema = dict(_TYPES.get(field_types.get(f, "C"), {"type": "string"}))
        if f in grant.masks:
            schema = {"type": "string", "description": f"masked: {grant.masks[f]}"}
        props[f] = {**schema, "nullable": True}
    path = f"/api/v1/share/grants/{grant.id}/rows"
    return {
        "openapi": "3.0.3",
        "info": {"title": f"huiju share grant {grant.id}: {grant.dataset_key}", "version": str(grant.id),
                 "description": f"Purpose (使用用途): {grant.purpose}. Rows: {describe(grant.row_filter)}. "
                                "Data received under this grant may not be passed on (不得转让); every call is "
                                "logged and signed (X-Huiju-Receipt)."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"grantToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Row": {"type": "object", "properties": props},
                        "Page": {"type": "object", "properties": {
                            "grant": {"type": "integer"}, "dataset": {"type": "string"},
                            "version": {"type": "integer"}, "fields": {"type": "array", "items": {"type": "string"}},
                            "rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}},
                            "next_after": {"type": "array", "nullable": True, "items": {}}}}},
        },
        "security": [{"grantToken": []}],
        "paths": {path: {"get": {
            "operationId": f"readGrant{grant.id}",
            "parameters": [
                {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv", "parquet"]}},
                {"name": "fields", "in": "query", "schema": {"type": "string"},
                 "description": "Comma-separated subset of: " + ", ".join(grant.fields)},
                {"name": "where", "in": "query", "schema": {"type": "string"},
                 "description": "JSON list of {field, op, value}; ops: = != < <= > >= in, not in, prefix, like, "
                                "is null, is not null"},
                {"name": "after", "in": "query", "schema": {"type": "string"},
                 "description": "JSON next_after of the previous page (keyset pagination)"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            ],
            "responses": {
                "200": {"description": "A page of rows",
                        "headers": {"X-Huiju-Receipt": {"schema": {"type": "string"},
                                                        "description": "base64 JSON receipt, SM2-signed"}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}},
                                    "text/csv": {}, "application/vnd.apache.parquet": {}}},
                "401": {"description": "Missing, expired or revoked token"},
                "403": {"description": "Grant suspended, revoked, expired or exhausted, or field outside it"},
            },
        }}},
    }
