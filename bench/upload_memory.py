#!/usr/bin/env python3
"""Peak memory of `spotcheck serve` (SQLite) for uploads, as a user's server would see it.

Each scenario runs on a fresh server process (its own data folder), so the peak resident
set (VmHWM in /proc/PID/status) belongs to that scenario alone: idle after start-up, one
ordinary 10,000-row xlsx import, four hostile xlsx files at once (1 MB each, whose sheet
inflates to 1,000 MiB of white space between two rows), and four hostile forms at once
(12,000 text fields of 60 KiB, 720 MB each: refused by their declared length, and sent
chunked without a length, refused at the 17th field).
Scenarios alternate; each is repeated and the median reported, with its ratio to the
ordinary import's peak. Usage: python3 bench/upload_memory.py [BINARY] [REPEATS]
"""
import http.client, io, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/spotcheck")
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
BOUNDARY = "spotcheckbench"

def xlsx(rows, pad=0):
    """An xlsx with inline strings; `pad` bytes of white space after the header row."""
    buf = io.BytesIO()
    z = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)
    z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
    z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Kontrakter" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    def cell(ref, v):
        return f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'
    header = ["Avtalenr", "Beskrivelse", "Leverandør", "Org.nr", "Verdi", "Startdato", "Sluttdato", "Enhet"]
    with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
        f.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        f.write(('<row r="1">' + "".join(cell(f"{chr(65 + i)}1", h) for i, h in enumerate(header)) + "</row>").encode())
        spaces = b" " * (1 << 20)
        for _ in range(pad >> 20):
            f.write(spaces)
        orgnrs = ["923609016", "991825827", "974760673", "937052766"]
        for r in range(2, rows + 2):
            vals = [f"K-{r:06d}", f"Renhold bygg {r % 97}", f"Leverandør {r % 500} AS", orgnrs[r % 4], str(10000 + r * 37 % 5000000), "01.01.2025", "31.12.2027", f"Enhet {r % 12}"]
            f.write(('<row r="%d">' % r + "".join(cell(f"{chr(65 + i)}{r}", v) for i, v in enumerate(vals)) + "</row>").encode())
        f.write(b"</sheetData></worksheet>")
    z.close()
    return buf.getvalue()

def multipart_file(name, data):
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f'Content-Type: application/octet-stream\r\n\r\n').encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()

def post(port, token, body_iter, length):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        c.putrequest("POST", "/api/v1/imports")
        c.putheader("Authorization", f"Bearer {token}")
        c.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
        if length is None:
            c.putheader("Transfer-Encoding", "chunked")
        else:
            c.putheader("Content-Length", str(length))
        c.endheaders()
        try:
            for chunk in body_iter:
                c.send(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if length is None:
                c.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the rest was sent
        return c.getresponse().status
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        return "closed"
    finally:
        c.close()

def many_fields(n=12000, size=60 * 1024):
    value = b"x" * size
    def gen():
        for i in range(n):
            yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n'.encode() + value + b"\r\n"
        yield f"--{BOUNDARY}--\r\n".encode()
    per = len(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f0"\r\n\r\n') + size + 2
    return gen, n * (per + 5) + len(f"--{BOUNDARY}--\r\n")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

def run(scenario, files):
    d = tempfile.mkdtemp(prefix="spotcheck-mem-")
    env = dict(os.environ, SPOTCHECK_DATA_DIR=os.path.join(d, "data"), SPOTCHECK_ENRICH_POLL_SECONDS="0",
               SPOTCHECK_MAIL_POLL_SECONDS="0", SPOTCHECK_ADMIN_PASSWORD="admin-passord-123", RUST_LOG="warn",
               SPOTCHECK_PASSWORD="riktig-passord-123", SPOTCHECK_MAX_UPLOAD_BYTES=str(50 * 1024 * 1024))
    for k in ("SPOTCHECK_DATABASE_URL", "SPOTCHECK_CONFIG", "SPOTCHECK_SMTP_URL"):
        env.pop(k, None)
    subprocess.run([BIN, "users", "add", "per", "--role", "innkjoper"], env=env, check=True, capture_output=True)
    token = subprocess.run([BIN, "users", "token", "per"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    env["SPOTCHECK_BIND"] = f"127.0.0.1:{port}"
    srv = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1); break
            except Exception:
                time.sleep(0.1)
        statuses = []
        def one(body_iter, length):
            statuses.append(post(port, token, body_iter, length))
        threads = []
        if scenario == "ordinary 10k-row import":
            body = multipart_file("register.xlsx", files["normal"])
            threads = [threading.Thread(target=one, args=([body], len(body)))]
        elif scenario == "4 hostile xlsx at once":
            body = multipart_file("tomrom.xlsx", files["hostile"])
            threads = [threading.Thread(target=one, args=([body], len(body))) for _ in range(4)]
        elif scenario == "4 forms of 12,000 fields at once":
            gen, length = many_fields()
            threads = [threading.Thread(target=one, args=(gen(), length)) for _ in range(4)]
        elif scenario == "4 such forms, chunked (no length)":
            gen, _ = many_fields()
            threads = [threading.Thread(target=one, args=(gen(), None)) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        time.sleep(0.2)
        return vm_hwm_kib(srv.pid), statuses
    finally:
        srv.terminate(); srv.wait()
        shutil.rmtree(d, ignore_errors=True)

def main():
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} not found: cargo build --release first")
    files = {"normal": xlsx(10000), "hostile": xlsx(1, pad=1000 << 20)}
    print(f"ordinary file {len(files['normal']) / 1e6:.1f} MB; hostile file {len(files['hostile']) / 1e6:.1f} MB (sheet inflates to 1000 MiB)")
    scenarios = ["idle after start-up", "ordinary 10k-row import", "4 hostile xlsx at once",
                 "4 forms of 12,000 fields at once", "4 such forms, chunked (no length)"]
    peaks = {s: [] for s in scenarios}
    for i in range(REPEATS):
        for s in scenarios:
            kib, statuses = run(s, files)
            peaks[s].append(kib)
            print(f"  run {i + 1}: {s}: {kib / 1024:.0f} MiB {statuses}", flush=True)
    base = statistics.median(peaks["ordinary 10k-row import"])
    print(f"\npeak RSS, median of {REPEATS} (ratio to the ordinary import)")
    for s in scenarios:
        m = statistics.median(peaks[s])
        print(f"  {s:36s} {m / 1024:7.0f} MiB  {m / base:5.2f}x")

if __name__ == "__main__":
    main()
