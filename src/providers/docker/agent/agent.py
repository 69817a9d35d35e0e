# sandbox-mcp run agent: lives in the sandbox for one server connection and runs commands for it, so that a
# run costs a process spawn instead of a Docker exec (which the engine takes ~45 ms to set up).
# Protocol (src/providers/docker/agent/agent-frames.ts): frames, each one JSON object on a line, followed by exactly
# "n" raw bytes when it has "n" (bytes travel as they are, without base64 or JSON around them). In (stdin):
# {"op":"run","id","argv","env","cwd","uid","gid","n"?} whose bytes are the run's stdin, {"op":"kill","id"}, and
# {"op":"spare"} (fork the next run's supervisor now: make_spare).
# Out (stdout): {"id","ev":"out","s":1|2,"n"} and its bytes, {"id","ev":"exit","code"}, and {"id","ev":"killed"}
# once a kill has ended every process of the run. (No frame says a run started: nobody waited for it, and each
# frame is a hop through the engine and a wake-up of the server while the run wants the CPU.)
#
# It runs as root, isolated from everything the sandbox user can write: started as `python3 -I -S` (no user site,
# no PYTHON* variables, no script directory on sys.path, no `site` at all) in `/`. Root runs get a fixed
# environment (the container's with HOME=/root and a fixed PATH, none of the run's variables) in `/`.
#
# Each run has a supervisor: a forked child of the agent, root, made the child subreaper of the run's tree, so
# that every process the run starts stays its descendant whatever it does (setsid, double fork, `env -i`,
# non-dumpable). Where there is no child subreaper (gVisor: prctl fails with EINVAL, and orphans go to the
# container's init), the run's processes carry a supplementary group of their own instead (RUN_GROUP_BASE +
# random), which fork, exec, setsid and `env -i` keep and which only root can drop. A kill is the kill sweep of
# src/providers/shared/kill-sweep.ts (sweep_run): it stops, then kills, the supervisor's children, the run's
# group and session, and every descendant of those, until none is left. A run that ends by
# itself leaves its background processes alone: the supervisor stays with them, reading their output to nowhere
# so that nothing dies of SIGPIPE, until the last of them exits (or the sandbox stops).
# End of stdin (the server went away) kills every run still going.
#
# A supervisor is forked ahead of its run (make_spare: two after each run, for a minute, and one when the server
# asks with {"op":"spare"}), with the launcher of the run's program forked by it too, both waiting on a pipe: a
# run then costs a pipe write and an exec, not two forks of a Python process on its way (1.5 to 2 ms of the 6 to
# 7 ms a `true` took in the agent). Without a spare, a run forks its own the same way. The pair rehearses the
# run's decoding while it waits (rehearse), and the run's thread, which relays its output, starts once the program
# is on its way (start_run).
import ctypes, json, os, select, selectors, signal, sys, threading, time, warnings

# Forking from a threaded process is safe here (the forked supervisor takes no lock of the agent's threads);
# Python 3.12+ warns about it on stderr.
warnings.filterwarnings("ignore", category=DeprecationWarning)

PR_SET_CHILD_SUBREAPER = 36
# Supplementary groups that mark a run's processes where there is no subreaper: a range no image uses
# (above any account's, below 2^31 so that no tool reads them as negative).
RUN_GROUP_BASE = 0x60000000
RUN_GROUP_SPAN = 0x1FFFFFFF
try:
    LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    LIBC = None

# User runs get the container's environment (the operator's image and template), root runs the same with
# root's home and a fixed PATH. The server's own values for a run come on top, for user runs only.
# ROOT_RUN_ENV and USER_PATH_SUFFIX of src/providers/shared/base-env.ts come as the arguments.
USER_ENV = {k: v for k, v in os.environ.items() if k not in ("PWD", "OLDPWD", "SHLVL", "_")}
ROOT_ENV = dict(USER_ENV, **json.loads(sys.argv[1]))
USER_PATH_SUFFIX = sys.argv[2] if len(sys.argv) > 2 else ""
os.environ.update(json.loads(sys.argv[1]))
os.chdir("/")

out_lock = threading.Lock()
runs = {}
runs_lock = threading.Lock()


def write_all(data):
    # Unbuffered (-u), stdout is a raw file: a write may take part of the data (gVisor does under load).
    view = memoryview(data)
    while view:
        view = view[sys.stdout.buffer.write(view) or 0:]


def emit(obj, body=None):
    """One frame: the header line, then `body`'s bytes as they are when there is one (the header says how many)."""
    if body is not None:
        obj = dict(obj, n=len(body))
    line = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    if body and len(body) <= 65536:
        line, body = line + body, None  # one write: each is a hop through the engine's stream to the server
    with out_lock:
        write_all(line)
        if body:
            write_all(body)
        sys.stdout.buffer.flush()


def emit_output(run_id, stream, data):
    emit({"id": run_id, "ev": "out", "s": stream}, data)


def emit_failure(run_id, message, code):
    emit_output(run_id, 2, message.encode())
    emit({"id": run_id, "ev": "exit", "code": code})


def exit_code(status):
    code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else (
        -(status & 0x7F) if status & 0x7F else status >> 8)
    return code if code >= 0 else 128 - code


# ---- the supervisor: runs in a forked child, single-threaded; it uses no lock of the agent's threads ----

def reap(main_pid, on_main_exit):
    """Reaps every exited child; False once there is none left at all. The main program's exit is reported after
    the zombies it left (reparented to us) are gone, so that the next run sees none of them."""
    main_status, left = None, True
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            left = False
            break
        if pid == 0:
            break
        if pid == main_pid:
            main_status = status
    if main_status is not None:
        on_main_exit(exit_code(main_status))
    return left


def process_table():
    """{pid: (ppid, session, name, state, supplementary groups)} of every live process but this one and PID 1, read
    from /proc/<pid>/status (world readable, also for non-dumpable processes and under gVisor)."""
    me, table = os.getpid(), {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (me, 1):
            continue
        try:
            with open("/proc/%s/status" % name, "rb") as f:
                lines = f.read().split(b"\n")
        except OSError:
            continue
        fields = dict(line.split(b":", 1) for line in lines if b":" in line)
        state = fields.get(b"State", b"").strip()[:1]
        if state in (b"Z", b"X") or b"PPid" not in fields:
            continue
        try:
            table[int(name)] = (int(fields[b"PPid"]), int((fields.get(b"NSsid") or b"-1").split()[0]),
                                fields.get(b"Name", b"").strip(), state,
                                {int(g) for g in fields.get(b"Groups", b"").split()})
        except ValueError:
            continue
    return table


def run_members(table, tag, sid):
    """Step 1 of the kill sweep: the run's processes are this supervisor's children, those in the run's group (no
    subreaper) and those in its session, with all their descendants (a root run's child may drop the group, as
    apt and sudo do)."""
    me = os.getpid()
    tree = {pid for pid, (ppid, session, _, _, groups) in table.items()
            if ppid == me or session == sid or (tag is not None and tag in groups)}
    grew = True
    while grew:
        grew = False
        for pid, entry in table.items():
            if entry[0] in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def sweep_run(tag, sid, main_pid, on_main_exit):
    """The kill sweep, as src/providers/shared/kill-sweep.ts specifies it (the shell's KILL_SWEEP does the same),
    without forking. Freezes the run's tree until every member is stopped (a stopped process neither forks nor
    exits, so no orphan leaves the tree unseen), then kills it until nothing of it is left. The subreaper is the
    supervisor itself (no tini is above a run here), so no member is spared: a process that only calls itself
    docker-init is frozen and killed like the rest. With a subreaper the orphans of killed processes come to us, so
    the walk finds them as our children."""
    for _ in range(50):
        table = process_table()
        fresh = [pid for pid in run_members(table, tag, sid) if table[pid][3] not in (b"T", b"t")]
        if not fresh:
            break
        signal_all(fresh, signal.SIGSTOP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        table = process_table()
        tree = run_members(table, tag, sid)
        if not tree:
            break
        signal_all(tree, signal.SIGKILL)
        reap(main_pid, on_main_exit)
        time.sleep(0.002)
    for _ in range(2000):
        if not reap(main_pid, on_main_exit):
            break  # every child reaped: nothing of the run is left
        time.sleep(0.005)


def read_to_end(fd):
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk


def write_to(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def set_ids(uid, gid, tag):
    """Drops to uid/gid with the run's group `tag` (if any) as the only supplementary group, as subprocess does
    with user/group/extra_groups; root runs keep root's groups and get the tag on top."""
    root = (uid, gid) == (0, 0)
    if os.getuid() != 0 or (root and tag is None):
        return
    os.setgroups((os.getgroups() if root else []) + ([tag] if tag is not None else []))
    if not root:
        os.setgid(gid)
        os.setuid(uid)


def launch_spec(req, tag):
    """What the supervisor hands its launcher for run `req`: the program, and as whom, where and with what
    environment it runs (root runs: ROOT_ENV in `/`; user runs: the container's environment, the run's variables
    on top, USER_PATH_SUFFIX at the end of PATH)."""
    uid, gid = int(req.get("uid", 1000)), int(req.get("gid", 1000))
    root = uid == 0
    env = dict(ROOT_ENV) if root else dict(USER_ENV, **(req.get("env") or {}))
    if not root and USER_PATH_SUFFIX:
        env["PATH"] = env.get("PATH", ROOT_ENV["PATH"]) + ":" + USER_PATH_SUFFIX
    return {"argv": req["argv"], "env": env, "cwd": "/" if root else req.get("cwd") or "/", "uid": uid, "gid": gid,
            "tag": tag, "stdin": bool(req.get("stdin"))}


def rehearse(request_r):
    """Does, in a supervisor or launcher forked ahead, what its run will do with the agent's objects (build a launch
    spec, encode and decode it), before the run is asked for, unless it has come already (`request_r` is
    readable). A forked copy shares the agent's memory until it writes to it, and Python writes to every object it
    uses (its reference count): the first write to each page is a fault and a copy, 0.3 ms of them on the run's
    way otherwise."""
    try:
        pending = select.poll()  # not select.select: the descriptor may be numbered above 1023
        pending.register(request_r, select.POLLIN)
        if pending.poll(0):
            return
        for uid in (1000, 0):
            json.loads(json.dumps(launch_spec({"argv": ["true"], "uid": uid, "gid": uid, "env": {"RUN": "1"}}, None)))
    except Exception:
        pass  # only ever a head start: never a reason for a run to fail


def launcher(in_r, out_w, err_w, launch_r, failed_w, theirs):
    """The run's program-to-be, forked ahead by its supervisor: its own session (start_new_session), then it waits
    for what to run and does what subprocess.Popen's child does (_posixsubprocess.c child_exec, in its order: the
    standard streams, chdir as root, signals Python ignores back to default, then the ids), and execs. A failure is
    written to `failed_w`, which closes on a successful exec. `theirs`: the supervisor's ends of the two pipes."""
    close_all(*theirs)
    os.setsid()
    rehearse(launch_r)
    data = read_to_end(launch_r)
    if not data:
        return  # the supervisor went away before a run came
    spec = json.loads(data)
    try:
        stdin = in_r if spec["stdin"] else os.open(os.devnull, os.O_RDWR)
        os.dup2(stdin, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.chdir(spec["cwd"])
        for name in ("SIGPIPE", "SIGXFSZ", "SIGXFZ"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        set_ids(spec["uid"], spec["gid"], spec["tag"])
        # Every other descriptor is close-on-exec (os.pipe and os.open make them so).
        os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
    except Exception as e:  # OSError from exec, chdir or the ids; anything else (a malformed request) too
        program = spec["argv"][0] if spec.get("argv") else "(no program)"
        write_to(failed_w, json.dumps({"code": 127 if isinstance(e, FileNotFoundError) else 126,
                                       "msg": "%s: %s\n" % (program, getattr(e, "strerror", None) or e)}).encode())


def supervisor(fds):
    in_r, out_r, out_w, err_r, err_w, ctl_r, st_w, req_r = fds
    keep = set(fds)
    # Nothing of the agent's: its streams (the server's connection) and other runs' pipes.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass

    def status(obj):
        try:
            os.write(st_w, (json.dumps(obj) + "\n").encode())
        except OSError:
            pass  # the agent is gone

    os.setsid()
    subreaper = LIBC is not None and LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    launch_r, launch_w = os.pipe()
    failed_r, failed_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        pid = None
    if pid == 0:
        try:
            launcher(in_r, out_w, err_w, launch_r, failed_w, (launch_w, failed_r, req_r, ctl_r, st_w, out_r, err_r))
        finally:
            os._exit(127)
    close_all(in_r, out_w, err_w, launch_r, failed_w)
    rehearse(req_r)

    # Everything above happened before the run was asked for (see fork_supervisor); here it comes.
    req = read_to_end(req_r)
    if not req:
        return  # the agent is gone: the launcher ends when its pipe closes with us
    req = json.loads(req)
    if pid is None:
        status({"ev": "spawn_failed", "code": 126,
                "msg": "the sandbox has no process left to start this run (pids limit reached)\n"})
        return
    tag = None
    if not subreaper and os.getuid() == 0:
        tag = RUN_GROUP_BASE + int.from_bytes(os.urandom(4), "big") % RUN_GROUP_SPAN
    write_to(launch_w, json.dumps(launch_spec(req, tag)).encode())
    os.close(launch_w)
    failure = read_to_end(failed_r)
    os.close(failed_r)
    if failure:
        event = json.loads(failure)
        os.waitpid(pid, 0)
        status({"ev": "spawn_failed", "code": event["code"], "msg": event["msg"]})
        return
    main = {"done": False}

    def on_main_exit(code):
        main["done"] = True
        status({"ev": "exit", "code": code})

    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pass
    sel = selectors.DefaultSelector()
    sel.register(ctl_r, selectors.EVENT_READ, "ctl")
    if pidfd is not None:
        sel.register(pidfd, selectors.EVENT_READ, "main")
    draining = 0
    detached = False
    children = True
    while True:
        timeout = 0.005 if (not main["done"] and pidfd is None) else 1.0
        for key, _ in sel.select(timeout):
            if key.data == "ctl":
                data = os.read(ctl_r, 64)
                if b"k" in data or (not data and not main["done"]):
                    sweep_run(tag, pid, pid, on_main_exit)
                    status({"ev": "killed"})
                    return
                if b"d" in data or not data:
                    # The agent is done with the run's output (or gone): its background processes write on, to us.
                    sel.unregister(ctl_r)
                    if not detached:
                        detached = True
                        for fd in (out_r, err_r):
                            sel.register(fd, selectors.EVENT_READ, "drain")
                            draining += 1
            elif key.data == "main":
                sel.unregister(pidfd)
                os.close(pidfd)
            else:
                if not os.read(key.fd, 65536):
                    sel.unregister(key.fd)
                    draining -= 1
        children = reap(pid, on_main_exit)
        if detached and not children and draining == 0:
            return


# ---- the agent ----

def start_thread(target, *args):
    """A thread, or False when the sandbox has no pid left for one."""
    try:
        threading.Thread(target=target, args=args, daemon=True).start()
        return True
    except RuntimeError:
        return False


def feed_stdin(fd, data):
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        pass
    finally:
        os.close(fd)


def close_all(*fds):
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def kill_run(run_id):
    """Asks the run's supervisor to end its tree: a write to a pipe, which works even when a fork bomb has taken
    every pid. A run that is not (or no longer) going is reported killed at once: a run is registered by the thread
    that reads frames before it reads the next one (start_run), so a kill never comes before its run."""
    with runs_lock:
        run = runs.get(run_id)
        if run is not None:
            run["killing"] = True
            try:
                os.write(run["ctl"], b"k")
            except OSError:
                pass
    if run is None:
        emit({"id": run_id, "ev": "killed"})


# The spare supervisors (fork_supervisor's pipes, oldest first), how many are being made, when they are dropped
# (time.monotonic(); None: they stay), and whether the thread that drops them runs.
SPARE = {"ready": [], "making": 0, "expires": None, "janitor": False}
spare_lock = threading.Lock()
spare_expiry = threading.Condition(spare_lock)
# Spares made after a run are dropped after this long without a run: each holds two processes (about 1.6 MiB),
# worth it while an agent is at work, not in a sandbox left idle. A request for one ("spare", a warm sandbox) keeps
# them until the next run.
SPARE_IDLE_SECONDS = 60


def spares_after_run():
    """Two spares after a run, so that a run that follows the last one at once takes a spare made a run earlier, set
    up by now, instead of the one still being forked and set up after the last run (2 ms on its way); one where the
    sandbox's pids limit is small, as each holds two of its pids."""
    for path in ("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"):
        try:
            with open(path) as f:
                limit = f.read().strip()
            return 2 if limit == "max" or int(limit) >= 64 else 1
        except (OSError, ValueError):
            continue
    return 2


SPARES_AFTER_RUN = spares_after_run()


def fork_supervisor():
    """A run's supervisor, forked and set up (its session, the subreaper, the launcher of its program, forked too)
    before the run is asked for: the run then costs the supervisor a pipe read and the launcher an exec, instead of
    two forks of a Python process. Returns the agent's ends of its pipes, or a reason it could not be made."""
    fds = []
    try:
        for _ in range(6):
            fds.extend(os.pipe())
    except OSError:
        close_all(*fds)
        return "the sandbox has no file descriptor left to start this run\n"
    out_r, out_w, err_r, err_w, ctl_r, ctl_w, st_r, st_w, in_r, in_w, req_r, req_w = fds
    try:
        pid = os.fork()
    except OSError:
        close_all(*fds)
        return "the sandbox has no process left to start this run (pids limit reached)\n"
    if pid == 0:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            supervisor((in_r, out_r, out_w, err_r, err_w, ctl_r, st_w, req_r))
        finally:
            os._exit(0)
    # The agent ignores SIGCHLD, so the kernel reaps the supervisor when it ends.
    close_all(out_w, err_w, ctl_r, st_w, in_r, req_r)
    return (out_r, err_r, ctl_w, st_r, in_w, req_w)


def take_supervisor():
    """The oldest spare supervisor if there is one, else one forked now."""
    with spare_lock:
        ready = SPARE["ready"].pop(0) if SPARE["ready"] else None
    return ready or fork_supervisor()


def make_spare(expires):
    """Forks spare supervisors up to SPARES_AFTER_RUN, counting those ready and those being made: after each run has
    reported its exit (so that the fork is not on that run's way; the next run takes the older spare), then dropped
    after SPARE_IDLE_SECONDS without a run (`expires`); and up to one when the server asks for one that stays (a warm
    sandbox, whose first run an agent waits for)."""
    with spare_lock:
        waiting, SPARE["expires"] = SPARE["expires"] is None, time.monotonic() + SPARE_IDLE_SECONDS if expires else None
        # One thread drops them, started once: a timer thread per run was a thread start and an end on the next
        # run's way. It wakes at the expiry it knew and waits on if a later run moved it.
        if expires and waiting:
            spare_expiry.notify()
        if expires and not SPARE["janitor"]:
            SPARE["janitor"] = start_thread(drop_spares)  # no pid left for it: the spares stay
    while True:
        with spare_lock:
            if len(SPARE["ready"]) + SPARE["making"] >= (SPARES_AFTER_RUN if expires else 1):
                break
            SPARE["making"] += 1
        made = fork_supervisor()
        with spare_lock:
            SPARE["making"] -= 1
            if isinstance(made, tuple):
                SPARE["ready"].append(made)
        if not isinstance(made, tuple):
            break  # no pid or descriptor left: the next run says so


def drop_spares():
    """Ends the spare supervisors once their time is up without a run (each reads the end of its request pipe and
    exits, its launcher with it)."""
    while True:
        with spare_lock:
            while True:
                left = None if SPARE["expires"] is None else SPARE["expires"] - time.monotonic()
                if left is not None and left <= 0:
                    break
                spare_expiry.wait(left)
            ready, SPARE["ready"], SPARE["expires"] = SPARE["ready"], [], None
        for spare in ready:
            close_all(*spare)


def start_run(req, stdin_data):
    """Hands the run to its supervisor, then relays it from a thread of its own: the thread starts (0.2 ms) while
    the program is on its way, not before it."""
    run_id = req["id"]
    uid = int(req.get("uid", 1000))
    cwd = "/" if uid == 0 else req.get("cwd") or "/"
    if not os.path.isdir(cwd):
        return emit_failure(run_id, "working directory %s does not exist or is not a directory\n" % cwd, 2)
    request = json.dumps(dict(req, stdin=stdin_data is not None)).encode()
    made = take_supervisor()
    while True:
        if isinstance(made, str):
            return emit_failure(run_id, made, 126)
        out_r, err_r, ctl_w, st_r, in_w, req_w = made
        try:
            write_to(req_w, request)
            break
        except OSError:
            # That supervisor is gone (a spare killed while it waited): a fresh one takes the run.
            close_all(out_r, err_r, ctl_w, st_r, in_w)
            made = fork_supervisor()
        finally:
            os.close(req_w)
    if stdin_data is None:
        os.close(in_w)
        in_w = None
    run = {"ctl": ctl_w, "killing": False}
    with runs_lock:
        runs[run_id] = run
    if not start_thread(relay_run, run_id, run, (out_r, err_r, ctl_w, st_r, in_w), stdin_data):
        # No thread to relay it (the pids limit): the program, already on its way, is killed rather than left
        # without a reader.
        with runs_lock:
            runs.pop(run_id, None)
        try:
            os.write(ctl_w, b"k")
        except OSError:
            pass
        close_all(out_r, err_r, ctl_w, st_r, in_w)
        emit_failure(run_id, "the sandbox has no process left to relay this run (pids limit reached); it was "
                     "killed\n", 126)


def relay_run(run_id, run, fds, stdin_data):
    """Relays a started run's output and exit to the server, and feeds its stdin."""
    out_r, err_r, ctl_w, st_r, in_w = fds
    if in_w is not None and not start_thread(feed_stdin, in_w, stdin_data):
        os.close(in_w)

    sel = selectors.DefaultSelector()
    sel.register(out_r, selectors.EVENT_READ, 1)
    sel.register(err_r, selectors.EVENT_READ, 2)
    sel.register(st_r, selectors.EVENT_READ, 0)
    status_buf = b""
    code, killed, gone, drained = None, False, False, 0
    while True:
        exited = code is not None
        events = sel.select(0 if exited else None)
        if exited and (not events or drained > 16):
            break  # what the program wrote before exiting is read; later output is its background processes'
        for key, _ in events:
            chunk = os.read(key.fd, 65536)
            if key.data == 0:
                if not chunk:
                    sel.unregister(st_r)
                    gone = True  # the supervisor ended (killed the tree, or failed to start the program)
                    if code is None:
                        code = 126
                    continue
                status_buf += chunk
                while b"\n" in status_buf:
                    line, status_buf = status_buf.split(b"\n", 1)
                    event = json.loads(line)
                    if event["ev"] == "exit":
                        code = event["code"]
                    elif event["ev"] == "killed":
                        killed = True
                    elif event["ev"] == "spawn_failed":
                        emit_output(run_id, 2, event["msg"].encode())
                        code = event["code"]
                continue
            if not chunk:
                sel.unregister(key.fd)
                continue
            if exited:
                drained += 1
            emit_output(run_id, key.data, chunk)
    sel.close()
    with runs_lock:
        runs.pop(run_id, None)
        killing = run["killing"]
    try:
        if killing:
            # Wait for the supervisor to say the whole tree is gone.
            while not killed and not gone:
                chunk = os.read(st_r, 65536)
                status_buf += chunk
                gone = not chunk
                killed = killed or b'"killed"' in status_buf
            emit({"id": run_id, "ev": "exit", "code": code})
            emit({"id": run_id, "ev": "killed"})
        else:
            # The exit first: the supervisor's wake-up is not on the way of the answer.
            emit({"id": run_id, "ev": "exit", "code": code})
    finally:
        if not killing:
            try:
                os.write(ctl_w, b"d")  # the supervisor keeps the background processes' output flowing
            except OSError:
                pass
        close_all(out_r, err_r, st_r, ctl_w)
    make_spare(expires=True)


def main():
    # Supervisors are reaped by the kernel (see fork_supervisor); they set SIGCHLD back before starting anything.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    emit({"ev": "ready", "pid": os.getpid()})
    stdin = sys.stdin.buffer
    for raw in stdin:
        try:
            req = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(req, dict):
            continue
        n = req.get("n")
        body = None
        if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
            body = stdin.read(n)  # the frame's bytes follow its line (same buffered reader: nothing is lost)
            if len(body) < n:
                break  # the server went away mid-frame
        if req.get("op") == "run":
            try:
                start_run(req, body)
            except Exception as e:  # a malformed request fails its run, not the agent and its other runs
                if isinstance(req.get("id"), str):
                    emit_failure(req["id"], "the run could not be started: %s\n" % e, 126)
        elif req.get("op") == "kill":
            kill_run(req["id"])
        elif req.get("op") == "spare":
            make_spare(expires=False)
    # The server is gone: nothing it started may outlive it (its runs' supervisors also kill when we vanish).
    with runs_lock:
        ids = list(runs)
    for run_id in ids:
        kill_run(run_id)


main()
