# sandbox-mcp run agent: lives in the sandbox for one server connection and runs commands for it, so that a
# run costs a process spawn instead of a Docker exec (which the engine takes ~45 ms to set up).
# Protocol: one JSON object per line. In (stdin): {"op":"run","id","argv","env","cwd","uid","gid","stdin"(b64)?}
# and {"op":"kill","id"}. Out (stdout): {"id","ev":"started"}, {"id","ev":"out","s":1|2,"d":b64},
# {"id","ev":"exit","code"}, and {"id","ev":"killed"} once a kill has swept every process. End of stdin (the server went away) kills every run it started.
import base64, json, os, selectors, signal, subprocess, sys, threading, time

out_lock = threading.Lock()
runs = {}
runs_lock = threading.Lock()
# Kills that arrived before their run was registered (a cancel right after the start).
early_kills = set()
# The same sweep as src/providers/run-protocol.ts (KILL_SWEEP).
KILLER = ('i=0; while [ "$i" -lt 50 ]; do pids=$(grep -lsxzF "SANDBOX_RUN_ID=$1" /proc/[0-9]*/environ 2>/dev/null'
          ' | cut -d/ -f3); [ -z "$pids" ] && exit 0; kill -9 $pids 2>/dev/null; i=$((i+1)); done')


def emit(obj):
    line = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    with out_lock:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


def demote(uid, gid):
    def apply():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return apply


def as_user(uid, gid):
    """Popen arguments that drop to uid/gid: done in C where Python has it (3.9+), which is safe with threads."""
    if os.getuid() != 0 or (uid, gid) == (0, 0):
        return {}
    if sys.version_info >= (3, 9):
        return {"user": uid, "group": gid, "extra_groups": []}
    return {"preexec_fn": demote(uid, gid)}


def kill_group(run_id):
    """Kills the run's process group at once: a plain system call, which works even when a fork bomb has taken
    every pid (then no thread or process could be started to do it)."""
    with runs_lock:
        run = runs.get(run_id)
        if run is None:
            if len(early_kills) > 1000:
                early_kills.clear()  # kills of runs long finished
            early_kills.add(run_id)
    if run is not None:
        try:
            os.killpg(run[0].pid, signal.SIGKILL)
        except OSError:
            pass
    return run


def sweep(run_id, run, notify=True):
    # Processes that left the run's session still carry its id in their environment; reading another user's
    # environ needs CAP_SYS_PTRACE, so the sweep runs as the run's own user. It forks, so it may have to wait for
    # the group kill to free pids.
    if run is not None:
        _, uid, gid = run
        for attempt in range(20):
            try:
                subprocess.run(["sh", "-c", KILLER, "sandbox-kill", run_id], **as_user(uid, gid),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
                break
            except Exception:
                time.sleep(0.1)
                kill_group(run_id)
    if notify:
        emit({"id": run_id, "ev": "killed"})


def kill_run(run_id, notify=True):
    sweep(run_id, kill_group(run_id), notify)


def start_thread(target, *args):
    """A thread, or False when the sandbox has no pid left for one."""
    try:
        threading.Thread(target=target, args=args, daemon=True).start()
        return True
    except RuntimeError:
        return False


def feed_stdin(proc, data):
    try:
        if data:
            proc.stdin.write(data)
        proc.stdin.close()
    except OSError:
        pass


def supervise(req):
    run_id = req["id"]
    uid, gid = int(req.get("uid", 1000)), int(req.get("gid", 1000))
    env = dict(os.environ)
    env.update(req.get("env") or {})
    env["SANDBOX_RUN_ID"] = run_id
    cwd = req.get("cwd") or "/"
    if not os.path.isdir(cwd):
        emit({"id": run_id, "ev": "out", "s": 2, "d": base64.b64encode(
            ("working directory %s does not exist or is not a directory\n" % cwd).encode()).decode()})
        emit({"id": run_id, "ev": "exit", "code": 2})
        return
    stdin_data = base64.b64decode(req["stdin"]) if req.get("stdin") is not None else None
    try:
        proc = subprocess.Popen(req["argv"], cwd=cwd, env=env, start_new_session=True,
                                stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **as_user(uid, gid))
    except OSError as e:
        emit({"id": run_id, "ev": "out", "s": 2, "d": base64.b64encode(("%s: %s\n" % (req["argv"][0], e.strerror)).encode()).decode()})
        emit({"id": run_id, "ev": "exit", "code": 127 if isinstance(e, FileNotFoundError) else 126})
        return
    with runs_lock:
        runs[run_id] = (proc, uid, gid)
        killed_early = run_id in early_kills
        early_kills.discard(run_id)
    emit({"id": run_id, "ev": "started"})
    if killed_early:
        kill_group(run_id)
    if stdin_data is not None:
        threading.Thread(target=feed_stdin, args=(proc, stdin_data), daemon=True).start()

    # Wake the reader when the program exits, so that daemons holding its pipes open do not hold the run.
    wake_r, wake_w = os.pipe()
    threading.Thread(target=lambda: (proc.wait(), os.write(wake_w, b"x")), daemon=True).start()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, 1)
    sel.register(proc.stderr, selectors.EVENT_READ, 2)
    sel.register(wake_r, selectors.EVENT_READ, 0)
    open_pipes, exited, drained = 2, False, 0
    while True:
        events = sel.select(0 if exited else None)
        if exited and (not events or drained > 16):
            break  # what the program wrote before exiting is read; later output is its daemons'
        for key, _ in events:
            if key.data == 0:
                exited = True
                sel.unregister(wake_r)
                continue
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                open_pipes -= 1
                continue
            if exited:
                drained += 1
            emit({"id": run_id, "ev": "out", "s": key.data, "d": base64.b64encode(chunk).decode()})
        if exited and open_pipes == 0:
            break
    sel.close()
    for fd in (wake_r, wake_w):
        try:
            os.close(fd)
        except OSError:
            pass
    code = proc.returncode
    emit({"id": run_id, "ev": "exit", "code": code if code >= 0 else 128 - code})
    with runs_lock:
        runs.pop(run_id, None)


def main():
    emit({"ev": "ready", "pid": os.getpid()})
    for raw in sys.stdin.buffer:
        try:
            req = json.loads(raw)
        except ValueError:
            continue
        if req.get("op") == "run":
            if not start_thread(supervise, req):
                emit({"id": req["id"], "ev": "out", "s": 2, "d": base64.b64encode(
                    b"the sandbox has no process left to start this run (pids limit reached)\n").decode()})
                emit({"id": req["id"], "ev": "exit", "code": 126})
        elif req.get("op") == "kill":
            run = kill_group(req["id"])
            if not start_thread(sweep, req["id"], run):
                sweep(req["id"], run)
    # The server is gone: nothing may outlive it.
    with runs_lock:
        ids = list(runs)
    for run_id in ids:
        kill_run(run_id, notify=False)


main()
