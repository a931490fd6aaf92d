import os
import sys
import time

value = os.environ["DB_PASS"]
print("pw=" + value, flush=True)
# The value in two writes, apart in time: the supervisor reads it in two pieces.
sys.stdout.write("split=" + value[:3])
sys.stdout.flush()
time.sleep(0.3)
print(value[3:], flush=True)
