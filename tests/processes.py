"""Child processes of the tests: for the servers they start (Streamlit, MLflow), a free local port and a stop
that never leaves one running; and functions a worker process runs (importable by name, as a worker needs)
to show what it inherits, what it sees and how it dies."""

from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


# Set by a test in its own process, to see whether a worker process inherits it.
PARENT_MARK = "unset"


def parent_mark(_item) -> str:
    return PARENT_MARK


def doubled_except_in_a_worker(item: int) -> int:
    """Twice ``item``; a worker process running it dies on the spot, as one killed for memory would."""
    import multiprocessing
    import os
    if multiprocessing.parent_process() is not None:
        os._exit(1)
    return 2 * item


def worker_thread_limits(_item) -> dict[str, int]:
    """Each loaded BLAS or OpenMP pool's thread count, as the process running this sees them."""
    from threadpoolctl import threadpool_info
    return {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}


def main_module_names(_item) -> list[str]:
    """The names the main module holds in the process running this (a worker: the main module imported again)."""
    import sys
    return sorted(vars(sys.modules["__main__"]))
