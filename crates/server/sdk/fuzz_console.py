"""Fuzzes shiren-server's console API (/console/v1/...) against its own OpenAPI document.

    target/fuzz-venv/bin/python crates/server/sdk/fuzz_console.py --demo-file DEMO.json
    (bash crates/server/sdk/fuzz-setup.sh makes target/fuzz-venv, schemathesis pinned and hashed)

1. Loads the document from the running server's GET /openapi.json with schemathesis.
2. For every operation, generates schema-valid (positive) and schema-invalid (negative) cases
   with Hypothesis (derandomized: the same cases on every run, bounded by --max-examples each)
   and sends them through one requests.Session whose auth signs every prepared request with
   ACS3-HMAC-SHA256 over its final bytes, `x-acs-action` = the operation's operationId.
   Every response must pass schemathesis's checks: no 5xx, a status the document declares,
   its content type, a body matching the declared schema; negative cases must be refused
   with 4xx; a correctly signed positive case must never be refused for its signature.
3. Malformed variants (unsigned, wrong secret, replayed nonce, each signed header missing,
   body or action altered after signing, expired date, the read-only user writing) must be
   refused with 4xx and the document's envelope.
4. The server must still answer GET /healthz afterwards.

Prints a summary; exits non-zero on any failure.
"""

import argparse
import collections
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import sys
import time
import urllib.parse
import uuid

# Hypothesis keeps its caches under target/, not in the working directory.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      str(pathlib.Path(__file__).resolve().parents[3] / "target" / "hypothesis"))

import requests  # noqa: E402 (after the environment above)
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

ALGORITHM = "ACS3-HMAC-SHA256"
VERSION = "2019-03-07"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# ---- ACS3-HMAC-SHA256 (stdlib only; spec: /work/shared/signing.md §2) ---------------------


def pop_encode(text, keep=""):
    """Percent-encodes everything but A-Z a-z 0-9 - _ . ~ (and `keep`), upper-case hex."""
    return urllib.parse.quote(text, safe="~" + keep)


def canonical_request(method, path, query_pairs, headers, signed, payload_hash):
    canonical_uri = pop_encode(urllib.parse.unquote(path), "/") if path else "/"
    canonical_query = "&".join(
        f"{k}={v}" for k, v in sorted((pop_encode(k), pop_encode(v)) for k, v in query_pairs))
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    return f"{method}\n{canonical_uri}\n{canonical_query}\n{lines}\n{';'.join(signed)}\n{payload_hash}"


def sign(prepared, key_id, secret, action, *, date=None, nonce=None, omit=()):
    """Signs a requests.PreparedRequest in place over its final URL and body bytes."""
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    url = urllib.parse.urlsplit(prepared.url)
    headers = {
        "host": url.netloc,
        "x-acs-action": action,
        "x-acs-version": VERSION,
        "x-acs-date": date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    content_type = prepared.headers.get("Content-Type")
    if content_type:
        headers["content-type"] = content_type
    for name in omit:
        headers.pop(name, None)
    signed = sorted(headers)
    query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    request = canonical_request(prepared.method, url.path, query, headers, signed, headers.get(
        "x-acs-content-sha256", EMPTY_SHA256))
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(request.encode()).hexdigest()}"
    signature = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    for name, value in headers.items():
        if name != "host":
            prepared.headers[name] = value
    prepared.headers["Authorization"] = f"{ALGORITHM} Credential={key_id},SignedHeaders={';'.join(signed)},Signature={signature}"
    return prepared


class Acs3Auth(requests.auth.AuthBase):
    """Signs each prepared request; the action is the request's `x-acs-action` header."""

    def __init__(self, key_id, secret):
        self.key_id, self.secret = key_id, secret

    def __call__(self, prepared):
        action = prepared.headers.get("x-acs-action")
        if not action:
            raise ValueError("Acs3Auth needs an x-acs-action header (the operationId)")
        return sign(prepared, self.key_id, self.secret, action)


# ---- reporting ----------------------------------------------------------------------------

failures = collections.OrderedDict()  # (where, what) -> (count, an example)


def fail(where, what, example=""):
    count, first = failures.get((where, what), (0, example))
    failures[(where, what)] = (count + 1, first)


def first_lines(text, n=12):
    return "\n".join(str(text).strip().splitlines()[:n])


def is_envelope(body):
    return (isinstance(body, dict) and all(isinstance(body.get(k), str) for k in ("RequestId", "Code", "Message"))
            and (body.get("Data") is None or isinstance(body.get("Data"), dict)))


# ---- 1. schema-driven cases ---------------------------------------------------------------

POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NEGATIVE_CHECKS = POSITIVE_CHECKS + [negative_data_rejection]
AUTH_CODES = {"SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "SignatureNonceUsed",
              "InvalidTimeStamp.Expired", "IncompleteSignature", "MissingParameter"}


def refusals(case, op_id, base_url, sessions, label, stats):
    """The same generated case unsigned, signed with a wrong secret, and (a change) as the
    read-only user: each refused before the handler reads it."""
    write = case.operation.method.upper() != "GET"
    for who, want_status, want_codes in (
            ("unsigned", 400, {"MissingParameter", "IncompleteSignature"}),
            ("a wrong secret", 400, {"SignatureDoesNotMatch"}),
            ("the read-only user", 403 if write else None, {"Forbidden.RAM"} if write else None)):
        response = case.call(base_url=base_url, session=sessions[who], headers={"x-acs-action": op_id}, timeout=30)
        stats[f"{label} as {who}"][response.status_code] += 1
        try:
            body = response.json()
        except ValueError:
            body = None
        if want_status is None:  # a read by the read-only user: whatever the full user would get
            ok = response.status_code < 500 and is_envelope(body)
        else:
            ok = response.status_code == want_status and is_envelope(body) and body.get("Code") in want_codes
        if not ok:
            fail(label, f"sent as {who}: HTTP {response.status_code}, not {want_status} {sorted(want_codes or [])}",
                 first_lines(response.text, 3))


def fuzz_operation(operation, session, base_url, mode, max_examples, stats, sessions=None):
    op_id = operation.definition.raw.get("operationId")
    label = f"{op_id} ({operation.method.upper()} {operation.path}) {mode.value}"
    if not op_id:
        fail(label, "the operation has no operationId (the signer needs it for x-acs-action)")
        return
    checks = NEGATIVE_CHECKS if mode == GenerationMode.NEGATIVE else POSITIVE_CHECKS

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        try:
            response = case.call(base_url=base_url, session=session, headers={"x-acs-action": op_id}, timeout=30)
        except requests.RequestException as e:
            fail(label, f"no response: {type(e).__name__}", str(e)[:300])
            return
        stats[label][response.status_code] += 1
        if sessions and sum(stats[label].values()) <= 3:  # the first cases again, unsigned and so on
            refusals(case, op_id, base_url, sessions, label, stats)
        try:
            body = response.json()
        except ValueError:
            body = None
        if mode == GenerationMode.POSITIVE and response.status_code in (400, 403, 404) and isinstance(
                body, dict) and body.get("Code") in AUTH_CODES:
            fail(label, f"a correctly signed request was refused with {body.get('Code')}",
                 f"{response.request.method} {response.request.url}\n{first_lines(response.text, 3)}")
        try:
            case.validate_response(response, checks=checks)
        except (AssertionError, FailureGroup) as e:  # one failure, or a group of them
            title = first_lines(e, 1)
            fail(label, title, first_lines(e, 25))

    run()


def seeded(schema, session, base_url, stats):
    """One valid input per operation (the fuzzer rarely guesses a catalog size or a product
    code), chained where an operation needs what another made: every 200 answer is checked
    against the document too. Returns the operation IDs it covered."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    state = {}
    steps = [
        ("DescribeScenes", {}, None),
        ("CreateScene", {"body": {"Name": "fuzz-" + uuid.uuid4().hex[:8], "Solution": "App", "ProductCode": "ID_PRO"}},
         lambda data: state.__setitem__("scene", data.get("id"))),
        ("UpdateScene", lambda: {"path_parameters": {"id": state.get("scene")}, "body": {"Name": "fz-b-" + uuid.uuid4().hex[:8]}}, None),
        ("DeleteScene", lambda: {"path_parameters": {"id": state.get("scene")}}, None),
        ("CreateAuthorization", {"body": {"ObjectStorage": True}}, None),
        ("DescribePacks", {}, None),
        ("PurchasePack", {"body": {"PackType": "RealPerson", "Units": 50000}}, lambda data: state.__setitem__("pack", data.get("id"))),
        ("SetPackAlert", lambda: {"path_parameters": {"id": state.get("pack")}, "body": {"Threshold": "0.2"}}, None),
        ("QueryRefundQuote", lambda: {"path_parameters": {"id": state.get("pack")}}, None),
        ("DescribeDailyBills", {"query": {"From": (today - datetime.timedelta(days=6)).isoformat(), "To": today.isoformat()}}, None),
        ("DescribeMonthlyStatement", {"path_parameters": {"month": today.strftime("%Y-%m")}}, None),
        ("DescribeRecords", {"query": {"Limit": 5}}, None),
        ("DescribeStatistics", {"query": {"SceneId": 1, "Range": "7d"}}, None),
    ]
    covered = set()
    for op_id, kwargs, keep in steps:
        try:
            operation = schema.find_operation_by_id(op_id)
        except Exception:  # not in this server's document (yet): the generated cases still cover it
            continue
        covered.add(op_id)
        label = f"{op_id} ({operation.method.upper()} {operation.path}) seeded"
        kwargs = kwargs() if callable(kwargs) else kwargs
        case = operation.Case(**kwargs)
        response = case.call(base_url=base_url, session=session, headers={"x-acs-action": op_id}, timeout=30)
        stats[label][response.status_code] += 1
        if response.status_code != 200:
            fail(label, f"a valid request was not answered 200 but {response.status_code}", first_lines(response.text, 3))
        try:
            case.validate_response(response, checks=POSITIVE_CHECKS)
        except (AssertionError, FailureGroup) as e:
            fail(label, first_lines(e, 1), first_lines(e, 25))
        if keep and response.status_code == 200:
            keep(response.json().get("Data") or {})
    return covered


# ---- 2. malformed variants ----------------------------------------------------------------


def malformed(base_url, demo):
    key, secret = demo["access_key_id"], demo["access_key_secret"]
    out = []

    def send(name, prepared, want_status=None, want_code=None, envelope=True):
        r = requests.Session().send(prepared, timeout=30)
        try:
            body = r.json()
        except ValueError:
            body = None
        ok = 400 <= r.status_code < 500 and (is_envelope(body) or not envelope)
        if want_status is not None:
            ok = ok and r.status_code == want_status
        if want_code is not None:
            ok = ok and isinstance(body, dict) and body.get("Code") == want_code
        detail = f"HTTP {r.status_code} {(body or {}).get('Code') if isinstance(body, dict) else r.text[:80]!r}"
        out.append((name, ok, detail))
        if not ok:
            fail("malformed", name, detail)

    def prep(method, path, action, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "x-acs-action": action} if data else {"x-acs-action": action}
        return requests.Request(method, base_url + path, data=data, headers=headers).prepare()

    def good(method, path, action, body=None):
        return sign(prep(method, path, action, body), key, secret, action)

    # Sanity: the same construction, untouched, is accepted (so the refusals below mean something).
    r = requests.Session().send(good("GET", "/console/v1/scenes", "DescribeScenes"), timeout=30)
    sane = r.status_code == 200 and is_envelope(r.json())
    out.append(("a correctly signed DescribeScenes is accepted", sane, f"HTTP {r.status_code}"))
    if not sane:
        fail("malformed", "a correctly signed DescribeScenes is accepted", r.text[:200])

    cases = [("GET", "/console/v1/scenes", "DescribeScenes", None),
             ("POST", "/console/v1/authorization", "CreateAuthorization", {"ObjectStorage": False})]
    for method, path, action, body in cases:
        send(f"{action}: unsigned (no Authorization, no x-acs-*)", prep(method, path, action, body))
        send(f"{action}: signed with a wrong secret", sign(prep(method, path, action, body), key, secret + "x", action),
             400, "SignatureDoesNotMatch")
        send(f"{action}: an unknown AccessKeyId", sign(prep(method, path, action, body), "LTAI" + "0" * 20, secret, action),
             404, "InvalidAccessKeyId.NotFound")
        once = good(method, path, action, body)
        requests.Session().send(once.copy(), timeout=30)
        send(f"{action}: the same request replayed (nonce reused)", once, 400, "SignatureNonceUsed")
        for header in ("Authorization", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256", "x-acs-action"):
            p = good(method, path, action, body)
            del p.headers[header]
            send(f"{action}: signed, then {header} removed", p)
        for header in ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"):
            send(f"{action}: signed without {header}",
                 sign(prep(method, path, action, body), key, secret, action, omit=(header,)))
        old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        send(f"{action}: x-acs-date 16 minutes old", sign(prep(method, path, action, body), key, secret, action, date=old),
             400, "InvalidTimeStamp.Expired")
        other = "DescribePacks" if method == "GET" else "PurchasePack"
        send(f"{action}: signed as {other} (another operation)", good(method, path, other, body), 400)
        p = good(method, path, action, body)
        p.headers["x-acs-action"] = other
        send(f"{action}: x-acs-action swapped after signing", p, 400, "SignatureDoesNotMatch")
        p = good(method, path + "?From=2026-01-01" if method == "GET" else path + "?x=1", action, body)
        p.url = p.url.split("?")[0] + "?From=2026-01-02" if method == "GET" else p.url.replace("x=1", "x=2")
        send(f"{action}: query altered after signing", p, 400, "SignatureDoesNotMatch")
    # Body altered after signing: once with the stale hash, once with a fresh hash but the old signature.
    p = good("POST", "/console/v1/authorization", "CreateAuthorization", {"ObjectStorage": False})
    p.prepare_body(b'{"ObjectStorage":true}', None)
    send("CreateAuthorization: body altered after signing (stale x-acs-content-sha256)", p, 400)
    p = good("POST", "/console/v1/authorization", "CreateAuthorization", {"ObjectStorage": False})
    p.prepare_body(b'{"ObjectStorage":true}', None)
    p.headers["x-acs-content-sha256"] = hashlib.sha256(b'{"ObjectStorage":true}').hexdigest()
    send("CreateAuthorization: body and its hash altered after signing", p, 400, "SignatureDoesNotMatch")
    # Bodies and URLs the handlers never see in that shape, correctly signed.
    raw = prep("POST", "/console/v1/scenes", "CreateScene", {"Name": "x"})
    raw.prepare_body(b'\xff\xfe{"Name":', None)
    send("CreateScene: a body that is not JSON (nor UTF-8)", sign(raw, key, secret, "CreateScene"), 400)
    big = prep("POST", "/console/v1/scenes", "CreateScene", {"Name": "x" * (3 << 20)})
    send("CreateScene: a 3 MiB body", sign(big, key, secret, "CreateScene"))
    send("DescribeDailyBills: a malformed %-escape in the query",
         sign(prep("GET", "/console/v1/bills?From=%zz", "DescribeDailyBills"), key, secret, "DescribeDailyBills"))
    # Outside the document: any 4xx (the router's own answers carry no envelope).
    send("PATCH /console/v1/scenes (a method the API lacks)",
         sign(prep("PATCH", "/console/v1/scenes", "CreateScene", {"Name": "x"}), key, secret, "CreateScene"),
         405, envelope=False)
    send("GET /console/v1/nothing (a path the API lacks)",
         sign(prep("GET", "/console/v1/nothing", "DescribeScenes"), key, secret, "DescribeScenes"), 404, envelope=False)
    # RAM: the read-only user may read but not write.
    ro = sign(prep("POST", "/console/v1/authorization", "CreateAuthorization", {"ObjectStorage": False}),
              demo["readonly_access_key_id"], demo["readonly_access_key_secret"], "CreateAuthorization")
    send("CreateAuthorization by the read-only user", ro, 403)
    return out


# ---- main ---------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo-file", required=True)
    ap.add_argument("--max-examples", type=int, default=40, help="cases per operation and mode (default 40)")
    args = ap.parse_args()
    demo = json.load(open(args.demo_file))
    base_url = "http://" + demo["endpoint"]
    started = time.monotonic()

    # The Authorization "API key" of the document is our signature: not a parameter to generate
    # or negate (the signer sets it on every request).
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", config=config, timeout=30)
    session = requests.Session()
    session.auth = Acs3Auth(demo["access_key_id"], demo["access_key_secret"])
    sessions = {"unsigned": requests.Session(), "a wrong secret": requests.Session(),
                "the read-only user": requests.Session()}
    sessions["a wrong secret"].auth = Acs3Auth(demo["access_key_id"], demo["access_key_secret"] + "x")
    sessions["the read-only user"].auth = Acs3Auth(demo["readonly_access_key_id"], demo["readonly_access_key_secret"])
    stats = collections.defaultdict(collections.Counter)
    operations = 0
    unnegatable = []
    seeded_ops = seeded(schema, session, base_url, stats)
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception as e:  # an operation schemathesis cannot read is a document bug
            fail("openapi.json", "an operation schemathesis cannot load", first_lines(e, 10))
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(operation, session, base_url, mode, args.max_examples, stats,
                               sessions if mode == GenerationMode.POSITIVE else None)
            except Unsatisfiable:  # nothing in this operation can be made schema-invalid on the wire
                unnegatable.append(f"{operation.method.upper()} {operation.path}")
            except Exception as e:  # a generation error (e.g. an unsatisfiable schema) is a finding too
                fail(f"{operation.method.upper()} {operation.path} {mode.value}", f"{type(e).__name__}: {first_lines(e, 1)}",
                     first_lines(e, 20))
    if operations == 0:
        fail("openapi.json", "the document has no operations")
    fuzzed = time.monotonic() - started

    variants = malformed(base_url, demo)

    try:
        health = requests.get(base_url + "/healthz", timeout=10)
        healthy = health.status_code == 200 and health.text.strip() == "ok"
    except requests.RequestException as e:
        healthy, health = False, e
    if not healthy:
        fail("server", "GET /healthz after fuzzing did not answer 200 ok", str(getattr(health, "status_code", health)))

    total = 0
    print(f"fuzz_console: {operations} operations from {base_url}/openapi.json "
          f"(schemathesis {schemathesis.__version__}, {args.max_examples} derandomized cases per operation and mode)")
    for label in sorted(stats):
        n = sum(stats[label].values())
        total += n
        print(f"  {label}: {n} cases, statuses {dict(sorted(stats[label].items()))}")
    print(f"  valid seeded cases for: {', '.join(sorted(seeded_ops))}")
    print(f"  no negative case possible (every parameter a free string, or none): {', '.join(unnegatable) or '-'}")
    for name, ok, detail in variants:
        print(("  ok   " if ok else "  FAIL ") + name + ": " + detail)
    print(f"  GET /healthz after fuzzing: {'ok' if healthy else 'FAILED'}")
    for (where, what), (count, example) in failures.items():
        print(f"FAIL {where}: {what} ({count}x)")
        if example:
            print("     " + example.replace("\n", "\n     "))
    print(f"fuzz_console: {total} schema cases in {fuzzed:.1f}s, {len(variants)} malformed variants, "
          f"{len(failures)} distinct failures, {time.monotonic() - started:.1f}s in all")
    sys.exit(1 if failures or total == 0 else 0)


if __name__ == "__main__":
    main()
