#!/usr/bin/env python3
"""`meson install` into a scratch DESTDIR (issue 14.5): exactly cascade-node, its man page and the
systemd user unit, with the right modes; `--version`; the man page renders and covers every flag
of `node --help` and every console command; the unit passes `systemd-analyze verify` (skipped,
said so, where it cannot run) and its command line stops with exit 0 on SIGTERM."""
import json
import os
import re
import shutil
import signal
import subprocess

import harness as h

r = h.Runner("install")
BUILD = os.environ.get("CASCADE_BUILD_DIR") or os.path.join(h.HERE, "..", "..", "build")
MESON = shutil.which("meson")
_tree = {}  # the one install every case looks at


def run(args, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def introspect(what):
    out = run([MESON, "introspect", what, BUILD])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def installed():
    """(DESTDIR, {name: absolute path of the installed file}), installing once."""
    if not _tree:
        opts = {o["name"]: o["value"] for o in introspect("--buildoptions")}
        prefix = opts["prefix"].lstrip("/")
        unit_dir = (opts.get("systemd_user_unit_dir")
                    or os.path.join(opts["prefix"], "lib", "systemd", "user"))
        dest = os.path.join(h.new_scratch("destdir"), "root")
        out = run([MESON, "install", "-C", BUILD, "--no-rebuild", "--destdir", dest], timeout=120)
        assert out.returncode == 0, f"meson install failed:\n{out.stdout}\n{out.stderr}"
        _tree.update(dest=dest, files={
            "bin": os.path.join(dest, prefix, opts["bindir"], "cascade-node"),
            "man": os.path.join(dest, prefix, opts["mandir"], "man1", "cascade-node.1"),
            "unit": os.path.join(dest, unit_dir.lstrip("/"), "cascade-node@.service"),
        })
    return _tree["dest"], _tree["files"]


def render_man(path):
    """The man page as plain text; groff's warnings (-ww) fail the case."""
    out = run(["groff", "-man", "-Tutf8", "-ww", "-P-cbou", path])
    assert out.returncode == 0 and not out.stderr.strip(), f"groff: {out.stderr}"
    return out.stdout.replace("\u2212", "-").replace("\u2010", "-")


def section(text, title):
    """The lines of one man section (from its heading to the next one)."""
    m = re.search(rf"^{title}\n(.*?)(?=^[A-Z][A-Z ]+\n)", text, re.S | re.M)
    assert m, f"no {title} section"
    return m.group(1)


def tags(text):
    """Every tagged paragraph's tag in a section: the lines indented by 7 columns."""
    return [l.strip() for l in text.splitlines() if re.match(r"^ {7}\S", l)]


@r.case
def installs_exactly_the_binary_man_page_and_unit():
    dest, files = installed()
    found = sorted(os.path.relpath(os.path.join(d, f), dest)
                   for d, _, names in os.walk(dest) for f in names)
    want = sorted(os.path.relpath(p, dest) for p in files.values())
    assert found == want, f"installed {found}, want exactly {want} (no test helpers or tools)"
    for name, mode in (("bin", 0o755), ("man", 0o644), ("unit", 0o644)):
        got = os.stat(files[name]).st_mode & 0o7777
        assert got == mode, f"{files[name]}: mode {got:o}, want {mode:o}"
    bindir = os.path.dirname(files["bin"])
    assert not os.path.exists(os.path.join(bindir, "node")), "a `node` in bin shadows Node.js"


@r.case
def version_is_the_meson_project_version():
    _, files = installed()
    want = f"cascade {introspect('--projectinfo')['version']}\n"
    for binary in (files["bin"], h.NODE):
        out = run([binary, "--version"], timeout=10)
        assert out.returncode == 0, f"{binary} --version: exit {out.returncode}: {out.stderr}"
        assert out.stdout == want, f"{binary} --version printed {out.stdout!r}, want {want!r}"


@r.case
def man_page_renders_and_covers_every_flag_and_console_command():
    _, files = installed()
    text = render_man(files["man"])
    assert text.startswith("CASCADE-NODE(1)"), text[:200]
    version = introspect("--projectinfo")["version"]
    assert f"cascade {version}" in text, "the footer names no version"
    if shutil.which("man"):  # man-db's own path to the page as well
        out = run(["man", "-l", files["man"]], env=dict(os.environ, MANWIDTH="100"))
        assert out.returncode == 0 and "SYNOPSIS" in out.stdout, out.stderr
    usage = run([h.NODE, "--help"], timeout=10).stdout
    flags = sorted(set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", usage)))
    assert len(flags) > 10, flags
    options = tags(section(text, "OPTIONS"))
    missing = [f for f in flags
               if not any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", t) for t in options)
               and f not in ("--json", "--flag", "--ignored")]
    # console's --json: under COMMANDS; files --ignored: under CONSOLE COMMANDS
    assert not missing, f"flags of node --help without an OPTIONS entry: {missing}"
    helped = run([h.NODE, "console", "--dir", h.new_scratch("console"), "help"], timeout=10)
    assert helped.returncode == 0, helped.stderr
    commands = [re.split(r"\s{2,}", l.strip())[0] for l in helped.stdout.splitlines()[1:]]
    assert "status" in commands and "help" in commands, commands
    listed = tags(section(text, "CONSOLE COMMANDS"))
    missing = [c for c in commands if not any(re.match(rf"{re.escape(c)}(\s|$)", t) for t in listed)]
    assert not missing, f"console commands without a CONSOLE COMMANDS entry: {missing}"
    assert "--json" in section(text, "COMMANDS")


def unit_lines(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


@r.case
def unit_is_a_user_template_that_restarts_on_failure():
    _, files = installed()
    lines = unit_lines(files["unit"])
    for want in ("Restart=on-failure", "RestartPreventExitStatus=2", "KillSignal=SIGTERM",
                 "WantedBy=default.target"):
        assert want in lines, f"the unit lacks {want}"
    bin_on_target = "/" + os.path.relpath(files["bin"], _tree["dest"])
    exec_start = [l for l in lines if l.startswith("ExecStart=")]
    assert exec_start == [f"ExecStart={bin_on_target} --dir %f $CASCADE_NODE_ARGS"], exec_start
    assert not [l for l in lines if l.startswith(("User=", "Group="))], "a user unit sets no User="


def systemd_analyze_works(tmp, env):
    """True if systemd-analyze is here and can verify a known-good user unit in this container."""
    if not shutil.which("systemd-analyze"):
        return False
    probe = os.path.join(tmp, "probe.service")
    with open(probe, "w") as f:
        f.write("[Service]\nExecStart=/bin/true\n")
    out = run(["systemd-analyze", "--user", "--man=no", "verify", probe], env=env)
    return out.returncode == 0


@r.case
def unit_passes_systemd_analyze_verify():
    dest, files = installed()
    tmp = h.new_scratch("verify")
    runtime = os.path.join(tmp, "runtime")
    os.mkdir(runtime, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime,
               MANPATH=os.path.dirname(os.path.dirname(files["man"])))  # finds cascade-node(1)
    if not systemd_analyze_works(tmp, env):
        print("  SKIP systemd-analyze verify: systemd-analyze is missing or cannot run here")
        return
    # --root does not work with --user: verify a copy whose ExecStart names the DESTDIR binary
    # (verify checks that it is executable); everything else is the installed file.
    with open(files["unit"]) as f:
        text = f.read()
    bin_on_target = "/" + os.path.relpath(files["bin"], dest)
    units = os.path.join(tmp, "units")
    os.mkdir(units)
    with open(os.path.join(units, "cascade-node@.service"), "w") as f:
        f.write(text.replace(f"ExecStart={bin_on_target} ", f"ExecStart={files['bin']} "))
    instance = run(["systemd-escape", "--path", "--template=cascade-node@.service",
                    "/home/me/My Sync"]).stdout.strip()
    out = run(["systemd-analyze", "--user", "verify", os.path.join(units, instance)], env=env)
    assert out.returncode == 0 and not out.stderr.strip(), \
        f"systemd-analyze verify {instance}: exit {out.returncode}\n{out.stdout}{out.stderr}"
    print(f"  systemd-analyze --user verify {instance}: clean")


@r.case
def unit_command_line_stops_cleanly_on_sigterm():
    _, files = installed()
    exec_start = [l for l in unit_lines(files["unit"]) if l.startswith("ExecStart=")][0]
    folder = os.path.join(h.new_scratch("unit-run"), "My Sync")  # what %f gives for the instance
    extra = ["--no-discovery", "--port", "0", "--key", h.keygen()]  # $CASCADE_NODE_ARGS
    argv = []
    for word in exec_start[len("ExecStart="):].split():
        argv += [folder] if word == "%f" else extra if word == "$CASCADE_NODE_ARGS" else [word]
    argv[0] = files["bin"]
    log_path = folder + ".log"
    with open(log_path, "wb") as log:
        p = h.spawn(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def logged():
        with open(log_path) as f:
            return f.read()
    assert h.wait_until(lambda: "listening on" in logged() or p.poll() is not None, 10), logged()
    assert p.poll() is None, f"exited {p.returncode}:\n{logged()}"
    p.send_signal(signal.SIGTERM)
    rc = p.wait(5)
    assert rc == 0, f"exit {rc} after SIGTERM:\n{logged()}"
    assert "stopping on SIGTERM" in logged() and "stopped cleanly" in logged(), logged()


raise SystemExit(r.run())
