"""The food-safety part of canteen/openapi.json, made from logs.toml so that it says exactly
what the server checks: one path per log kind, each with its own entry schema.

    python -m canteen.safety.openapi     # rewrite canteen/openapi.json after changing logs.toml

tests/test_app.py fails while the shipped document and this disagree.
"""
import copy
import json
from pathlib import Path

from .schema import KINDS, json_schema

DOCUMENT = Path(__file__).resolve().parent.parent / "openapi.json"
TEMPLATE = "/safety/{kind}"  # the path items below are written once and copied for every kind


def kind_paths(template_list, template_post, template_amend, kind, template_check=None):
    """The path items of one kind, from the operations written for any kind."""
    ref = {"$ref": f"#/components/schemas/Safety_{kind}"}
    listing = copy.deepcopy(template_list)
    listing["operationId"] = f"list_{kind}"
    posting = copy.deepcopy(template_post)
    posting["operationId"] = f"create_{kind}"
    posting["requestBody"]["content"]["application/json"]["schema"] = ref
    # a stored entry can be amended next: schemathesis' stateful run follows this link
    posting["responses"]["201"]["links"] = {"amend": {"operationId": f"amend_{kind}",
                                                      "parameters": {"record_id": "$response.body#/id"}}}
    amending = copy.deepcopy(template_amend)
    amending["operationId"] = f"amend_{kind}"
    amending["requestBody"]["content"]["application/json"]["schema"]["properties"]["entry"] = ref
    paths = {f"/safety/{kind}": {"get": listing, "post": posting},
             f"/safety/{kind}/{{record_id}}/amendments": {"post": amending}}
    if template_check is not None:  # judging an entry without storing it takes the same entry
        checking = copy.deepcopy(template_check)
        checking["operationId"] = f"check_{kind}"
        checking["requestBody"]["content"]["application/json"]["schema"] = ref
        paths[f"/safety/{kind}/check"] = {"post": checking}
    return paths


def refresh(document):
    """`document` with every log kind's paths and schemas made from logs.toml."""
    document = copy.deepcopy(document)
    paths, schemas = document["paths"], document["components"]["schemas"]
    first = next(iter(KINDS))
    template_list, template_post = paths[f"/safety/{first}"]["get"], paths[f"/safety/{first}"]["post"]
    template_amend = paths[f"/safety/{first}/{{record_id}}/amendments"]["post"]
    template_check = paths.get(f"/safety/{first}/check", {}).get("post")
    made = {f"/safety/{k}{tail}" for k in KINDS for tail in ("", "/{record_id}/amendments", "/check")}
    for path in [p for p in paths if p in made]:  # /safety/stock and the like are written by hand
        del paths[path]
    for name in [n for n in schemas if n.startswith("Safety_")]:
        del schemas[name]
    for kind in KINDS:
        paths.update(kind_paths(template_list, template_post, template_amend, kind, template_check))
        schemas[f"Safety_{kind}"] = json_schema(KINDS[kind])
    return document


def dumps(document):
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    DOCUMENT.write_text(dumps(refresh(json.loads(DOCUMENT.read_text(encoding="utf-8")))), encoding="utf-8")
