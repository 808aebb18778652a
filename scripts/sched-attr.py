#!/usr/bin/env python3
"""Attribute scheduling delays: which tasks ran on a CPU while a woken task waited for it.

Usage (as root, during a run of the thing you measure, e.g. benchreport -live-only):
    perf sched record -o /tmp/sched.data -- sleep 4
    perf sched timehist -i /tmp/sched.data > /tmp/timehist.txt
    scripts/sched-attr.py /tmp/timehist.txt 'br.test[' [TID=label ...]

Every wake-up of a task whose name contains the second argument that waited more than 200 µs on the run
queue is charged to the tasks that ran on that CPU during the wait, by overlap. TID=label names threads
(e.g. the recorder's SCHED_IDLE sink thread, found with `chrt -p TID`).
"""
import collections
import re
import sys


def main():
    path, victim = sys.argv[1], sys.argv[2]
    label = dict(a.split('=', 1) for a in sys.argv[3:])
    line_re = re.compile(r'\s*([\d.]+)\s+\[(\d+)\]\s+(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$')
    rows, bycpu = [], collections.defaultdict(list)
    for line in open(path):
        m = line_re.match(line)
        if not m:
            continue
        t, cpu, task = float(m[1]), int(m[2]), m[3].strip()
        delay, run = float(m[5]) / 1e3, float(m[6]) / 1e3
        rows.append((t, cpu, task, delay, run))
        bycpu[cpu].append((t - run, t, task))

    def name(task):
        m = re.search(r'\[(\d+)', task)
        if m and m[1] in label:
            return label[m[1]]
        return re.sub(r'[:/].*', '', task.split('[')[0])

    blame, total, n = collections.Counter(), 0.0, 0
    for t, cpu, task, delay, run in rows:
        if victim not in task or delay < 200e-6:
            continue
        start = t - run
        woken = start - delay
        n += 1
        total += delay
        for a, b, other in bycpu[cpu]:
            overlap = min(b, start) - max(a, woken)
            if overlap > 0:
                blame[name(other)] += overlap
    print(f"{victim}: {n} wake-ups waited > 200 us, {total * 1e3:.1f} ms in all")
    for k, v in blame.most_common(12):
        print(f"  {k:28s} {v * 1e3:8.1f} ms  {100 * v / total:5.1f} %")


if __name__ == '__main__':
    main()
