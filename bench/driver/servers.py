"""Start and stop the servers under test, each pinned to one CPU.

Every server this module starts is recorded in STARTED and stopped by
stop_all(), which the driver calls from a finally block and on SIGTERM:
only processes we started are ever signalled, by their own pid.
"""
import os
import re
import signal
import socket
import subprocess
import time

STARTED = []  # Server objects not yet stopped

NGIRCD_CONF = """\
[Global]
Name = bench.irc
Info = chat benchmark anchor
AdminInfo1 = chat benchmark
AdminInfo2 = loopback only
AdminEMail = bench@localhost
Listen = 127.0.0.1
Ports = {port}
PidFile = {dir}/ngircd.pid
MotdPhrase = bench
[Limits]
MaxConnections = {max_clients}
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 3600
PongTimeout = 3600
[Options]
DNS = no
Ident = no
PAM = no
"""

INSPIRCD_CONF = """\
<server name="bench.irc" description="chat benchmark anchor" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<connect name="bench" allow="127.0.0.0/8" timeout="60" pingfreq="3600"
         threshold="1000000" commandrate="1000000000" fakelag="no"
         softsendq="1M" hardsendq="16M" recvq="1M"
         localmax="100000" globalmax="100000" limit="{max_clients}"
         resolvehostnames="no" useident="no">
<performance softlimit="100000" somaxconn="4096" quietbursts="yes" clonesonconnect="no">
<channels users="100" opers="100">
<pid file="{dir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{dir}/inspircd.log">
<options hostintopic="no" syntaxhints="no">
<security hideserver="" userstats="Pu">
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu, argv):
    """argv run on one CPU when the machine has more than one."""
    return (["taskset", "-c", str(cpu)] + argv) if os.cpu_count() and os.cpu_count() > 1 else argv


# Logins the load generator keeps in flight, per server. ngircd listens with
# a backlog of 10 (hard-coded), so more than that overflows its accept queue
# and costs SYN retransmits of a second or more; InspIRCd completes
# registrations on a once-a-second timer, so it needs many in flight.
LOGIN_WINDOW = {"chat": 64, "chat-mem": 64, "chat-tls": 64, "chat-ws": 64, "relay": 64, "ngircd": 8, "inspircd": 256}

# The kinds that are `chat serve` (the chat adapter; workloads 5, 6, 7 and
# the handshake workload are for these only).
CHAT_KINDS = ("chat", "chat-mem", "chat-tls", "chat-ws")


class Server:
    """One running server: kind ('chat', 'chat-mem', 'chat-tls', 'ngircd', 'inspircd', 'relay'), pid, port, log.
    'chat' keeps its history in a database file in the work directory (the
    default: every message committed before its ok); 'chat-mem' is the same
    server with --db :memory:; 'chat-tls' is 'chat' (database file included)
    serving only TLS, with a self-signed certificate made for the run by
    `chat serve --generate-cert` in the work directory, and chat-bench
    speaking TLS to it (without verifying it: see chat-bench --help).
    'chat-ws' is 'chat' (database file included) also serving the web port
    (`--web-port 0`, read from `listening for web on HOST:PORT`), with every
    member a WebSocket on /ws; the mixed workload puts members of both
    kinds in one room on the same server."""

    def __init__(self, kind, proc, port, log, web_port=None):
        self.kind, self.proc, self.pid, self.port, self.log = kind, proc, proc.pid, port, log
        self.web_port = web_port

    def adapter(self):
        return {"chat": "chat", "chat-mem": "chat", "chat-tls": "chat", "chat-ws": "chat",
                "relay": "line"}.get(self.kind, "irc")

    def bench_args(self, ws_members=None):
        """chat-bench options that address this server. On chat-ws every
        member is a WebSocket, or only `ws_members` of them (the others TCP)."""
        args = ["--adapter", self.adapter(), "--server", self.kind, "--port", str(self.port),
                "--server-pid", str(self.pid), "--connect-concurrency", str(LOGIN_WINDOW[self.kind])]
        if self.kind == "chat-tls":
            args.append("--tls")
        if self.kind == "chat-ws":
            args += ["--web-port", str(self.web_port)]
            args += ["--ws-members", str(ws_members)] if ws_members is not None else ["--ws"]
        return args

    def stop(self):
        if self in STARTED:
            STARTED.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def stop_all():
    for server in list(STARTED):
        server.stop()


def chat_serve_flags(chat, max_clients, max_queue=0, db=None):
    """Flags that lift chat's own throttles, passed only if this build has them;
    `db` is the history database (a fresh file per server)."""
    help_text = subprocess.run([chat, "serve", "--help"], capture_output=True, text=True, timeout=10).stdout
    wanted = [("--max-clients", str(max_clients)), ("--max-per-ip", "100000"),
              ("--rate", "1000000"), ("--burst", "1000000"), ("--log-level", "warn")]
    if db:
        wanted.append(("--db", db))
    if max_queue:
        wanted.append(("--max-queue", str(max_queue)))
    return [x for flag, value in wanted if flag in help_text for x in (flag, value)]


def _wait_listening(proc, port, log, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout}s; see {log}")


LISTENING = r"listening on [0-9.]+:(\d+)"
LISTENING_TLS = r"listening for TLS on [0-9.]+:(\d+)"
LISTENING_WEB = r"listening for web on [0-9.]+:(\d+)"


def _port_from_stdout(proc, path, timeout=15, pattern=LISTENING):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            m = re.search(pattern, f.read())
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {path}")
        time.sleep(0.02)
    raise RuntimeError(f"no line matching {pattern!r} within {timeout}s in {path}")


def generate_certificate(chat, directory):
    """`chat serve --generate-cert DIR` for 127.0.0.1 and localhost: returns
    (cert.pem, key.pem) in `directory`."""
    os.makedirs(directory, exist_ok=True)
    out = subprocess.run([chat, "serve", "--generate-cert", directory, "--cert-host", "127.0.0.1",
                          "--cert-host", "localhost"], capture_output=True, text=True, timeout=30)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    if out.returncode != 0 or not (os.path.exists(cert) and os.path.exists(key)):
        raise RuntimeError(f"chat serve --generate-cert failed ({out.returncode}): {(out.stderr or out.stdout).strip()}")
    return cert, key


def chat_tls_flags(chat, cert, key):
    """Serve TLS on a free port; only TLS when this build has --tls-only."""
    help_text = subprocess.run([chat, "serve", "--help"], capture_output=True, text=True, timeout=10).stdout
    if "--tls-cert" not in help_text:
        raise RuntimeError(f"{chat} has no TLS (chat serve --tls-cert)")
    return ["--tls-cert", cert, "--tls-key", key, "--tls-port", "0"] + (["--tls-only"] if "--tls-only" in help_text else [])


def chat_web_flags(chat):
    """Serve the web client and WebSockets on a free port."""
    help_text = subprocess.run([chat, "serve", "--help"], capture_output=True, text=True, timeout=10).stdout
    if "--web-port" not in help_text:
        raise RuntimeError(f"{chat} has no web port (chat serve --web-port)")
    return ["--web-port", "0"]


def start(kind, work, bins, max_clients=100000, max_queue=0):
    """Starts `kind` pinned to CPU 0 with its throttles off; returns a Server.
    `max_queue` (chat only, 0 for its default) is the slow-consumer limit."""
    n = len(list(os.scandir(work)))
    log = os.path.join(work, f"{n:03d}-{kind}.log")
    out = open(log, "w")
    port = None
    if kind in CHAT_KINDS:
        db = ":memory:" if kind == "chat-mem" else os.path.join(work, f"{n:03d}-chat.db")
        argv = [bins["chat"], "serve", "--host", "127.0.0.1", "--port", "0"] + chat_serve_flags(
            bins["chat"], max_clients, max_queue, db)
        if kind == "chat-tls":
            argv += chat_tls_flags(bins["chat"], *generate_certificate(bins["chat"], os.path.join(work, f"{n:03d}-tls")))
        if kind == "chat-ws":
            argv += chat_web_flags(bins["chat"])
    elif kind == "relay":
        argv = [bins["relay"], "--host", "127.0.0.1", "--port", "0"]
    elif kind in ("ngircd", "inspircd"):
        port = free_port()
        conf = os.path.join(work, f"{n:03d}-{kind}.conf")
        template = NGIRCD_CONF if kind == "ngircd" else INSPIRCD_CONF
        with open(conf, "w") as f:
            f.write(template.format(port=port, dir=work, max_clients=max_clients))
        if kind == "ngircd":
            argv = ["ngircd", "-n", "-f", conf]
        else:
            argv = ["inspircd", "--nofork", "--config", conf] + (["--runasroot"] if os.getuid() == 0 else [])
    else:
        raise ValueError(kind)
    proc = subprocess.Popen(pinned(0, argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server(kind, proc, port, log)
    STARTED.append(server)
    try:
        if port is None:
            server.port = _port_from_stdout(proc, log, pattern=LISTENING_TLS if kind == "chat-tls" else LISTENING)
        _wait_listening(proc, server.port, log)
        if kind == "chat-ws":
            server.web_port = _port_from_stdout(proc, log, pattern=LISTENING_WEB)
            _wait_listening(proc, server.web_port, log)
    except Exception:
        server.stop()
        raise
    return server


def check_ngircd_config(work):
    """Runs `ngircd --configtest` on the config we generate; returns its complaints."""
    conf = os.path.join(work, "configtest-ngircd.conf")
    with open(conf, "w") as f:
        f.write(NGIRCD_CONF.format(port=free_port(), dir=work, max_clients=0))
    out = subprocess.run(["ngircd", "--configtest", "-f", conf], capture_output=True, text=True, timeout=10)
    notes = [line.strip(" -") for line in out.stdout.splitlines() if line.startswith(" - ")]
    if out.returncode != 0:
        raise RuntimeError("ngircd --configtest failed:\n" + out.stdout + out.stderr)
    return notes


def versions(bins):
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except Exception:
            return "?"
    pkg = lambda p: subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True).stdout
    chat = first_line([bins["chat"], "--version"])
    return {"chat": chat, "chat-mem": chat + " --db :memory:", "chat-tls": chat + " over TLS",
            "chat-ws": chat + " over WebSocket", "ngircd": "ngircd " + pkg("ngircd"),
            "inspircd": "InspIRCd " + pkg("inspircd"), "relay": "bench-relay"}
