"""The shipped nginx config (docs/nginx/) in front of ``mmpos serve``: slow clients do not starve it.

Unproxied, ten connections sending a body one byte every 2 s timed out 11 of 16 health probes, and
ten sending their headers slowly blocked every probe for 30 s: gunicorn's threads each wait for one
client. nginx reads whole requests on its event loop first. This runs Debian's nginx (``make test``
installs it) as a child process with its own prefix, pid, logs and free ports, with the shipped
files (only the ports, paths and certificate swapped: each swap is asserted), a certificate made
here, and the attack: 10 slow-body and 10 slow-header TLS connections while 16 probes ask /healthz.
"""

from __future__ import annotations

import datetime as dt
import http.client
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.serving.conftest import ROOT, free_port, start_server

NGINX_DIR = ROOT / "docs" / "nginx"
SITE = "mmpos.desk.example"
SLOW_CONNECTIONS = 10  # of each kind
PROBES = 8  # over ~6 s: without nginx, slow headers blocked every probe from the first (issue 17)
PROBE_TIMEOUT_S = 5.0


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for ``SITE`` (the ``cryptography`` package)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SITE)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(SITE)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def swap(text: str, old: str, new: str, count: int) -> str:
    assert text.count(old) == count, f"the shipped nginx config no longer has {count} x {old!r}"
    return text.replace(old, new)


def site_config(app_port: int, https_port: int, http_port: int, cert: Path, key: Path) -> str:
    text = (NGINX_DIR / "mmpos.conf").read_text()
    text = swap(text, "server 127.0.0.1:8050;", f"server 127.0.0.1:{app_port};", 1)
    text = swap(text, "listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", 2)
    text = swap(text, "listen 80", f"listen 127.0.0.1:{http_port}", 2)
    text = swap(text, "/etc/ssl/mmpos/fullchain.pem", str(cert), 2)
    text = swap(text, "/etc/ssl/mmpos/privkey.pem", str(key), 2)
    return swap(text, "include /etc/nginx/snippets/mmpos-proxy.conf;", f"include {NGINX_DIR / 'mmpos-proxy.conf'};", 1)


def main_config(prefix: Path, site: Path) -> str:
    temp = {name: prefix / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir(exist_ok=True)
    return f"""daemon off;
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 512; }}
http {{
    access_log {prefix / 'access.log'};
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {site};
}}
"""


class Nginx:
    def __init__(self, prefix: Path, app_port: int) -> None:
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if binary is None:
            pytest.fail("nginx is missing: `make test` installs it (apt-get install nginx)")
        cert, key = self_signed(prefix)
        self.https_port, self.http_port = free_port(), free_port()
        site = prefix / "site.conf"
        site.write_text(site_config(app_port, self.https_port, self.http_port, cert, key))
        conf = prefix / "nginx.conf"
        conf.write_text(main_config(prefix, site))
        check = subprocess.run([binary, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"nginx did not listen within 10 s: {(prefix / 'error.log').read_text()[-2000:]}")

    def tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # our own throwaway certificate
        return context

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None,
                timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=timeout, context=self.tls())
        try:
            conn.request(method, path, body=body, headers={"Host": SITE, **(headers or {})})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    work = tmp_path_factory.mktemp("nginx")
    served = start_server(work, {"MMPOS_ALLOWED_HOSTS": SITE, "MMPOS_TRUSTED_PROXIES": "127.0.0.1",
                                 "MMPOS_AUTH_PROXY_HEADER": "X-Remote-User", "MMPOS_THREADS": "4"})
    try:
        prefix = work / "nginx"
        prefix.mkdir()
        nginx = Nginx(prefix, served.port)
        try:
            yield nginx, served
        finally:
            nginx.stop()
    finally:
        served.stop()  # also when nginx could not start


def test_nginx_serves_the_app_over_tls_with_hsts_and_redirects_plain_http(proxied):
    nginx, _served = proxied
    status, headers, body = nginx.request("GET", "/healthz")
    assert status == 200 and b'"ok"' in body
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    conn.request("GET", "/x", headers={"Host": SITE})
    plain = conn.getresponse()
    assert plain.status == 301 and plain.getheader("Location") == f"https://{SITE}/x"
    conn.close()


def test_nginx_refuses_bodies_over_the_apps_limits_and_drops_a_client_named_user(proxied):
    nginx, _served = proxied
    status, _, _ = nginx.request("POST", "/_dash-update-component", body=b"x" * (1024 * 1024 + 1),
                                 headers={"Content-Type": "application/json"})
    assert status == 413
    status, _, _ = nginx.request("POST", "/_mmpos/upload", body=b"x" * (2 * 1024 * 1024),
                                 headers={"Content-Type": "application/octet-stream"})
    assert status != 413  # the dropped-file route takes up to 32 MiB (the app answers it)
    # the app believes X-Remote-User from nginx's address: nginx must never pass a client's own
    assert nginx.request("GET", "/", headers={"X-Remote-User": "alice"})[0] == 403
    basic = {"Authorization": "Basic YWxpY2U6eA=="}  # alice:x, unchecked by nginx: not a user either
    assert nginx.request("GET", "/", headers=basic)[0] == 403


def slow_body(nginx: Nginx, stop: threading.Event) -> None:
    sock = nginx.tls().wrap_socket(socket.create_connection(("127.0.0.1", nginx.https_port), timeout=5))
    try:
        sock.sendall(f"POST /_dash-update-component HTTP/1.1\r\nHost: {SITE}\r\nContent-Type: application/json\r\n"
                     "Content-Length: 1000\r\n\r\n".encode())
        while not stop.wait(2.0):
            sock.sendall(b" ")
    except OSError:
        pass  # nginx dropped it: that is the point
    finally:
        sock.close()


def slow_headers(nginx: Nginx, stop: threading.Event) -> None:
    sock = nginx.tls().wrap_socket(socket.create_connection(("127.0.0.1", nginx.https_port), timeout=5))
    try:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {SITE}\r\n".encode())
        i = 0
        while not stop.wait(2.0):
            sock.sendall(f"X-Slow-{i}: {i}\r\n".encode())
            i += 1
    except OSError:
        pass
    finally:
        sock.close()


def test_slow_clients_through_nginx_do_not_starve_the_health_probes(proxied):
    nginx, served = proxied
    stop = threading.Event()
    attackers = [threading.Thread(target=kind, args=(nginx, stop), daemon=True)
                 for kind in (slow_body, slow_headers) for _ in range(SLOW_CONNECTIONS)]
    for thread in attackers:
        thread.start()
    time.sleep(2.0)  # every attacker is connected and trickling
    answered = []
    try:
        for _ in range(PROBES):
            try:
                answered.append(nginx.request("GET", "/healthz", timeout=PROBE_TIMEOUT_S)[0])
            except OSError as exc:
                answered.append(type(exc).__name__)
            time.sleep(0.5)
        direct = served.get("/healthz").status  # gunicorn itself was never tied up
    finally:
        stop.set()
        for thread in attackers:
            thread.join(10)
    assert answered == [200] * PROBES and direct == 200
