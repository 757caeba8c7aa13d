"""Compile a LaTeX document to PDF: latexmk (or pdflatex), sandboxed and time-limited.

The document is written into a fresh temporary directory and compiled there
without shell escape, with TeX's file access restricted to that directory
(``openin_any=p``, ``openout_any=p``), no rc files, and a wall-time limit after
which the whole process group is killed.  Failures are ``TexError``s whose
message says what happened (with the relevant lines of the log), never a
traceback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

DEFAULT_TIME_LIMIT = 180.0  # seconds for the whole compilation
_LOG_CONTEXT = 3  # lines of the log shown after each error line
_MAX_LOG_LINES = 24


class TexError(Exception):
    """The PDF could not be produced; ``str(error)`` is the message for the user."""

    def __init__(self, message: str, log_excerpt: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_excerpt = log_excerpt

    def __str__(self) -> str:
        if self.log_excerpt:
            return f"{self.message}\n{self.log_excerpt}"
        return self.message


class TexNotInstalled(TexError):
    """Neither latexmk nor pdflatex is on PATH."""


class TexFailed(TexError):
    """TeX ran and stopped with an error, or ran out of time."""


def tex_available() -> str | None:
    """``"latexmk"`` or ``"pdflatex"``: the compiler ``compile_pdf`` would use, if any."""
    if shutil.which("latexmk") and shutil.which("pdflatex"):
        return "latexmk"
    if shutil.which("pdflatex"):
        return "pdflatex"
    return None


def compile_pdf(tex: str, *, time_limit: float = DEFAULT_TIME_LIMIT) -> bytes:
    """Compile a complete LaTeX document and return the PDF's bytes.

    Args:
        tex: the document's source.
        time_limit: seconds for the whole compilation (all passes).

    Raises:
        TexNotInstalled: no TeX installation was found.
        TexFailed: compilation failed or timed out (with the log's error lines).
    """
    tool = tex_available()
    if tool is None:
        raise TexNotInstalled(
            "no TeX installation found (need latexmk or pdflatex on PATH); on Debian or "
            "Ubuntu: apt-get install --no-install-recommends texlive-latex-base "
            "texlive-latex-recommended latexmk")
    with tempfile.TemporaryDirectory(prefix="derivcheck-tex-") as tmp:
        folder = Path(tmp)
        (folder / "report.tex").write_text(tex, encoding="utf-8")
        env = _environment(folder)
        if tool == "latexmk":
            _run(["latexmk", "-norc", "-pdf", "-no-shell-escape", "-interaction=nonstopmode",
                  "-halt-on-error", "-file-line-error", "report.tex"],
                 folder, env, time_limit)
        else:
            _pdflatex_passes(folder, env, time_limit)
        pdf = folder / "report.pdf"
        if not pdf.is_file():
            raise TexFailed("LaTeX finished without producing a PDF", _log_excerpt(folder))
        return pdf.read_bytes()


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXINPUTS", "TEXMF"))}
    env.update({
        "openout_any": "p",  # write only in the working directory (no dot files, no ..)
        "openin_any": "p",  # read likewise, besides TeX's own tree
        "shell_escape": "f",  # \write18 never runs a command
        "TEXMFOUTPUT": str(folder),
        "HOME": str(folder),  # no user rc files or caches from elsewhere
        "LC_ALL": "C",
    })
    return env


def _pdflatex_passes(folder: Path, env: dict[str, str], time_limit: float) -> None:
    """pdflatex until cross-references (longtable widths, links) settle: 2 or 3 passes."""
    import time

    deadline = time.monotonic() + time_limit
    for attempt in range(3):
        _run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
              "-file-line-error", "report.tex"], folder, env,
             max(deadline - time.monotonic(), 1.0))
        log = (folder / "report.log").read_text(encoding="latin-1", errors="replace")
        if attempt >= 1 and "Rerun" not in log:
            break


def _run(argv: Sequence[str], folder: Path, env: dict[str, str], time_limit: float) -> None:
    try:
        proc = subprocess.Popen(list(argv), cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    except OSError as exc:
        raise TexNotInstalled(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        output, _ = proc.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise TexFailed(f"LaTeX did not finish within {time_limit:.0f} s (stopped)",
                        _log_excerpt(folder)) from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        excerpt = _log_excerpt(folder) or _tail(output.decode("latin-1", errors="replace"))
        raise TexFailed(f"LaTeX failed ({argv[0]} exited with status {proc.returncode})",
                        excerpt)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _log_excerpt(folder: Path) -> str:
    """The error lines of the TeX log (``! ...`` or ``file:line: ...``) with context."""
    log_path = folder / "report.log"
    if not log_path.is_file():
        return ""
    lines = log_path.read_text(encoding="latin-1", errors="replace").splitlines()
    picked: list[str] = []
    for n, line in enumerate(lines):
        if line.startswith(("!", "./report.tex:", "report.tex:")):
            # the error, then its context up to TeX's "l.<line>" marker
            for follow in lines[n:n + 2 + _LOG_CONTEXT]:
                picked.append(follow)
                if follow.startswith("l."):
                    break
            if len(picked) >= _MAX_LOG_LINES:
                break
    return "\n".join("  " + p for p in picked[:_MAX_LOG_LINES])


def _tail(text: str, n: int = 12) -> str:
    return "\n".join("  " + line for line in text.strip().splitlines()[-n:])
