"""The seed's python workload as a TFORK template.

The template pays for the imports once (json, re, decimal, sqlite3,
hashlib, email, http.client, and numpy where Debian's python3-numpy is in
the root), then saves through ctypes (sdk/python/intravisor.py: one raw
hostcall).  Each fork runs the handler its args name and prints the
result.  Run outside a cVM, it does the same with argv[1] as the handler
(the benchmark's native cold start); so does a plain cVM (not a template:
save() returns at once), whose args are the whole argv.  A handler given as
"@PATH" is named by the file PATH instead: opening a FIFO there blocks after
the imports until the name is written (the benchmark's memory measurement).
PYWORKLOAD_NUMPY=0 in the environment leaves numpy out (a native run
importing what the root, without numpy, imports).
"""

import decimal
import email
import email.policy
import hashlib
import http.client
import io
import json
import os
import re
import sqlite3
import sys

try:
    if os.environ.get("PYWORKLOAD_NUMPY") == "0":
        raise ImportError("PYWORKLOAD_NUMPY=0")
    import numpy
except ImportError:
    numpy = None

sys.path.insert(0, "/app")
import intravisor  # noqa: E402

print("python: modules imported (numpy: %s)" % ("yes" if numpy else "no"), flush=True)


def h_json():
    doc = json.loads('{"name": "intravisor", "forks": [1, 2, 3], "ok": true}')
    doc["total"] = sum(doc["forks"])
    return json.dumps(doc, sort_keys=True)


def h_re():
    text = "cVM alpha=1, cVM beta=22, cVM gamma=333"
    return ",".join("%s:%d" % (k, len(v)) for k, v in re.findall(r"cVM (\w+)=(\d+)", text))


def h_decimal():
    decimal.getcontext().prec = 30
    return str(decimal.Decimal(1) / decimal.Decimal(7))


def h_sqlite():
    db = sqlite3.connect(":memory:")
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t (v) values (?)", [("row%d" % i,) for i in range(100)])
    n, last = db.execute("select count(*), max(v) from t").fetchone()
    return "%d rows, max %s" % (n, last)


def h_hash():
    return hashlib.sha256(b"Hello There").hexdigest()


def h_email():
    raw = "From: a@example.org\nTo: b@example.org\nSubject: forks\n\nbody text\n"
    msg = email.message_from_string(raw, policy=email.policy.default)
    return "%s -> %s: %s" % (msg["from"], msg["to"], msg["subject"])


def h_http():
    class Sock:
        def makefile(self, mode):
            return io.BytesIO(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                              b"Content-Type: text/plain\r\n\r\nhello")

    resp = http.client.HTTPResponse(Sock())
    resp.begin()
    return "%d %s %s" % (resp.status, resp.getheader("Content-Type"), resp.read().decode())


def h_numpy():
    if numpy is None:
        return "numpy not installed"
    a = numpy.arange(12).reshape(3, 4)
    return str(int((a @ a.T).trace()))


HANDLERS = {"json": h_json, "re": h_re, "decimal": h_decimal, "sqlite": h_sqlite,
            "hash": h_hash, "email": h_email, "http": h_http, "numpy": h_numpy}

try:
    intravisor.save()
    # a fork or a restored cVM (inspect() 0) gets its own args; a plain cVM
    # (1) has the argv it was started with
    from_argv = intravisor.inspect() == 1
except intravisor.NotInCVM:
    from_argv = True
if from_argv:
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
else:
    arg = intravisor.get_arg().strip()
if arg.startswith("@"):
    print("python: reading the handler from %s" % arg[1:], flush=True)
    try:
        with open(arg[1:]) as f:
            arg = f.read(64).strip()
    except (OSError, UnicodeError) as e:
        print("python: cannot read the handler from %s: %s" % (arg[1:], e), flush=True)
        sys.exit(2)

handler = HANDLERS.get(arg)
if handler is None:
    print("python: no handler %r (have: %s)" % (arg, " ".join(sorted(HANDLERS))), flush=True)
    sys.exit(2)
print("python %s: %s" % (arg, handler()), flush=True)
