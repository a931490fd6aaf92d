import os
import subprocess
import sys
import time

# Starts two child processes (the whole tree must go on cancel), writes their pids, sleeps.
children = [
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)
]
target = os.path.join(os.environ.get("PIDS_DIR", "."), os.environ["AME_RUN_ID"] + ".pids")
with open(target + ".tmp", "w") as fh:
    fh.write(" ".join(str(p) for p in [os.getpid(), *(c.pid for c in children)]))
os.replace(target + ".tmp", target)
print("sleeping", flush=True)
time.sleep(600)
