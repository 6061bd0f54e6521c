"""Progress on stderr while a run lasts over a second (none with --quiet or --json)."""
from __future__ import annotations

import resource
import sys


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Progress:
    """Prints ``states=… states/s=… depth=… frontier=… mem=…`` about once a second."""

    def __init__(self, stream=None, json_lines: bool = False):
        self.stream = stream or sys.stderr
        self.json_lines = json_lines
        self.shown = False

    def __call__(self, st: dict, final: bool = False):
        if final and not self.shown:
            return          # a run shorter than a second prints nothing
        self.shown = True
        st = dict(st, mem_mib=round(peak_rss_mib(), 1))
        if self.json_lines:
            import json
            self.stream.write(json.dumps(dict(st, final=final)) + "\n")
        else:
            self.stream.write(
                f"{'done' if final else 'checking'} states={st['states']} "
                f"transitions={st['transitions']} depth={st['depth']} "
                f"frontier={st['frontier']} states/s={st['states_per_s']:.0f} "
                f"mem={st['mem_mib']}MiB\n")
        self.stream.flush()
