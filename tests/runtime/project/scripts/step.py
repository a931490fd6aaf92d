import argparse
import os
import sys
import time

# A pipeline step: marks that it started, optionally waits until another step has started too
# (which only happens if both run at the same time), sleeps, marks that it ended.
parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("--wait-for")
parser.add_argument("--sleep", type=float, default=0)
parser.add_argument("--exit", type=int, default=0)
args = parser.parse_args()
folder = os.environ["STEPS_DIR"]
open(os.path.join(folder, f"{args.name}.start"), "w").close()
if args.wait_for:
    other = os.path.join(folder, f"{args.wait_for}.start")
    deadline = time.time() + 120
    while not os.path.exists(other):
        if time.time() > deadline:
            print(f"{args.wait_for} never started while {args.name} ran")
            sys.exit(9)
        time.sleep(0.05)
time.sleep(args.sleep)
open(os.path.join(folder, f"{args.name}.end"), "w").close()
print(f"step {args.name} done")
sys.exit(args.exit)
