#!/usr/bin/env python3
"""Measured vs predicted for `talkgen bench pipeline --json-out` results: one row per job.

Usage: summarize_jobs.py OUT_DIR NAME... (reads OUT_DIR/pipeline_<NAME>.json; a missing one is "not run").
Under each row: the 1-GPU run of a --compare-single job, and the step counts composed from its stages.
"""
import json
import os
import sys


def load(out, name):
    path = os.path.join(out, f"pipeline_{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def main(out, names):
    print(f"{'job':<4} {'size':>9} {'frames':>6} {'steps':>5} {'fwd':>3} {'gpus':>4} {'measured':>9} "
          f"{'predicted':>9} {'error':>7} {'s/video-s':>9}  calibrated")
    for name in names:
        r = load(out, name)
        if not r:
            print(f"{name:<4} (not run)")
            continue
        j, s, p = r["job"], r["seconds"], r.get("planner", {})
        pred = p.get("seconds", {}).get("total")
        err = p.get("error_percent", {}).get("total")
        print(f"{name:<4} {j['width']}x{j['height']:<4} {j['frames']:>6} {j['steps']:>5} {j['forwards_per_step']:>3} "
              f"{r.get('gpus', 1):>4} {s['total']:>8.1f}s {'n/a' if pred is None else f'{pred:.1f}s':>9} "
              f"{'' if err is None else f'{err:+.1f}%':>7} {r['seconds_per_video_second']:>9.2f}  "
              f"{p.get('calibrated', p.get('unavailable'))}")
        if "single_gpu" in r:
            one = r["single_gpu"]
            print(f"     on 1 GPU: {one['seconds']['total']:.1f} s (x{one['speedup_total']:.2f} total, "
                  f"x{one['speedup_sampling']:.2f} sampling); frames max |diff| {one['frames_max_abs_diff']:.4f}, "
                  f"mean {one['frames_mean_abs_diff']:.5f}")
        for profile, c in r.get("composed", {}).items():
            print(f"     composed {profile:<8} {c['steps']:2} steps x {c['forwards_per_step']}: {c['job_seconds']:.1f} s "
                  f"= {c['seconds_per_video_second']:.2f} s per video-second")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
