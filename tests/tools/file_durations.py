"""Print the test files of a pytest JUnit XML report by the time their tests took, slowest first.

    python tests/tools/file_durations.py build/junit.xml [N]

tests/run writes the report and prints the slowest files after the suite: with ``--dist loadfile`` a file runs on
one worker, so the slowest file bounds how far more workers can shorten the run.
"""

import collections
import sys
from xml.etree import ElementTree


def file_durations(report_path):
    """{test file: (seconds, number of tests)} from a JUnit XML report."""
    totals = collections.defaultdict(lambda: [0.0, 0])
    for case in ElementTree.parse(report_path).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")
        name = "/".join(part for part in module if not part[:1].isupper()) + ".py"
        totals[name][0] += float(case.get("time") or 0)
        totals[name][1] += 1
    return {name: (seconds, count) for name, (seconds, count) in totals.items()}


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    durations = file_durations(argv[1])
    shown = int(argv[2]) if len(argv) == 3 else 15
    total = sum(seconds for seconds, _count in durations.values())
    print("%8s %6s  %s" % ("seconds", "tests", "file (all files: %.0f s of test time)" % total))
    for name, (seconds, count) in sorted(durations.items(), key=lambda item: -item[1][0])[:shown]:
        print("%8.0f %6d  %s" % (seconds, count, name))


if __name__ == "__main__":
    main(sys.argv)
