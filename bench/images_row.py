"""One row of bench/images.sh's table from a `playbook run -o json` event stream."""
import json
import sys
from datetime import datetime

path, label = sys.argv[1], sys.argv[2]
events = [json.loads(line) for line in open(path)]
at = lambda e: datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
start = next(e for e in events if e["type"] == "run-started")
took = {}
finished = {}
for e in events:
    if e["type"] == "step-finished" and e.get("item") is None:
        key = e.get("id") or e["step"]
        took[key] = e.get("seconds", 0) if e.get("status") == "succeeded" else 0
        finished[key] = (at(e) - at(start)).total_seconds()
images = sum(took.get(k, 0) for k in ("load-images", "registry", "push-images"))
print(f"| {label} | {took.get('create-cluster', 0):.1f} | {images:.1f} | {took.get('wait-cilium', 0):.1f} | {took.get('wait-demo', 0):.1f} "
      f"| {finished['assert-nodeport']:.1f} | {finished['verdict']:.1f} |")
