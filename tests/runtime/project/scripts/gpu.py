import os
import time

# Writes the devices it was given, then holds them until the release file exists.
out = os.path.join(os.environ["GPU_DIR"], os.environ["AME_RUN_ID"])
with open(out, "w") as fh:
    fh.write(os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"))
release = os.path.join(os.environ["GPU_DIR"], "release")
deadline = time.time() + 300
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
print("gpu task done", os.environ.get("CUDA_VISIBLE_DEVICES"))
