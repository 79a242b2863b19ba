#!/usr/bin/env python3
"""How long a sign-in takes while a large register is being imported, on SQLite and on
PostgreSQL: the whole `spotcheck serve` process (release build), one 300,000-row xlsx
uploaded through the API, and a sign-in (GET /login, POST /login) every 100 ms from
another client until the import answers. Prints the import's time and the sign-ins'
median, p99, max and status codes (503 = the database was busy past the wait; 500 never).

Usage: python3 bench/login_during_import.py [--cli] [BINARY] [ROWS]
With --cli the register is imported by `spotcheck import FILE`, a second process on the same
database, while `serve` answers the sign-ins (an operator's import beside the running service).
PostgreSQL: SPOTCHECK_BENCH_PG=postgres://postgres@127.0.0.1:5432/test (a fresh schema per run).
"""
import http.client, os, re, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request, uuid

CLI = "--cli" in sys.argv[1:]
sys.argv = [a for a in sys.argv if a != "--cli"]  # upload_memory reads sys.argv when imported
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upload_memory import xlsx, multipart_file  # noqa: E402  (same register generator)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = sys.argv[1:]
BIN = ARGS[0] if len(ARGS) > 0 else os.path.join(ROOT, "target/release/spotcheck")
ROWS = int(ARGS[1]) if len(ARGS) > 1 else 300_000
PASSWORD = "riktig-passord-123"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def sign_in(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t0 = time.monotonic()
    try:
        c.request("GET", "/login")
        r = c.getresponse(); page = r.read().decode()
        cookie = re.search(r"spotcheck_login_csrf=([^;]+)", r.getheader("Set-Cookie") or "").group(1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = f"csrf_token={token}&username=kari&password={PASSWORD}"
        c.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                         "Cookie": f"spotcheck_login_csrf={cookie}"})
        r = c.getresponse(); r.read()
        return time.monotonic() - t0, r.status
    finally:
        c.close()

def run(backend, body, data):
    d = tempfile.mkdtemp(prefix="spotcheck-login-")
    env = dict(os.environ, SPOTCHECK_DATA_DIR=os.path.join(d, "data"), SPOTCHECK_ENRICH_POLL_SECONDS="0",
               SPOTCHECK_MAIL_POLL_SECONDS="0", SPOTCHECK_ADMIN_PASSWORD="admin-passord-123", RUST_LOG="warn",
               SPOTCHECK_PASSWORD=PASSWORD, SPOTCHECK_MAX_UPLOAD_BYTES=str(200 * 1024 * 1024))
    for k in ("SPOTCHECK_DATABASE_URL", "SPOTCHECK_CONFIG", "SPOTCHECK_SMTP_URL"):
        env.pop(k, None)
    schema = None
    if backend == "postgresql":
        base = os.environ["SPOTCHECK_BENCH_PG"]
        schema = "bench_" + uuid.uuid4().hex[:8]
        subprocess.run(["psql", base, "-qc", f"CREATE SCHEMA {schema}"], check=True)
        env["SPOTCHECK_DATABASE_URL"] = f"{base}?options=-csearch_path%3D{schema}"
    try:
        subprocess.run([BIN, "users", "add", "kari", "--role", "kemner"], env=env, check=True, capture_output=True)
        token = subprocess.run([BIN, "users", "token", "kari"], env=env, check=True, capture_output=True, text=True).stdout.strip()
        port = free_port()
        env["SPOTCHECK_BIND"] = f"127.0.0.1:{port}"
        srv = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1); break
                except Exception:
                    time.sleep(0.1)
            done = threading.Event(); result = {}
            def upload():
                if CLI:
                    path = os.path.join(d, "register.xlsx")
                    with open(path, "wb") as f:
                        f.write(data)
                    t0 = time.monotonic()
                    p = subprocess.run([BIN, "import", path, "--user", "kari"], env=env, capture_output=True)
                    result["status"], result["seconds"] = f"exit {p.returncode}", time.monotonic() - t0
                    done.set()
                    return
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
                t0 = time.monotonic()
                c.request("POST", "/api/v1/imports", body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=spotcheckbench"})
                r = c.getresponse(); r.read()
                result["status"], result["seconds"] = r.status, time.monotonic() - t0
                done.set()
            t = threading.Thread(target=upload); t.start()
            samples = []
            t_start = time.monotonic()
            time.sleep(0.5)
            while not done.is_set():
                at = time.monotonic() - t_start
                took, code = sign_in(port)
                samples.append((took, code, at))
                time.sleep(0.1)
            t.join()
            return result, samples
        finally:
            srv.terminate(); srv.wait()
    finally:
        shutil.rmtree(d, ignore_errors=True)
        if schema:
            subprocess.run(["psql", os.environ["SPOTCHECK_BENCH_PG"], "-qc", f"DROP SCHEMA {schema} CASCADE"], check=False)

def main():
    data = xlsx(ROWS)
    body = multipart_file("register.xlsx", data)
    print(f"register: {ROWS} rows, {len(data) / 1e6:.1f} MB xlsx, imported by " +
          ("`spotcheck import` beside the service" if CLI else "an upload to the service"))
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("SPOTCHECK_BENCH_PG") else [])
    for b in backends:
        result, samples = run(b, body, data)
        times = sorted(s[0] for s in samples)
        slowest = max(samples, key=lambda x: x[0]) if samples else (0, 0, 0)
        codes = {}
        for _, code, _ in samples:
            codes[code] = codes.get(code, 0) + 1
        p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))] if times else float("nan")
        print(f"{b}: import {result.get('status')} in {result.get('seconds', 0):.1f} s; "
              f"{len(samples)} sign-ins during it: median {statistics.median(times) * 1000:.0f} ms, "
              f"p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms (started {slowest[2]:.1f} s into the import); statuses {codes}")

if __name__ == "__main__":
    main()
