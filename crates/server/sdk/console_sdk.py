"""The console's JSON API driven by the cloud's own generic client (tea-openapi
`call_api`, style ROA, JSON bodies, ACS3-HMAC-SHA256 signatures): scenes, photo
storage authorization, traffic packs, bills and the monthly statement, as the
full-access RAM user and as the read-only one.

    target/sdk-venv/bin/python crates/server/sdk/console_sdk.py --demo-file DEMO.json

Prints one line per check; exits non-zero when any check fails.
"""

import argparse
import json
import sys
import uuid

from alibabacloud_tea_openapi.client import Client
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_openapi import utils_models as api_models
from darabonba.runtime import RuntimeOptions

failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


def client(demo, key, secret):
    return Client(Config(access_key_id=demo[key], access_key_secret=demo[secret],
                         endpoint=demo["endpoint"], protocol="http"))


def call(c, action, method, path, body=None, query=None):
    """(HTTP status, JSON body) of one signed console call; errors as their status."""
    params = api_models.Params(action=action, version="2019-03-07", protocol="HTTP", pathname=path,
                               method=method, auth_type="AK", style="ROA", req_body_type="json",
                               body_type="json")
    request = api_models.OpenApiRequest(body=body, query=query or {})
    try:
        r = c.call_api(params, request, RuntimeOptions())
        return r.get("statusCode", 200), r.get("body")
    except Exception as e:  # the SDK's ClientException carries the code and status
        return getattr(e, "status_code", None) or getattr(e, "statusCode", 0), {"Code": getattr(e, "code", str(e))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo-file", required=True)
    args = ap.parse_args()
    demo = json.load(open(args.demo_file))
    full = client(demo, "access_key_id", "access_key_secret")
    ro = client(demo, "readonly_access_key_id", "readonly_access_key_secret")

    status, body = call(full, "DescribeScenes", "GET", "/console/v1/scenes")
    scenes = (body or {}).get("Data", {}).get("Scenes", [])
    check("DescribeScenes lists the demo's scenes", status == 200 and len(scenes) >= 5, f"{len(scenes)} scenes")

    name = "kyc-" + uuid.uuid4().hex[:8]
    status, body = call(full, "CreateScene", "POST", "/console/v1/scenes",
                        body={"Name": name, "Solution": "App", "ProductCode": "ID_PRO"})
    scene = (body or {}).get("Data") or {}
    check("CreateScene (full access) returns the new scene", status == 200 and scene.get("name") == name,
          json.dumps(body)[:200])
    scene_id = scene.get("id")

    status, body = call(full, "CreateScene", "POST", "/console/v1/scenes",
                        body={"Name": "  ", "Solution": "App", "ProductCode": "ID_PRO"})
    check("CreateScene with an empty name is refused", status == 400, json.dumps(body)[:200])

    status, body = call(full, "CreateScene", "POST", "/console/v1/scenes",
                        body={"Name": name, "Solution": "App", "ProductCode": "ID_PRO"})
    check("CreateScene with a taken name is refused", status == 400, json.dumps(body)[:200])

    status, body = call(ro, "CreateScene", "POST", "/console/v1/scenes",
                        body={"Name": name + "x", "Solution": "App", "ProductCode": "ID_PRO"})
    check("CreateScene (read-only user) is refused by RAM", status == 403, json.dumps(body)[:200])

    status, body = call(ro, "DescribeScenes", "GET", "/console/v1/scenes")
    check("DescribeScenes (read-only user) is allowed", status == 200)

    if scene_id is not None:
        status, body = call(full, "UpdateScene", "PUT", f"/console/v1/scenes/{scene_id}", body={"Name": name + "-b"})
        check("UpdateScene renames", status == 200 and (body or {}).get("Data", {}).get("name") == name + "-b",
              json.dumps(body)[:200])
        status, body = call(full, "DeleteScene", "DELETE", f"/console/v1/scenes/{scene_id}")
        check("DeleteScene deletes", status == 200)
        status, body = call(full, "DeleteScene", "DELETE", f"/console/v1/scenes/{scene_id}")
        check("DeleteScene again → 404", status == 404, json.dumps(body)[:200])

    status, body = call(full, "DeleteScene", "DELETE", "/console/v1/scenes/not-a-number")
    check("DeleteScene of a malformed ID → 400", status == 400, json.dumps(body)[:200])

    status, body = call(full, "UpdateScene", "DELETE", "/console/v1/scenes/1")
    check("a signature for another operation than the path's is refused", status == 400, json.dumps(body)[:200])

    status, body = call(full, "CreateAuthorization", "POST", "/console/v1/authorization", body={"ObjectStorage": True})
    check("CreateAuthorization names the photo bucket", status == 200 and (body or {}).get("Data", {}).get("bucket"),
          json.dumps(body)[:200])

    status, body = call(full, "DescribePacks", "GET", "/console/v1/packs")
    packs = (body or {}).get("Data", {}).get("Packs", [])
    check("DescribePacks lists the free pack", status == 200 and len(packs) >= 1, f"{len(packs)} packs")

    status, body = call(full, "PurchasePack", "POST", "/console/v1/packs",
                        body={"PackType": "RealPerson", "Units": 50000})
    pack = (body or {}).get("Data") or {}
    check("PurchasePack buys a catalog pack", status == 200 and pack.get("id"), json.dumps(body)[:200])
    status, body = call(full, "PurchasePack", "POST", "/console/v1/packs",
                        body={"PackType": "RealPerson", "Units": 12345})
    check("PurchasePack of a size not sold → 400", status == 400, json.dumps(body)[:200])
    if pack.get("id"):
        status, body = call(full, "SetPackAlert", "PUT", f"/console/v1/packs/{pack['id']}/alert", body={"Threshold": "0.2"})
        check("SetPackAlert arms an alert", status == 200, json.dumps(body)[:200])
        status, body = call(full, "QueryRefundQuote", "GET", f"/console/v1/packs/{pack['id']}/refund-quote")
        check("QueryRefundQuote quotes", status == 200 and (body or {}).get("Data") is not None, json.dumps(body)[:200])

    status, body = call(full, "DescribeDailyBills", "GET", "/console/v1/bills")
    check("DescribeDailyBills answers with the balance", status == 200 and "Balance" in (body or {}).get("Data", {}),
          json.dumps(body)[:200])
    status, body = call(full, "DescribeDailyBills", "GET", "/console/v1/bills",
                        query={"From": "2026-01-01", "To": "2026-12-31"})
    check("DescribeDailyBills over more than 92 days → 400", status == 400, json.dumps(body)[:200])
    status, body = call(full, "DescribeMonthlyStatement", "GET", "/console/v1/statements/2026-13")
    check("DescribeMonthlyStatement of a bad month → 400", status == 400, json.dumps(body)[:200])

    print(f"console_sdk: {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
