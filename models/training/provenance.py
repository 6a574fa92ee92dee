"""Where a figure came from, for the manifests and figure files the pricing scripts write: the
machine that ran them and the work tree's commit."""
import os
import platform
import subprocess

import torch


def machine() -> str:
    """The CPU model, its core count and torch's version, as the pricing scripts run (one thread)."""
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    return f"{model}, {os.cpu_count()} cores, torch {torch.__version__} on 1 thread, CPU only"


def commit() -> str:
    """The work tree's commit (with "+changes" when it differs from it), or "unknown"."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
