import os
import sys
import time

# Prints ten lines; waits for a go file (if named) before the rest, so a test can act mid-run.
go = os.environ.get("TICKER_GO")
for i in range(10):
    print(f"tick {i}", flush=True)
    if i == 0 and go:
        deadline = time.time() + 120
        while not os.path.exists(go) and time.time() < deadline:
            time.sleep(0.05)
    time.sleep(0.02)
sys.exit(0)
