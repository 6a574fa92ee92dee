"""Where a figure came from, for the manifests and figure files the training, export and pricing
scripts write: the machine that ran them and the work tree's commit."""
import os
import platform
import subprocess

import torch


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo, else the platform's word for it)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def hardware() -> str:
    """The CPU model and its core count, as the bundles' manifests record where training ran."""
    return f"{cpu_name()} x {os.cpu_count()} (CPU only)"


def machine() -> str:
    """The CPU model, its core count and torch's version, as the pricing scripts run (one thread)."""
    return f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} on 1 thread, CPU only"


def commit() -> str:
    """The work tree's commit (with "+changes" when it differs from it), or "unknown"."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
