#!/usr/bin/env python3
"""Drives shiren-server with the cloud's own Python SDKs (issue #16).

    target/sdk-venv/bin/python crates/server/sdk/run_sdk.py --demo-file DEMO.json \
        [--photos .cache/face/photos] [--scorer face|fixed]

DEMO.json is what `shiren-server --demo-file` writes (crates/server: endpoint, AccessKeys,
scene IDs). Three clients run the same story against it:

  tea-acs3    alibabacloud-cloudauth20190307 + alibabacloud-tea-openapi, default config:
              ACS3-HMAC-SHA256 (Authorization header), POST, params in query + form body
  tea-rpc-v2  the same SDK with Config(signature_algorithm='v2'): RPC HMAC-SHA1, POST
  core        aliyun-python-sdk-core AcsClient + aliyun-python-sdk-cloudauth request
              classes: RPC HMAC-SHA1, POST (and one GET through CommonRequest)

The story: InitFaceVerify (ID_PRO with name + ID number; PV_FV with a comparison photo) →
the device submits the selfie to CertifyUrl's session → DescribeFaceVerify; then
ContrastFaceVerify, CompareFaceVerify, LivenessFaceVerify, DeleteFaceVerifyResult, and the
refusals: wrong secret, unknown AccessKeyId, replayed SignatureNonce, expired and future
timestamps, a read-only RAM user starting a verification. The tea SDK parses every answer
into its response models (the checks read the parsed models, never the raw JSON); the core
SDK has no response models, so its JSON is decoded and checked the same way. Refusals are
checked as the SDK's own exception reports them (code and HTTP status).

One line per check ("ok" / "FAIL"), then "N passed, N failed"; exit 1 on any failure.
Traffic goes to the loopback endpoint of the demo file only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import ipaddress
import json
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from alibabacloud_cloudauth20190307 import models as tea_models
from alibabacloud_cloudauth20190307.client import Client as TeaClient
from alibabacloud_tea_openapi import exceptions as tea_exceptions
from alibabacloud_tea_openapi import models as tea_openapi_models
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from darabonba.core import DaraCore
from aliyunsdkcore.acs_exception.exceptions import ServerException as CoreServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from aliyunsdkcore.utils import parameter_helper as core_params

VERSION = "2019-03-07"
# The person the demo's identity authority knows (tests/support: PERSON_ID, PERSON_NAME),
# with obama.jpg as the authority portrait. A demo file may name another with "identity".
DEFAULT_IDENTITY = {"cert_name": "Barack Obama", "cert_no": "110101199003074477"}
META_INFO = json.dumps(
    {
        "zimVer": "3.0.0",
        "appVersion": "1",
        "bioMetaInfo": "4.1.0:1150976,0",
        "appName": "com.example.bank",
        "deviceType": "ios",
        "osVersion": "iOS 17.0",
        "apdidToken": "",
        "deviceModel": "iPhone15,2",
    },
    separators=(",", ":"),
)
# Stands in for a certify ID when no session could be started.
PLACEHOLDER_ID = "0" * 32
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID (GB 11643)."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def resident_id(first17: str) -> str:
    """An 18-character resident ID with a valid check character."""
    return first17 + id_check_char(first17)


def valid_resident_id(cert_no: str) -> bool:
    return len(cert_no) == 18 and cert_no[:17].isdigit() and id_check_char(cert_no[:17]) == cert_no[17]


class Failed(Exception):
    """A check's expectation did not hold."""


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise Failed(what)


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, client: str, name: str, fn: Callable[[], str | None]) -> Any:
        """Runs one check; prints one line; never lets an exception escape."""
        try:
            detail = fn()
        except Failed as e:
            self.failed += 1
            print(f"FAIL {client:10} {name}: {e}", flush=True)
            return None
        except Exception as e:  # an SDK crash or an unexpected refusal is a failure too
            self.failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(
                f"FAIL {client:10} {name}: unexpected {type(e).__module__}.{type(e).__name__}: "
                f"{str(e)[:300]} (at {Path(where.filename).name}:{where.lineno})",
                flush=True,
            )
            return None
        self.passed += 1
        print(f"ok   {client:10} {name}" + (f": {detail}" if detail else ""), flush=True)
        return True

    def note(self, client: str, text: str) -> None:
        print(f"note {client:10} {text}", flush=True)


# ---------------------------------------------------------------- the three clients


class Refused(Exception):
    """A refusal as the SDK reported it: the SDK's error code and the HTTP status."""

    def __init__(self, code: str, status: int, sdk_exception: BaseException) -> None:
        super().__init__(f"{code} (HTTP {status}) via {type(sdk_exception).__name__}")
        self.code = code
        self.status = status


def snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


class Tea:
    """alibabacloud-cloudauth20190307 on alibabacloud-tea-openapi."""

    def __init__(self, endpoint: str, ak: str, secret: str, v2: bool) -> None:
        self.name = "tea-rpc-v2" if v2 else "tea-acs3"
        config = tea_openapi_models.Config(
            access_key_id=ak,
            access_key_secret=secret,
            endpoint=endpoint,
            protocol="http",
            read_timeout=120_000,
            connect_timeout=5_000,
        )
        if v2:
            config.signature_algorithm = "v2"
        self.client = TeaClient(config)

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Calls `action` with the SDK's request model; returns the SDK's parsed response
        model as a dict (only the fields the model knows survive `from_map`/`to_map`)."""
        request = getattr(tea_models, f"{action}Request")().from_map(params)
        try:
            response = getattr(self.client, snake(action))(request)
        except (tea_exceptions.ClientException, tea_exceptions.ServerException) as e:
            raise Refused(str(e.code), int(e.status_code), e) from e
        expect(response.status_code == 200, f"HTTP {response.status_code}")
        expect(
            type(response.body).__name__ == f"{action}ResponseBody",
            f"parsed into {type(response.body).__name__}",
        )
        return response.body.to_map()

    @contextlib.contextmanager
    def fixed_nonce(self, nonce: str) -> Iterator[None]:
        saved = TeaUtils.get_nonce
        TeaUtils.get_nonce = staticmethod(lambda: nonce)
        try:
            yield
        finally:
            TeaUtils.get_nonce = saved

    @contextlib.contextmanager
    def tamper(self, change: Callable[[Any], None]) -> Iterator[None]:
        """Lets `change` alter the signed request (darabonba's DaraRequest: .query, .headers,
        .body) after the SDK signed it and before it is sent: a man in the middle."""
        saved = DaraCore.do_action

        def altered(request: Any, runtime: Any = None) -> Any:
            change(request)
            return saved(request, runtime)

        DaraCore.do_action = staticmethod(altered)
        try:
            yield
        finally:
            DaraCore.do_action = saved

    @contextlib.contextmanager
    def clock_offset(self, offset: dt.timedelta) -> Iterator[None]:
        saved = TeaUtils.get_timestamp
        TeaUtils.get_timestamp = staticmethod(lambda: iso(offset))
        try:
            yield
        finally:
            TeaUtils.get_timestamp = saved


class Core:
    """aliyun-python-sdk-core AcsClient with aliyun-python-sdk-cloudauth's request classes."""

    name = "core"

    def __init__(self, endpoint: str, ak: str, secret: str) -> None:
        self.endpoint = endpoint
        self.client = AcsClient(ak, secret, "cn-shanghai", timeout=120, connect_timeout=5)

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        module = __import__(f"aliyunsdkcloudauth.request.v20190307.{action}Request", fromlist=["x"])
        request = getattr(module, f"{action}Request")()
        for key, value in params.items():
            getattr(request, f"set_{key}")(value)  # AttributeError: the SDK lacks the field
        request.set_endpoint(self.endpoint)
        request.set_protocol_type("http")
        return self._send(request)

    def call_get(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """The same action as a GET through CommonRequest (all params in the query)."""
        request = CommonRequest(domain=self.endpoint, version=VERSION, action_name=action)
        request.set_protocol_type("http")
        request.set_method("GET")
        for key, value in params.items():
            request.add_query_param(key, str(value))
        return self._send(request)

    def _send(self, request: Any) -> dict[str, Any]:
        try:
            raw = self.client.do_action_with_exception(request)
        except CoreServerException as e:
            raise Refused(str(e.get_error_code()), int(e.get_http_status()), e) from e
        body = json.loads(raw)
        expect(isinstance(body, dict), "the answer is not a JSON object")
        return body

    @contextlib.contextmanager
    def fixed_nonce(self, nonce: str) -> Iterator[None]:
        saved = core_params.get_uuid
        core_params.get_uuid = lambda: nonce
        try:
            yield
        finally:
            core_params.get_uuid = saved

    @contextlib.contextmanager
    def clock_offset(self, offset: dt.timedelta) -> Iterator[None]:
        saved = core_params.get_iso_8061_date
        core_params.get_iso_8061_date = lambda: iso(offset)
        try:
            yield
        finally:
            core_params.get_iso_8061_date = saved


def iso(offset: dt.timedelta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- response checks


def ok_body(body: dict[str, Any], action: str) -> dict[str, Any]:
    """A business success: RequestId, Code "200", a ResultObject; returns ResultObject."""
    expect(isinstance(body.get("RequestId"), str) and body["RequestId"] != "", f"{action}: no RequestId")
    expect(body.get("Code") == "200", f"{action}: Code {body.get('Code')!r}, Message {body.get('Message')!r}")
    result = body.get("ResultObject")
    expect(isinstance(result, dict), f"{action}: no ResultObject")
    return result


def business_code(body: dict[str, Any], action: str, codes: tuple[str, ...]) -> str:
    expect(isinstance(body.get("RequestId"), str) and body["RequestId"] != "", f"{action}: no RequestId")
    expect(body.get("Code") in codes, f"{action}: Code {body.get('Code')!r} (wanted one of {codes})")
    return f"Code {body['Code']} {body.get('Message', '')!r}"


def answered(body: dict[str, Any], action: str) -> str:
    """Any business answer (HTTP 200, a Code): the request got past authentication."""
    expect(isinstance(body.get("RequestId"), str) and body["RequestId"] != "", f"{action}: no RequestId")
    expect(isinstance(body.get("Code"), str), f"{action}: no Code")
    return f"Code {body['Code']}"


def verdict(result: dict[str, Any], passed: str, sub_code: str, what: str) -> None:
    expect(result.get("Passed") == passed, f"{what}: Passed {result.get('Passed')!r}, wanted {passed!r}")
    expect(result.get("SubCode") == sub_code, f"{what}: SubCode {result.get('SubCode')!r}, wanted {sub_code!r}")


def material(result: dict[str, Any], need_verify_score: bool) -> str:
    raw = result.get("MaterialInfo")
    expect(isinstance(raw, str), f"MaterialInfo is {type(raw).__name__}, the cloud sends a JSON string")
    info = json.loads(raw)
    expect(isinstance(info, dict), "MaterialInfo is not a JSON object")
    front = info.get("facialPictureFront")
    expect(isinstance(front, dict), "MaterialInfo has no facialPictureFront object")
    score = front.get("verifyScore")
    if need_verify_score:
        expect(isinstance(score, (int, float)) and not isinstance(score, bool), f"verifyScore {score!r}")
    for key in ("faceAttack", "faceOcclusion"):
        if key in info:
            expect(info[key] in ("T", "F"), f"{key} {info[key]!r}")
    return f"verifyScore {score}"


def certify_id(result: dict[str, Any]) -> str:
    cid = result.get("CertifyId")
    expect(isinstance(cid, str) and 0 < len(cid) <= 64, f"CertifyId {cid!r}")
    return cid


def refused(fn: Callable[[], Any], codes: tuple[str, ...], status: int) -> str:
    """Expects the SDK to raise a refusal with one of `codes` and HTTP `status`."""
    try:
        body = fn()
    except Refused as e:
        expect(e.code in codes, f"refused with {e.code!r} (HTTP {e.status}), wanted {codes}")
        expect(e.status == status, f"{e.code}: HTTP {e.status}, wanted {status}")
        return f"{e.code}, HTTP {e.status}"
    raise Failed(f"accepted (Code {body.get('Code') if isinstance(body, dict) else body!r}); wanted {codes}")


# ---------------------------------------------------------------- the device side


def device_post(url: str, token: str | None, photo: bytes) -> tuple[int, dict[str, Any] | None]:
    headers = {"Content-Type": "image/jpeg"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=photo, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return status, body if isinstance(body, dict) else None


class Session:
    """A session started by InitFaceVerify: its certify ID and the device's URL and token."""

    def __init__(self, result: dict[str, Any], endpoint: str) -> None:
        self.certify_id = certify_id(result)
        url = result.get("CertifyUrl")
        expect(isinstance(url, str), f"CertifyUrl {url!r}")
        parts = urllib.parse.urlsplit(url)
        expect(parts.scheme == "http" and parts.netloc == endpoint, f"CertifyUrl host {parts.netloc!r}")
        expect(
            parts.path == f"/device/v1/sessions/{self.certify_id}",
            f"CertifyUrl path {parts.path!r}",
        )
        tokens = urllib.parse.parse_qs(parts.query).get("token", [])
        expect(len(tokens) == 1 and tokens[0] != "", "CertifyUrl has no token")
        self.token = tokens[0]
        self.photo_url = f"http://{endpoint}/device/v1/sessions/{self.certify_id}/photo"

    def submit(self, photo: bytes) -> str:
        status, body = device_post(self.photo_url, self.token, photo)
        expect(status == 200 and body is not None, f"photo: HTTP {status}, body {body!r}")
        expect(body.get("Code") == "200", f"photo: Code {body.get('Code')!r} {body.get('Message')!r}")
        expect(isinstance(body.get("RequestId"), str), "photo: no RequestId")
        return "accepted"


# ---------------------------------------------------------------- the story


class Story:
    def __init__(self, demo: dict[str, Any], photos: Path, scorer: str, report: Report) -> None:
        self.demo = demo
        self.endpoint = demo["endpoint"]
        self.scenes = demo["scenes"]
        self.scorer = scorer
        self.report = report
        identity = demo.get("identity") or DEFAULT_IDENTITY
        self.cert_name = identity["cert_name"]
        self.cert_no = identity["cert_no"]
        self.unknown_cert_no = resident_id("11010119850101001")  # valid, not registered
        self.bad_cert_no = self.unknown_cert_no[:17] + ("0" if self.unknown_cert_no[17] != "0" else "1")
        self.reference = (photos / "obama.jpg").read_bytes()  # the comparison / authority photo
        self.genuine = (photos / "obama2.jpg").read_bytes()  # the same person
        self.impostor = (photos / "biden.jpg").read_bytes()  # someone else

    def b64(self, photo: bytes) -> str:
        return base64.b64encode(photo).decode("ascii")

    def order(self) -> str:
        return uuid.uuid4().hex  # 32 alphanumeric characters, as the cloud asks

    def client(self, kind: str, ak: str, secret: str) -> Tea | Core:
        if kind == "core":
            return Core(self.endpoint, ak, secret)
        return Tea(self.endpoint, ak, secret, v2=(kind == "tea-rpc-v2"))

    def init_id_pro(self, c: Tea | Core) -> dict[str, Any]:
        return c.call(
            "InitFaceVerify",
            {
                "SceneId": self.scenes["ID_PRO"],
                "OuterOrderNo": self.order(),
                "ProductCode": "ID_PRO",
                "Model": "LIVENESS",
                "CertType": "IDENTITY_CARD",
                "CertName": self.cert_name,
                "CertNo": self.cert_no,
                "MetaInfo": META_INFO,
                "UserId": "sdk-user-1",
            },
        )

    def describe(self, c: Tea | Core, cid: str, scene: str = "ID_PRO") -> dict[str, Any]:
        return c.call("DescribeFaceVerify", {"SceneId": self.scenes[scene], "CertifyId": cid})

    def completed_id_pro(self, c: Tea | Core) -> str:
        s = Session(ok_body(self.init_id_pro(c), "InitFaceVerify"), self.endpoint)
        s.submit(self.genuine)
        return s.certify_id

    def run(self, kind: str) -> None:
        r, n = self.report, kind
        c = self.client(kind, self.demo["access_key_id"], self.demo["access_key_secret"])
        state: dict[str, Any] = {}

        # --- ID_PRO: init → device → describe
        def init_id_pro() -> str:
            state["s"] = Session(ok_body(self.init_id_pro(c), "InitFaceVerify"), self.endpoint)
            return f"CertifyId {state['s'].certify_id}"

        if not r.check(n, "InitFaceVerify ID_PRO (CertName+CertNo) → CertifyId, CertifyUrl", init_id_pro):
            r.note(n, "no ID_PRO session: every check on it fails below; the others still run")
            self.run_without_session(kind, c)
            self.run_refusals(kind, c, PLACEHOLDER_ID)
            return
        s: Session = state["s"]
        r.check(
            n,
            "DescribeFaceVerify before the photo → not yet verified",
            lambda: business_code(self.describe(c, s.certify_id), "DescribeFaceVerify", ("403", "424")),
        )

        def wrong_token() -> str:
            status, _ = device_post(s.photo_url, s.token[:-1] + ("A" if s.token[-1] != "A" else "B"), self.genuine)
            expect(status == 401, f"wrong token: HTTP {status}")
            status, _ = device_post(s.photo_url, None, self.genuine)
            expect(status == 401, f"no token: HTTP {status}")
            return "HTTP 401 twice"

        r.check(n, "device photo with a wrong / missing bearer token → 401", wrong_token)
        r.check(n, "device submits the selfie (same person)", lambda: s.submit(self.genuine))

        def second_submit() -> str:
            status, body = device_post(s.photo_url, s.token, self.impostor)
            expect(body is not None and body.get("Code") not in (None, "200"), f"HTTP {status}, body {body!r}")
            return f"HTTP {status}, Code {body['Code']}"

        r.check(n, "device submits again after completion → refused", second_submit)

        def describe_pass() -> str:
            result = ok_body(self.describe(c, s.certify_id), "DescribeFaceVerify")
            verdict(result, "T", "200", "ID_PRO genuine")
            return "Passed T, SubCode 200, " + material(result, need_verify_score=True)

        r.check(n, "DescribeFaceVerify ID_PRO → Passed T, SubCode 200, MaterialInfo", describe_pass)

        if kind == "core":
            def describe_get() -> str:
                body = c.call_get("DescribeFaceVerify", {"SceneId": self.scenes["ID_PRO"], "CertifyId": s.certify_id})
                verdict(ok_body(body, "DescribeFaceVerify"), "T", "200", "GET describe")
                return "Passed T"

            r.check(n, "DescribeFaceVerify as a signed GET (CommonRequest)", describe_get)

        self.run_without_session(kind, c)

        # --- DeleteFaceVerifyResult
        def delete(cid: str, after_query: str) -> dict[str, Any]:
            body = c.call("DeleteFaceVerifyResult", {"CertifyId": cid, "DeleteAfterQuery": after_query})
            result = ok_body(body, "DeleteFaceVerifyResult")
            expect(result.get("CertifyId") == cid, f"CertifyId {result.get('CertifyId')!r}")
            return result

        def deleted(result: dict[str, Any], want: str, reason: str | None) -> str:
            expect(result.get("DeleteResult") == want, f"DeleteResult {result.get('DeleteResult')!r}, wanted {want}")
            if reason is not None:
                expect(result.get("FailReason") == reason, f"FailReason {result.get('FailReason')!r}, wanted {reason}")
            return f"DeleteResult {want}" + (f", FailReason {reason}" if reason else "")

        r.check(n, "DeleteFaceVerifyResult N of a described result → Y", lambda: deleted(delete(s.certify_id, "N"), "Y", None))
        r.check(
            n,
            "DeleteFaceVerifyResult again → N, NOT_DELETE_REPEATEDLY",
            lambda: deleted(delete(s.certify_id, "N"), "N", "NOT_DELETE_REPEATEDLY"),
        )

        def delete_after_query() -> str:
            cid = self.completed_id_pro(c)
            first = deleted(delete(cid, "Y"), "N", "NEED_QUERY_VERIFY_RESULT")
            verdict(ok_body(self.describe(c, cid), "DescribeFaceVerify"), "T", "200", "describe before delete")
            second = deleted(delete(cid, "Y"), "Y", None)
            return f"before the query: {first}; after: {second}"

        r.check(n, "DeleteFaceVerifyResult Y: refused until DescribeFaceVerify, then Y", delete_after_query)

        self.run_refusals(kind, c, s.certify_id)
    def run_without_session(self, kind: str, c: Tea | Core) -> None:
        """The checks that need no ID_PRO session of their own."""
        r, n = self.report, kind
        state: dict[str, Any] = {}

        # --- PV_FV: init with the comparison photo → device → describe
        def pv_fv(selfie: bytes, passed: str, sub: str) -> Callable[[], str]:
            def run() -> str:
                body = c.call(
                    "InitFaceVerify",
                    {
                        "SceneId": self.scenes["PV_FV"],
                        "OuterOrderNo": self.order(),
                        "ProductCode": "PV_FV",
                        "Model": "LIVENESS",
                        "MetaInfo": META_INFO,
                        "UserId": "sdk-user-2",
                        "FaceContrastPicture": self.b64(self.reference),
                    },
                )
                session = Session(ok_body(body, "InitFaceVerify"), self.endpoint)
                session.submit(selfie)
                result = ok_body(self.describe(c, session.certify_id, "PV_FV"), "DescribeFaceVerify")
                verdict(result, passed, sub, "PV_FV")
                return f"Passed {passed}, SubCode {sub}, " + material(result, need_verify_score=True)

            return run

        r.check(n, "PV_FV (FaceContrastPicture) same person → Passed T, SubCode 200", pv_fv(self.genuine, "T", "200"))
        if self.scorer == "face":
            r.check(n, "PV_FV someone else → Passed F, SubCode 204", pv_fv(self.impostor, "F", "204"))
        else:
            r.note(n, "PV_FV impostor not checked: --scorer fixed passes every pair")

        # --- ContrastFaceVerify (ID_MIN)
        def contrast(cert_no: str, selfie: bytes) -> dict[str, Any]:
            return c.call(
                "ContrastFaceVerify",
                {
                    "SceneId": self.scenes["ID_MIN"],
                    "OuterOrderNo": self.order(),
                    "ProductCode": "ID_MIN",
                    "CertType": "IDENTITY_CARD",
                    "CertName": self.cert_name,
                    "CertNo": cert_no,
                    "FaceContrastPicture": self.b64(selfie),
                    "Model": "FRONT_CAMERA_LIVENESS",
                    "UserId": "sdk-user-3",
                },
            )

        def contrast_ok() -> str:
            result = ok_body(contrast(self.cert_no, self.genuine), "ContrastFaceVerify")
            certify_id(result)
            verdict(result, "T", "200", "ID_MIN genuine")
            return "Passed T, SubCode 200, " + material(result, need_verify_score=True)

        r.check(n, "ContrastFaceVerify ID_MIN genuine → Passed T, SubCode 200", contrast_ok)
        if self.scorer == "face":
            def contrast_impostor() -> str:
                verdict(ok_body(contrast(self.cert_no, self.impostor), "ContrastFaceVerify"), "F", "204", "ID_MIN")
                return "Passed F, SubCode 204"

            r.check(n, "ContrastFaceVerify ID_MIN someone else → Passed F, SubCode 204", contrast_impostor)
        else:
            r.note(n, "ContrastFaceVerify impostor not checked: --scorer fixed passes every pair")

        def contrast_unknown() -> str:
            verdict(ok_body(contrast(self.unknown_cert_no, self.genuine), "ContrastFaceVerify"), "F", "202", "unknown ID")
            return "Passed F, SubCode 202"

        r.check(n, "ContrastFaceVerify, valid but unregistered ID number → SubCode 202", contrast_unknown)
        r.check(
            n,
            "ContrastFaceVerify, ID number with a wrong check digit → Code 401",
            lambda: business_code(contrast(self.bad_cert_no, self.genuine), "ContrastFaceVerify", ("401",)),
        )

        # --- CompareFaceVerify (PV_FC)
        def compare(source: bytes) -> dict[str, Any]:
            body = c.call(
                "CompareFaceVerify",
                {
                    "SceneId": self.scenes["PV_FC"],
                    "OuterOrderNo": self.order(),
                    "ProductCode": "PV_FC",
                    "SourceFaceContrastPicture": self.b64(source),
                    "TargetFaceContrastPicture": self.b64(self.reference),
                },
            )
            result = ok_body(body, "CompareFaceVerify")
            certify_id(result)
            score = result.get("VerifyScore")
            expect(isinstance(score, (int, float)) and not isinstance(score, bool), f"VerifyScore {score!r}")
            expect(0.0 <= float(score) <= 100.0, f"VerifyScore {score} outside [0, 100]")
            return result

        def compare_same() -> str:
            result = compare(self.genuine)
            expect(result.get("Passed") == "T", f"Passed {result.get('Passed')!r}")
            state["same_score"] = float(result["VerifyScore"])
            return f"Passed T, VerifyScore {result['VerifyScore']}"

        r.check(n, "CompareFaceVerify PV_FC same person → Passed T, VerifyScore", compare_same)
        if self.scorer == "face":
            def compare_other() -> str:
                result = compare(self.impostor)
                expect(result.get("Passed") == "F", f"Passed {result.get('Passed')!r}")
                same = state.get("same_score")
                expect(same is None or float(result["VerifyScore"]) < same, "impostor scored above the genuine pair")
                return f"Passed F, VerifyScore {result['VerifyScore']}"

            r.check(n, "CompareFaceVerify PV_FC someone else → Passed F, lower score", compare_other)

        # --- LivenessFaceVerify (LR_FR_MIN)
        def liveness() -> str:
            body = c.call(
                "LivenessFaceVerify",
                {
                    "SceneId": self.scenes["LR_FR_MIN"],
                    "OuterOrderNo": self.order(),
                    "ProductCode": "LR_FR_MIN",
                    "FaceContrastPicture": self.b64(self.genuine),
                    "Model": "FRONT_CAMERA_LIVENESS",
                    "UserId": "sdk-user-4",
                },
            )
            result = ok_body(body, "LivenessFaceVerify")
            certify_id(result)
            verdict(result, "T", "200", "LR_FR_MIN")
            return "Passed T, SubCode 200, " + material(result, need_verify_score=False)

        r.check(n, "LivenessFaceVerify LR_FR_MIN live photo → Passed T, SubCode 200", liveness)

    def run_tampering(self, c: Tea) -> None:
        """A request altered after signing is refused with SignatureDoesNotMatch."""
        r, n = self.report, c.name
        sig = ("SignatureDoesNotMatch",)

        def body_changed(request: Any) -> None:
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            expect(isinstance(body, str) and "Model=LIVENESS" in body, f"no Model in the form body {str(body)[:80]!r}")
            request.body = body.replace("Model=LIVENESS", "Model=MULTI_ACTION")

        def query_changed(request: Any) -> None:
            expect("UserId" in request.query, "no UserId in the query")
            request.query["UserId"] = "someone-else"

        def action_changed(request: Any) -> None:
            if "Action" in request.query:
                request.query["Action"] = "DeleteFaceVerifyResult"
            request.headers["x-acs-action"] = "DeleteFaceVerifyResult"

        for label, change in (
            ("form body changed after signing", body_changed),
            ("query changed after signing", query_changed),
        ):
            def run(change: Callable[[Any], None] = change) -> str:
                with c.tamper(change):
                    return refused(lambda: self.init_id_pro(c), sig, 400)

            r.check(n, f"InitFaceVerify, {label} → SignatureDoesNotMatch", run)

        def action() -> str:
            with c.tamper(action_changed):
                return refused(lambda: self.describe(c, PLACEHOLDER_ID), sig, 400)

        r.check(n, "signed as DescribeFaceVerify, sent as DeleteFaceVerifyResult → SignatureDoesNotMatch", action)

    def run_refusals(self, kind: str, c: Tea | Core, cid: str) -> None:
        """Refusals, as the SDK's exception reports them; `cid` is the certify ID described."""
        r, n = self.report, kind
        bad_secret = self.client(kind, self.demo["access_key_id"], self.demo["access_key_secret"] + "x")
        # The core SDK rewrites SignatureDoesNotMatch to InvalidAccessKeySecret when the server's
        # Message echoes the client's exact string-to-sign after a ':'; both are that refusal.
        sig_codes = ("SignatureDoesNotMatch", "InvalidAccessKeySecret") if kind == "core" else ("SignatureDoesNotMatch",)
        r.check(n, "wrong AccessKeySecret, InitFaceVerify → SignatureDoesNotMatch", lambda: refused(lambda: self.init_id_pro(bad_secret), sig_codes, 400))
        r.check(n, "wrong AccessKeySecret, DescribeFaceVerify → SignatureDoesNotMatch", lambda: refused(lambda: self.describe(bad_secret, cid), sig_codes, 400))
        unknown = self.client(kind, "LTAI" + uuid.uuid4().hex[:20], self.demo["access_key_secret"])
        r.check(
            n,
            "unknown AccessKeyId → InvalidAccessKeyId.NotFound",
            lambda: refused(lambda: self.describe(unknown, cid), ("InvalidAccessKeyId.NotFound",), 404),
        )

        def replay() -> str:
            nonce = uuid.uuid4().hex
            with c.fixed_nonce(nonce):
                answered(self.describe(c, cid), "DescribeFaceVerify (first use of the nonce)")
                return refused(lambda: self.describe(c, cid), ("SignatureNonceUsed",), 400)

        r.check(n, "replayed SignatureNonce → SignatureNonceUsed", replay)

        def replay_init() -> str:
            nonce = uuid.uuid4().hex
            with c.fixed_nonce(nonce):
                ok_body(self.init_id_pro(c), "InitFaceVerify (first use of the nonce)")
                return refused(lambda: self.init_id_pro(c), ("SignatureNonceUsed",), 400)

        r.check(n, "replayed SignatureNonce on InitFaceVerify → SignatureNonceUsed", replay_init)
        for label, minutes in (("16 minutes old", -16), ("16 minutes ahead", 16)):
            def skew(minutes: int = minutes) -> str:
                with c.clock_offset(dt.timedelta(minutes=minutes)):
                    return refused(lambda: self.describe(c, cid), ("InvalidTimeStamp.Expired",), 400)

            r.check(n, f"timestamp {label} → InvalidTimeStamp.Expired", skew)

        def skew_ok() -> str:
            with c.clock_offset(dt.timedelta(minutes=-5)):
                answered(self.describe(c, cid), "DescribeFaceVerify")
            return "accepted"

        r.check(n, "timestamp 5 minutes old → still accepted", skew_ok)

        if isinstance(c, Tea):
            self.run_tampering(c)
        else:
            r.note(n, "tampering checked with the tea clients only (the core SDK signs the same RPC form)")

        ro = self.client(kind, self.demo["readonly_access_key_id"], self.demo["readonly_access_key_secret"])

        def readonly_describe() -> str:
            body = self.describe(ro, cid)
            if cid == PLACEHOLDER_ID:
                return answered(body, "DescribeFaceVerify")
            ok_body(body, "DescribeFaceVerify")
            return "Code 200"

        r.check(n, "read-only RAM user, DescribeFaceVerify → allowed", readonly_describe)

        def readonly_init() -> str:
            try:
                body = self.init_id_pro(ro)
            except Refused as e:
                expect(e.status == 403 and e.code.startswith(("Forbidden", "NoPermission")), f"refused {e.code} HTTP {e.status}")
                return f"{e.code}, HTTP {e.status}"
            return business_code(body, "InitFaceVerify", ("411",)) + " (RAM无权限)"

        r.check(n, "read-only RAM user, InitFaceVerify → refused", readonly_init)


def loopback_endpoint(endpoint: str) -> bool:
    """Whether `host:port` names this machine (the only place test traffic may go)."""
    host = urllib.parse.urlsplit(f"http://{endpoint}").hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-file", required=True, type=Path)
    parser.add_argument("--photos", type=Path, default=Path(__file__).resolve().parents[3] / ".cache/face/photos")
    parser.add_argument("--scorer", choices=("face", "fixed"), default="face")
    parser.add_argument("--clients", default="tea-acs3,tea-rpc-v2,core")
    args = parser.parse_args()

    demo = json.loads(args.demo_file.read_text())
    for key in ("endpoint", "access_key_id", "access_key_secret", "readonly_access_key_id",
                "readonly_access_key_secret", "scenes"):
        if key not in demo:
            print(f"FAIL demo file {args.demo_file} has no {key!r}", flush=True)
            return 1
    if not loopback_endpoint(demo["endpoint"]):
        print(f"FAIL endpoint {demo['endpoint']!r} is not a loopback address; refusing to send", flush=True)
        return 1
    identity = demo.get("identity") or DEFAULT_IDENTITY
    if not valid_resident_id(identity["cert_no"]):
        print("FAIL the identity's CertNo has no valid ISO 7064 MOD 11-2 check character", flush=True)
        return 1
    for photo in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        if not (args.photos / photo).is_file():
            print(f"FAIL missing {args.photos / photo}: run `bash scripts/fetch-models.sh`", flush=True)
            return 1

    report = Report()
    story = Story(demo, args.photos, args.scorer, report)
    for kind in args.clients.split(","):
        if kind not in ("tea-acs3", "tea-rpc-v2", "core"):
            print(f"FAIL unknown client {kind!r}", flush=True)
            return 1
        story.run(kind)
    print(f"sdk_clients: {report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 and report.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
