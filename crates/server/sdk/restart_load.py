#!/usr/bin/env python3
"""Load for the SIGKILL restart test (crates/server/tests/sdk_clients.rs), in two steps.

    python restart_load.py load   --demo-file DEMO.json --acked ACKED.txt [--workers 6]
                                  [--max-sessions 3000] [--seconds 60] [--photos DIR]
    python restart_load.py verify --demo-file DEMO.json --acked ACKED.txt [--photos DIR]

`load`: workers run whole ID_PRO sessions (InitFaceVerify through the tea SDK, ACS3; the
device photo over plain HTTP) until the server goes away, the session cap or the time limit
is reached (bounded in count and time, loopback only). A session is ACKNOWLEDGED when the
device POST answered HTTP 200 with Code "200"; only then is "<CertifyId> <token>" appended
to ACKED.txt (flushed and fsync'ed before the next request), so every line is a completion
the server confirmed. The test kills the server with SIGKILL while this runs; connection
errors after that are expected and end the workers.

`verify` (after a restart on the same database, with the rewritten demo file): every
acknowledged certify ID is still there and passed (DescribeFaceVerify: Code 200, Passed T,
SubCode 200, parsed by the SDK's model), and a second photo for it is refused (no second
completion). Prints one line per failure, then "N passed, N failed"; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from alibabacloud_cloudauth20190307 import models as tea_models
from alibabacloud_cloudauth20190307.client import Client as TeaClient
from alibabacloud_tea_openapi import exceptions as tea_exceptions
from alibabacloud_tea_openapi import models as tea_openapi_models

from run_sdk import DEFAULT_IDENTITY, META_INFO, loopback_endpoint

DEFAULT_PHOTOS = Path(__file__).resolve().parents[3] / ".cache/face/photos"


def client(demo: dict[str, Any]) -> TeaClient:
    return TeaClient(
        tea_openapi_models.Config(
            access_key_id=demo["access_key_id"],
            access_key_secret=demo["access_key_secret"],
            endpoint=demo["endpoint"],
            protocol="http",
            read_timeout=30_000,
            connect_timeout=2_000,
        )
    )


def post_photo(url: str, token: str, photo: bytes) -> tuple[int, dict[str, Any] | None]:
    request = urllib.request.Request(
        url,
        data=photo,
        method="POST",
        headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return status, body if isinstance(body, dict) else None


def load(args: argparse.Namespace, demo: dict[str, Any]) -> int:
    photo = (args.photos / "obama2.jpg").read_bytes()
    identity = demo.get("identity") or DEFAULT_IDENTITY
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    counts = {"started": 0, "acked": 0, "refused": 0, "errors": 0}
    acked = open(args.acked, "a", encoding="ascii")
    stop = threading.Event()

    def take_slot() -> bool:
        with lock:
            if stop.is_set() or counts["started"] >= args.max_sessions or time.monotonic() > deadline:
                return False
            counts["started"] += 1
            return True

    def worker() -> None:
        c = client(demo)
        while take_slot():
            try:
                body = c.init_face_verify(
                    tea_models.InitFaceVerifyRequest(
                        scene_id=demo["scenes"]["ID_PRO"],
                        outer_order_no=uuid.uuid4().hex,
                        product_code="ID_PRO",
                        model="LIVENESS",
                        cert_type="IDENTITY_CARD",
                        cert_name=identity["cert_name"],
                        cert_no=identity["cert_no"],
                        meta_info=META_INFO,
                        user_id="restart-load",
                    )
                ).body
                if body.code != "200" or body.result_object is None:
                    with lock:
                        counts["refused"] += 1
                    continue
                cid = body.result_object.certify_id
                token = urllib.parse.parse_qs(urllib.parse.urlsplit(body.result_object.certify_url).query)["token"][0]
                status, answer = post_photo(
                    f"http://{demo['endpoint']}/device/v1/sessions/{cid}/photo", token, photo
                )
                if status == 200 and answer is not None and answer.get("Code") == "200":
                    with lock:
                        acked.write(f"{cid} {token}\n")
                        acked.flush()
                        os.fsync(acked.fileno())
                        counts["acked"] += 1
                else:
                    with lock:
                        counts["refused"] += 1
            except (tea_exceptions.ClientException, tea_exceptions.ServerException):
                with lock:
                    counts["refused"] += 1
            except Exception:  # the server was killed: connection refused / reset
                with lock:
                    counts["errors"] += 1
                stop.set()
                return

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acked.close()
    print(
        f"restart_load: {counts['started']} sessions started, {counts['acked']} acknowledged, "
        f"{counts['refused']} refused, {counts['errors']} ended by connection errors",
        flush=True,
    )
    return 0


def verify(args: argparse.Namespace, demo: dict[str, Any]) -> int:
    lines = [line.split() for line in Path(args.acked).read_text(encoding="ascii").splitlines() if line.strip()]
    if not lines:
        print("FAIL no acknowledged completion to check", flush=True)
        print("restart_verify: 0 passed, 1 failed", flush=True)
        return 1
    photo = (args.photos / "obama2.jpg").read_bytes()
    c = client(demo)
    passed = failed = 0
    for cid, token in lines:
        try:
            response = c.describe_face_verify(
                tea_models.DescribeFaceVerifyRequest(scene_id=demo["scenes"]["ID_PRO"], certify_id=cid)
            )
            body = response.body
            result = body.result_object
            ok = (
                response.status_code == 200
                and body.code == "200"
                and result is not None
                and result.passed == "T"
                and result.sub_code == "200"
            )
            why = "" if ok else f"Code {body.code!r}, Passed {getattr(result, 'passed', None)!r}, SubCode {getattr(result, 'sub_code', None)!r}"
        except Exception as e:
            ok, why = False, f"{type(e).__name__}: {str(e)[:200]}"
        if ok:
            status, answer = post_photo(f"http://{demo['endpoint']}/device/v1/sessions/{cid}/photo", token, photo)
            if answer is not None and answer.get("Code") == "200":
                ok, why = False, f"a second photo was accepted after the restart (HTTP {status})"
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL acknowledged {cid}: {why}", flush=True)
    print(f"restart_verify: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("load", "verify"))
    parser.add_argument("--demo-file", required=True, type=Path)
    parser.add_argument("--acked", required=True, type=Path)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--max-sessions", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    demo = json.loads(args.demo_file.read_text())
    if not loopback_endpoint(demo.get("endpoint", "")):
        print(f"FAIL endpoint {demo.get('endpoint')!r} is not a loopback address; refusing to send", flush=True)
        return 1
    return load(args, demo) if args.step == "load" else verify(args, demo)


if __name__ == "__main__":
    sys.exit(main())
