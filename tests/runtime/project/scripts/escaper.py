import os
import subprocess
import sys
import time
from pathlib import Path

# Starts processes that leave the task's process group (a `setsid` child and a double-forked
# daemon), writes every pid, then sleeps ("stay") or exits 0 at once ("leave").
mode = sys.argv[1] if len(sys.argv) > 1 else "stay"
folder = os.environ.get("PIDS_DIR", ".")
target = os.path.join(folder, os.environ["AME_RUN_ID"] + ".escaped")
escaped = subprocess.Popen(["setsid", "sleep", "300"])  # not a group leader: setsid execs
daemon_file = target + ".daemon"
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # the daemon: its parent exits, init adopts it
        with open(daemon_file + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(daemon_file + ".tmp", daemon_file)
        time.sleep(300)
    os._exit(0)
os.wait()
while not os.path.exists(daemon_file):
    time.sleep(0.01)
pids = [os.getpid(), escaped.pid, int(Path(daemon_file).read_text())]
with open(target + ".tmp", "w") as fh:
    fh.write(" ".join(str(p) for p in pids))
os.replace(target + ".tmp", target)
print("escaped", flush=True)
if mode == "stay":
    time.sleep(600)
