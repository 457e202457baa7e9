"""Syncthing side by side with cascade: two (or more) `syncthing serve` on one loopback.

Used by benchmarks that already run inside their own network namespace (see netns.py). Every
instance gets its own home, its own listen port and a GUI on 127.0.0.1 with an API key, so a
benchmark can trigger a scan at once (`scan()`), as the issue's "scan triggered at once" asks:
that measures the transfer, not Syncthing's watcher delay. Processes are ended by their PID.
"""
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET

ST_VERSION_HINT = "Debian 12 ships Syncthing 1.19"


def ensure_syncthing():
    """Installs Debian's syncthing if missing, with a policy-rc.d in place: nothing starts."""
    if shutil.which("syncthing"):
        return
    prc = "/usr/sbin/policy-rc.d"
    ours = not os.path.exists(prc)
    if ours:
        with open(prc, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(prc, 0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "syncthing"],
                       check=True, env=env, stdout=subprocess.DEVNULL, timeout=900)
    finally:
        if ours:
            os.unlink(prc)


def _generate(home):
    env = dict(os.environ, STNODEFAULTFOLDER="1")
    r = subprocess.run(["syncthing", "generate", "--home", home], capture_output=True, text=True,
                       env=env, timeout=120)
    m = re.search(r"Device ID: (\S+)", r.stdout + r.stderr)
    if not m:
        raise RuntimeError(f"syncthing generate: {r.stdout}{r.stderr}")
    return m.group(1)


class Instance:
    def __init__(self, home, folder, port, gui_port):
        self.home, self.folder, self.port, self.gui_port = home, folder, port, gui_port
        self.apikey = secrets.token_hex(16)
        self.id = None
        self.proc = None
        self.log_path = os.path.join(home, "syncthing.log")

    def configure(self, peers, watcher_delay_s=1):
        cfg = os.path.join(self.home, "config.xml")
        tree = ET.parse(cfg)
        root = tree.getroot()
        opts = root.find("options")
        settings = {"listenAddress": f"tcp://127.0.0.1:{self.port}",
                    "globalAnnounceEnabled": "false", "localAnnounceEnabled": "false",
                    "relaysEnabled": "false", "natEnabled": "false", "urAccepted": "-1",
                    "autoUpgradeIntervalH": "0", "startBrowser": "false",
                    "crashReportingEnabled": "false", "announceLANAddresses": "false",
                    "setLowPriority": "false", "reconnectionIntervalS": "5"}
        for k, v in settings.items():
            for e in opts.findall(k):
                opts.remove(e)
            ET.SubElement(opts, k).text = v
        for e in root.findall("gui"):
            root.remove(e)
        gui = ET.SubElement(root, "gui", enabled="true", tls="false")
        ET.SubElement(gui, "address").text = f"127.0.0.1:{self.gui_port}"
        ET.SubElement(gui, "apikey").text = self.apikey
        for e in root.findall("folder") + root.findall("device"):
            root.remove(e)
        for p in [self] + peers:
            d = ET.SubElement(root, "device", id=p.id, name=f"st{p.port}",
                              compression="metadata", introducer="false")
            ET.SubElement(d, "address").text = \
                "dynamic" if p is self else f"tcp://127.0.0.1:{p.port}"
            ET.SubElement(d, "autoAcceptFolders").text = "false"
        f = ET.Element("folder", id="bench", label="bench", path=self.folder, type="sendreceive",
                       rescanIntervalS="3600", fsWatcherEnabled="true",
                       fsWatcherDelayS=str(watcher_delay_s), ignorePerms="false",
                       autoNormalize="true")
        for p in [self] + peers:
            ET.SubElement(f, "device", id=p.id)
        ET.SubElement(f, "minDiskFree", unit="%").text = "0"
        root.insert(0, f)
        tree.write(cfg)

    def rest(self, method, path, timeout=10):
        req = urllib.request.Request(f"http://127.0.0.1:{self.gui_port}{path}", method=method,
                                     headers={"X-API-Key": self.apikey})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()

    def scan(self):
        """Triggers a scan of the folder now (POST /rest/db/scan)."""
        self.rest("POST", "/rest/db/scan?folder=bench", timeout=600)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Group:
    """n Syncthing instances on 127.0.0.1, all sharing folder `bench`, fully meshed.

    with Group(base, n) as g: g.folders[i] is instance i's folder; g.start(); g.stop()."""

    def __init__(self, base, n, port=22100, folders=None):
        self.base = base
        self.instances = []
        for i in range(n):
            home = os.path.join(base, f"st{i}")
            folder = folders[i] if folders else os.path.join(base, f"stdir{i}")
            os.makedirs(home, exist_ok=True)
            os.makedirs(os.path.join(folder, ".stfolder"), exist_ok=True)
            self.instances.append(Instance(home, folder, port + i, port + 100 + i))

    @property
    def folders(self):
        return [s.folder for s in self.instances]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=120, watcher_delay_s=1):
        for s in self.instances:
            s.id = _generate(s.home)
        for s in self.instances:
            s.configure([p for p in self.instances if p is not s], watcher_delay_s)
        env = dict(os.environ, STNODEFAULTFOLDER="1", STNOUPGRADE="1", STNORESTART="1")
        for s in self.instances:
            log = open(s.log_path, "w")
            s.proc = subprocess.Popen(["syncthing", "serve", "--no-browser", "--no-restart",
                                       "--no-upgrade", "--home", s.home],
                                      stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env)
            log.close()
        deadline = time.monotonic() + timeout
        while not self.connected():
            if time.monotonic() > deadline:
                raise TimeoutError("syncthing instances did not connect")
            for s in self.instances:
                if s.proc.poll() is not None:
                    raise RuntimeError(f"syncthing exited: {s.log()[-2000:]}")
            time.sleep(0.2)
        time.sleep(2)  # cluster config and index exchange

    def connected(self):
        for s in self.instances:
            text = s.log()
            got = set(re.findall(r"Established secure connection to (\S{7})", text))
            if not all(p.id[:7] in got for p in self.instances if p is not s):
                return False
            if "Ready to synchronize" not in text and "Completed initial scan" not in text:
                return False
        return True

    def pids(self):
        return [s.proc.pid for s in self.instances if s.proc and s.proc.poll() is None]

    def stop(self):
        for s in self.instances:
            if s.proc and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGTERM)
        end = time.monotonic() + 10
        for s in self.instances:
            if not s.proc:
                continue
            try:
                s.proc.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait()
            s.proc = None
