"""Shared pieces of the Python benchmark harnesses (tests/bench/discovery_compare,
tests/bench/failure_compare): Serf's msgpack RPC (python3-msgpack, or a small built-in decoder),
clients of clusterd's control socket (JSON lines, docs/cli.md) and of Serf's RPC, spawning and
killing daemons, sockets inside named network namespaces, entering a private network + PID
(+ mount) namespace, and the number formatting of the reports.

Import it from a script in this folder:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import benchlib
    benchlib.PROG = "my_script"   # the prefix of say()
"""

import ctypes
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

PROG = "bench"

try:
    import msgpack  # python3-msgpack

    def packb(obj):
        return msgpack.packb(obj, use_bin_type=False)

    def unpacker():
        return msgpack.Unpacker(raw=True)

    MSGPACK = "python3-msgpack " + ".".join(str(x) for x in msgpack.version)
except ImportError:  # a small decoder of our own: enough for Serf's RPC answers
    msgpack = None
    MSGPACK = "built-in decoder (python3-msgpack is not installed)"

    def packb(obj):
        # only what we send: maps of str keys to str / small int values
        out = bytearray([0x80 | len(obj)])
        for k, v in obj.items():
            for x in (k, v):
                if isinstance(x, str):
                    b = x.encode()
                    assert len(b) < 256
                    out += (bytes([0xA0 | len(b)]) if len(b) < 32 else bytes([0xD9, len(b)])) + b
                elif 0 <= x < 0x80:
                    out.append(x)
                elif 0 <= x < 1 << 16:
                    out += struct.pack(">BH", 0xCD, x)
                else:
                    out += struct.pack(">BI", 0xCE, x & 0xFFFFFFFF)
        return bytes(out)

    class _NeedMore(Exception):
        pass

    def _take(b, p, n):
        if p + n > len(b):
            raise _NeedMore()
        return bytes(b[p:p + n]), p + n

    def _num(b, p, fmt):
        n = struct.calcsize(fmt)
        raw, p = _take(b, p, n)
        return struct.unpack(fmt, raw)[0], p

    def _decode(b, p):
        if p >= len(b):
            raise _NeedMore()
        t = b[p]
        p += 1
        if t <= 0x7F:
            return t, p
        if t >= 0xE0:
            return t - 0x100, p
        if t <= 0x8F:
            return _map(b, p, t & 0x0F)
        if t <= 0x9F:
            return _arr(b, p, t & 0x0F)
        if t <= 0xBF:
            return _take(b, p, t & 0x1F)
        if t == 0xC0:
            return None, p
        if t == 0xC2:
            return False, p
        if t == 0xC3:
            return True, p
        if t in (0xC4, 0xD9):
            n, p = _num(b, p, ">B")
            return _take(b, p, n)
        if t in (0xC5, 0xDA):
            n, p = _num(b, p, ">H")
            return _take(b, p, n)
        if t in (0xC6, 0xDB):
            n, p = _num(b, p, ">I")
            return _take(b, p, n)
        fixed = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
        if t in fixed:
            return _num(b, p, fixed[t])
        if t == 0xDC:
            n, p = _num(b, p, ">H")
            return _arr(b, p, n)
        if t == 0xDD:
            n, p = _num(b, p, ">I")
            return _arr(b, p, n)
        if t == 0xDE:
            n, p = _num(b, p, ">H")
            return _map(b, p, n)
        if t == 0xDF:
            n, p = _num(b, p, ">I")
            return _map(b, p, n)
        raise ValueError("msgpack type 0x%02x not supported" % t)

    def _arr(b, p, n):
        out = []
        for _ in range(n):
            v, p = _decode(b, p)
            out.append(v)
        return out, p

    def _map(b, p, n):
        out = {}
        for _ in range(n):
            k, p = _decode(b, p)
            v, p = _decode(b, p)
            out[k] = v
        return out, p

    class _MiniUnpacker:
        def __init__(self):
            self.buf = bytearray()

        def feed(self, data):
            self.buf += data

        def __iter__(self):
            return self

        def __next__(self):
            try:
                obj, p = _decode(self.buf, 0)
            except _NeedMore:
                raise StopIteration
            del self.buf[:p]
            return obj

    def unpacker():
        return _MiniUnpacker()


def say(msg):
    print(PROG + ": " + msg, file=sys.stderr, flush=True)


class SetupError(Exception):
    """Something we cannot measure with: a missing binary or plugin, a daemon that died."""


class DaemonDied(SetupError):
    pass


class BudgetCut(Exception):
    """A wait cut short by the time budget of the whole script: not a result."""



# ---------------------------------------------------------------- clients of the daemons' interfaces

class Client:
    """One persistent connection to a daemon's interface; at most one request outstanding.

    Two requests: a cheap one answering how many members the daemon knows (clusterd: status,
    Serf: stats), and the member list itself (clusterd: members, Serf: members). A daemon is
    polled with the cheap one until its count is complete, then asked for its list at once: only
    the list decides. read() returns (full, count) per answer; full is True for a list.
    With FULL_LISTS set every poll asks for the list."""

    FULL_LISTS = False

    def __init__(self):
        self.sock = None
        self.outstanding = False
        self.confirm = False  # the next request asks for the list

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.outstanding = False
        self.confirm = False

    def wants_list(self):
        return self.confirm or self.FULL_LISTS


class OursClient(Client):
    """clusterd's control socket (JSON lines): {"cmd":"status"} -> {"ok":true,...,"members":N,...};
    {"cmd":"members"} -> {"ok":true,"members":[{"uuid":...},...]} (the others, not itself)."""

    STATUS = b'{"cmd":"status"}\n'
    MEMBERS = b'{"cmd":"members"}\n'
    COUNT = re.compile(rb'"members":(\d+)')

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.buf = b""
        self.asked = []

    def try_connect(self):
        if not os.path.exists(self.path):
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            s.connect(self.path)
        except OSError:
            s.close()
            return False
        s.setblocking(False)
        self.sock, self.buf, self.asked = s, b"", []
        return True

    def request(self):
        full = self.wants_list()
        self.sock.send(self.MEMBERS if full else self.STATUS)
        self.asked.append(full)
        self.outstanding = True

    def read(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("control socket closed")
        self.buf += data
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if not line.startswith(b'{"ok":true') or not self.asked:
                raise SetupError("clusterd answered %r" % line[:200])
            full = self.asked.pop(0)
            if full:
                # one "uuid" key per member object (a tag cannot fake it: its quotes are escaped)
                out.append((True, line.count(b'"uuid":')))
            else:
                m = self.COUNT.search(line)
                if not m:
                    raise SetupError("clusterd's status has no member count: %r" % line[:200])
                out.append((False, int(m.group(1))))
            self.outstanding = False
        return out


class SerfClient(Client):
    """Serf's msgpack RPC: handshake, then stats (serf.members - failed - left) or members
    (those whose Status is alive, itself included)."""

    def __init__(self, port):
        super().__init__()
        self.port = port
        self.unpacker = None
        self.body = None  # None: a header comes next; else whether the body due is a list
        self.asked = {}
        self.seq = 0

    def try_connect(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=0.2)
        except OSError:
            return False
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.unpacker, self.body, self.asked, self.seq = s, unpacker(), None, {}, 0
        self.sock.send(packb({"Command": "handshake", "Seq": 0}) + packb({"Version": 1}))
        return True

    def request(self):
        self.seq += 1
        full = self.wants_list()
        self.asked[self.seq] = full
        self.sock.send(packb({"Command": "members" if full else "stats", "Seq": self.seq}))
        self.outstanding = True

    def read(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("RPC connection closed")
        self.unpacker.feed(data)
        out = []
        for obj in self.unpacker:
            if self.body is not None:
                full, self.body = self.body, None
                self.outstanding = False
                if full:
                    out.append((True, sum(1 for m in obj.get(b"Members", []) if m.get(b"Status") == b"alive")))
                else:
                    st = obj.get(b"serf", {})
                    out.append((False, int(st.get(b"members", 0)) - int(st.get(b"failed", 0)) - int(st.get(b"left", 0))))
                continue
            err = obj.get(b"Error", b"")
            if err:
                raise SetupError("serf RPC error: %r" % err)
            seq = obj.get(b"Seq", 0)
            if seq != 0:  # the handshake's answer has no body
                self.body = self.asked.pop(seq)
        return out


class Daemon:
    def __init__(self, name, argv, log, client):
        self.name, self.argv, self.log, self.client = name, argv, log, client
        self.proc = None
        self.logf = None


LIVE = []  # every daemon process started and not yet reaped


# ---------------------------------------------------------------- spawning, killing

def spawn(daemons):
    """Starts the daemons one after the other as fast as possible; returns (t0, spawn seconds)."""
    for d in daemons:
        d.logf = open(d.log, "ab")
    t0 = time.monotonic()
    try:
        for d in daemons:
            d.proc = subprocess.Popen(d.argv, stdin=subprocess.DEVNULL, stdout=d.logf, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # a Ctrl-C reaches us, not them
            LIVE.append(d)
    finally:
        spawned = time.monotonic() - t0
        for d in daemons:
            d.logf.close()
    return t0, spawned


def log_tail(path, lines=6):
    try:
        with open(path, "rb") as f:
            text = f.read()[-4000:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.strip().split("\n")[-lines:] if line.strip())


def check_alive(daemons):
    for d in daemons:
        if d.proc is not None and d.proc.poll() is not None:
            raise DaemonDied("%s exited with status %s: %s" % (d.name, d.proc.returncode, log_tail(d.log)))


def kill_all(daemons=None):
    victims = list(LIVE) if daemons is None else daemons
    for d in victims:
        d.client.close()
        if d.proc is not None and d.proc.poll() is None:
            try:
                d.proc.kill()
            except OSError:
                pass
    for d in victims:
        if d.proc is not None:
            try:
                d.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if d in LIVE:
            LIVE.remove(d)



# ---------------------------------------------------------------- numbers

def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    pos = (len(v) - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(v) - 1)
    if pos == lo or v[lo] == v[hi]:
        return v[lo]
    if math.isinf(v[hi]):
        return float("inf")
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def fmt_num(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    if abs(v) >= 1000:
        return "%.0f" % v
    return "%.4g" % v


def ms(s):
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "—"
    if math.isinf(s):
        return "not converged"
    v = s * 1000.0
    return "%.0f ms" % v if v >= 100 else "%.1f ms" % v



# ---------------------------------------------------------------- namespaces

def run_outside(argv, env_flag):
    """Runs argv (unshare ... this script) and passes SIGINT/SIGTERM/SIGHUP on to the script inside
    (unshare itself ignores them); if it has not stopped 15 s later, kills unshare, whose
    --kill-child then takes the whole PID namespace down. unshare dies with us (PR_SET_PDEATHSIG)."""
    env = dict(os.environ)
    env[env_flag] = "1"
    sys.stdout.flush()

    def die_with_parent():
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    proc = subprocess.Popen(argv, env=env, preexec_fn=die_with_parent)
    hard_kill = [None]

    def inner_pids():
        pids = []
        try:
            with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
                pids = [int(x) for x in f.read().split()]
        except OSError:
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open("/proc/%s/stat" % entry) as f:
                            if int(f.read().rsplit(")", 1)[1].split()[1]) == proc.pid:
                                pids.append(int(entry))
                    except (OSError, ValueError, IndexError):
                        pass
        return pids

    def forward(signum, _frame):
        for pid in inner_pids():
            try:
                os.kill(pid, signum)
            except OSError:
                pass
        if hard_kill[0] is None:
            hard_kill[0] = time.monotonic() + 15

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            rc = proc.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if hard_kill[0] is not None and time.monotonic() > hard_kill[0]:
                say("the run inside the namespace did not stop: killing it")
                proc.kill()
    return 128 - rc if rc < 0 else rc


def enter_private_namespace(env_flag, script, argv, netns_folder=False, lo_multicast=True):
    """Runs `script argv` again inside a private network + PID namespace (unshare; the script is
    PID 1 there, so every daemon dies with it whatever happens) and returns its exit status for
    the caller to exit with; inside (env_flag set) sets up lo and returns None: go on.

    lo_multicast: lo gets multicast on and the route 224.0.0.0/4 dev lo src 127.0.0.1.
    netns_folder: also a private mount namespace with a tmpfs on /run/netns, so `ip netns add`
    (tests/reliability/netsim) names live there only, never beside other runs' namespaces, and
    a /proc of the PID namespace (so /proc/PID of a child we started is that child).
    Returns 77 when no namespace can be made, 1 when lo cannot be set up, or when the namespace
    has other interfaces than lo (refuses to run)."""
    if os.environ.get(env_flag) != "1":
        if not shutil.which("unshare") or not shutil.which("ip"):
            say("'unshare' (util-linux) or 'ip' (iproute2) is missing: skipping")
            return 77
        flags = ["--net", "--pid"] + (["--mount", "--mount-proc"] if netns_folder else [])
        userns = [] if os.geteuid() == 0 else ["--map-root-user"]
        if subprocess.run(["unshare"] + flags + ["--fork"] + userns + ["true"],
                          stderr=subprocess.DEVNULL).returncode != 0:
            say("cannot create a network and PID namespace (needs root or user namespaces): skipping")
            return 77
        return run_outside(["unshare"] + flags + ["--kill-child"] + userns +
                           [sys.executable, os.path.abspath(script)] + list(argv), env_flag)
    cmds = [["ip", "link", "set", "lo", "up"]]
    if lo_multicast:
        cmds += [["ip", "link", "set", "lo", "multicast", "on"],
                 ["ip", "route", "add", "224.0.0.0/4", "dev", "lo", "src", "127.0.0.1"]]
    for cmd in cmds:
        if subprocess.run(cmd).returncode != 0:
            say("cannot set up lo in the namespace (%s)" % " ".join(cmd))
            return 1
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout.strip().split("\n")
    if len(links) != 1 or ": lo:" not in links[0]:
        say("refusing to run: the namespace has other interfaces than lo: %s" % links)
        return 1
    if netns_folder:
        os.makedirs("/run/netns", exist_ok=True)
        # unshare --mount made every mount private: this tmpfs is ours alone
        for cmd in (["mount", "--make-rprivate", "/"], ["mount", "-t", "tmpfs", "-o", "size=1m", "netsim", "/run/netns"]):
            if subprocess.run(cmd).returncode != 0:
                say("cannot give the namespace a /run/netns of its own (%s)" % " ".join(cmd))
                return 1
    return None


def machine():
    """'MODEL, N CPUs, Linux RELEASE' for the reports."""
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d CPUs, %s %s" % (model, os.cpu_count() or 0, os.uname().sysname, os.uname().release)


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------- sockets inside named network namespaces

_CLONE_NEWNET = 0x40000000
_libc = None
_home_netns = None


def socket_in_netns(ns, family=socket.AF_INET, kind=socket.SOCK_STREAM):
    """A socket created inside the named network namespace /run/netns/NS (`ip netns add`), usable
    from here: a socket stays in the namespace it was made in. setns() switches the calling
    thread only, and back at once (needs CAP_SYS_ADMIN: root in our namespace)."""
    global _libc, _home_netns
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _home_netns = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    fd = os.open(os.path.join("/run/netns", ns), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (ns, os.strerror(e)))
        try:
            return socket.socket(family, kind)
        finally:
            if _libc.setns(_home_netns, _CLONE_NEWNET) != 0:  # cannot go on in the wrong namespace
                os.write(2, b"benchlib: cannot return to our network namespace\n")
                os._exit(70)
    finally:
        os.close(fd)


def connect_tcp(host, port, timeout, netns=None):
    """A blocking TCP connection to host:port (inside the named namespace netns, if given)."""
    s = socket_in_netns(netns) if netns else socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    except OSError:
        s.close()
        raise


# ---------------------------------------------------------------- request/response and event streams

class ControlConnection:
    """clusterd's control socket (docs/cli.md, "The control protocol"): one request line, one
    answer line, blocking with a timeout. request({"cmd":"status"}) -> the answer as a dict
    (raises SetupError on {"ok":false}, OSError/EOFError on a broken connection)."""

    def __init__(self, path, timeout=5.0):
        self.path, self.timeout = path, timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""

    def request(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("control socket closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        answer = json.loads(line)
        if not answer.get("ok"):
            raise SetupError("clusterd answered %s to %s" % (line[:200], obj))
        return answer

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class WatchStream:
    """clusterd's {"cmd":"watch"} on a connection of its own: non-blocking, read() returns the
    event objects that arrived ({"event":"lost","uuid":...,"reason":...}, "discovered", ...)."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
            self.sock.sendall(b'{"cmd":"watch"}\n')
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.buf = b""
        self.acked = False

    def fileno(self):
        return self.sock.fileno()

    def read(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("control socket closed")
        self.buf += data
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if not line.strip():
                continue
            obj = json.loads(line)
            if not self.acked:
                if not obj.get("ok") or not obj.get("watching"):
                    raise SetupError("clusterd refused watch: %r" % line[:200])
                self.acked = True
                continue
            out.append(obj)
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _serf_handshake(sock):
    sock.sendall(packb({"Command": "handshake", "Seq": 0}) + packb({"Version": 1}))


class SerfRpc:
    """Serf's msgpack RPC (`serf agent -rpc-addr`), blocking with a timeout: call("members") ->
    the body ({b"Members": [...]}); raises SetupError on an RPC error, OSError/EOFError on a
    broken connection. Keys and strings of answers are bytes (raw)."""

    NO_BODY = ("handshake", "join", "leave", "force-leave", "event", "tags", "stop")

    def __init__(self, host, port, timeout=5.0, netns=None):
        self.timeout = timeout
        self.sock = connect_tcp(host, port, timeout, netns)
        self.unpacker = unpacker()
        self.seq = 0
        _serf_handshake(self.sock)
        self._answer(0, False)

    def _next(self, deadline):
        while True:
            for obj in self.unpacker:
                return obj
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("RPC connection closed")
            self.unpacker.feed(data)

    def _answer(self, seq, body):
        deadline = time.monotonic() + self.timeout
        while True:
            header = self._next(deadline)
            if header.get(b"Seq") != seq:
                continue  # an answer to something we gave up on
            if header.get(b"Error"):
                raise SetupError("serf RPC error: %r" % header[b"Error"])
            return self._next(deadline) if body else None

    def call(self, command, body=None):
        self.seq += 1
        msg = packb({"Command": command, "Seq": self.seq})
        if body is not None:
            msg += packb(body)
        self.sock.sendall(msg)
        return self._answer(self.seq, command not in self.NO_BODY)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class SerfStream:
    """Serf's RPC "stream" of membership events on a connection of its own: non-blocking,
    read() returns (event, [member names]) pairs, e.g. (b"member-failed", [b"n3"])."""

    def __init__(self, host, port, types="member-join,member-failed,member-leave", timeout=5.0, netns=None):
        self.sock = connect_tcp(host, port, timeout, netns)
        self.unpacker = unpacker()
        _serf_handshake(self.sock)
        self.sock.sendall(packb({"Command": "stream", "Seq": 1}) + packb({"Type": types}))
        self.sock.setblocking(False)
        self.state = "handshake"  # then "ack", then "header" / "body"

    def fileno(self):
        return self.sock.fileno()

    def read(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("RPC connection closed")
        self.unpacker.feed(data)
        out = []
        for obj in self.unpacker:
            if self.state == "body":
                self.state = "header"
                out.append((obj.get(b"Event", b""), [m.get(b"Name", b"") for m in obj.get(b"Members", [])]))
                continue
            if obj.get(b"Error"):
                raise SetupError("serf RPC error: %r" % obj[b"Error"])
            if self.state == "handshake":
                self.state = "ack"
            elif self.state == "ack":
                self.state = "header"  # the stream's own answer: no body
            else:
                self.state = "body"
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
