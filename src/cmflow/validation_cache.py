"""Remembering that a workflow file validated, so that checking it again answers at once.

Linters keep such a cache (ruff, mypy): ``cmflow validate`` costs most of its time importing
click and pydantic and building the plugins' options models, none of which a file that has not
changed needs. A successful validation is remembered with everything it read or depended on,
found by watching it rather than listed by hand, so that a plugin's own checks are covered too:

- every file it opened, looked at (exists, is a file) or listed, outside the installed
  libraries: the workflow file, its ``.env``, a file an option names, a folder a glob lists, a
  time zone's file; kept as mode, owner, size, ``mtime_ns``, ``ctime_ns`` and inode (a folder
  listed: its names; a folder looked at: that it is one);
- the source files of the modules loaded outside the installed libraries (cmflow or a plugin
  installed editable: an edit counts);
- every environment variable it read, present or not, and whether it listed them all; their
  values enter a salted digest (the salt kept beside it), and the cache in clear only as the
  printed line shows them;
- the names in every folder of ``sys.path`` outside the standard library (each installed
  distribution's ``name-version.dist-info`` with its inode and ctime: cmflow's version and the
  plugins installed, a reinstall too), the
  Python executable and version, the user, the current folder, the file's path as given;
- the day: an entry expires at the next midnight, in UTC and in the workflow's time zone (a
  period without ``as_of`` is checked against today).

Watched is what Python code does (``open``, ``os.stat``/``lstat``/``access``, ``os.listdir``/
``scandir``, ``os.environ``/``environb``): not what C code, the network or a subprocess reads. Only a
regular workflow file is remembered, and only if no file changed between its reading and the
saving nor was modified within :data:`RACY_SECONDS` before its reading.

What is remembered is the line validate printed; a changed input, an expired, unreadable or
corrupt entry, or a cache folder that cannot be written, means a full validation, silently.
Problems are never remembered. This module imports nothing beyond the standard library, so a
remembered answer costs the interpreter's start and a few hundred ``stat`` calls.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

FORMAT = 1
"""Bumped when an entry's layout or what the key holds changes: older entries then miss."""
CACHE_FOLDER_VARIABLE = "CMFLOW_CACHE_DIR"


def cache_folder() -> str:
    """Where entries live: ``$CMFLOW_CACHE_DIR``, else ``$XDG_CACHE_HOME/cmflow``, else
    ``~/.cache/cmflow``; entries in its ``validate`` folder."""
    base = os.environ.get(CACHE_FOLDER_VARIABLE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cmflow")
    return os.path.join(base, "validate")


def _library_folders() -> tuple[str, ...]:
    """Folders whose content the listing of ``sys.path`` and the Python version already stand for:
    the standard library's and the ``site-packages`` (or ``dist-packages``) folders on ``sys.path``,
    not whole prefixes (with a system Python, ``/usr`` holds ``/usr/local`` and ``/usr/share``)."""
    folders = [os.path.dirname(os.__file__)]
    folders += (entry for entry in sys.path
                if os.path.basename(os.path.normpath(entry or os.curdir)) in ("site-packages", "dist-packages"))
    return tuple(dict.fromkeys(os.path.join(found(folder), "") for folder in folders
                               for found in (os.path.abspath, os.path.realpath)))


def _watched(path: str, libraries: tuple[str, ...]) -> bool:
    return not (path.startswith(libraries) or "__pycache__" in path or path.endswith(".pyc")
                or path.startswith(("/proc/", "/dev/", "/sys/")))


def _environment_folders() -> list[str]:
    """``sys.path``'s folders whose names stand for the installed distributions (not the standard
    library's, which the Python version stands for)."""
    standard = os.path.realpath(os.path.dirname(os.__file__))
    folders = []
    for entry in sys.path:
        folder = os.path.realpath(entry or os.curdir)
        if folder != standard and not folder.startswith(os.path.join(standard, "lib-dynload")):
            folders.append(folder)
    return folders


def _entry_name(file: str) -> str:
    """The entry's file name: what the file is, as given and from where, and which Python reads it."""
    user = str(os.geteuid()) if hasattr(os, "geteuid") else ""  # none on Windows: its cache folder is the user's
    key = "\0".join((str(FORMAT), file, os.getcwd(), sys.executable, sys.version, user))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".json"


def _state(path: str) -> str:
    try:
        found = os.stat(path)
    except OSError as error:
        return f"missing {error.errno}"
    if stat.S_ISDIR(found.st_mode):  # looked at, not listed (a listing is watched apart): only that it is one
        return "folder"
    # The whole mode and owner: a file made unreadable must not stay valid; ctime: any such change.
    return (f"{found.st_mode} {found.st_uid} {found.st_gid} {found.st_size} {found.st_mtime_ns} "
            f"{found.st_ctime_ns} {found.st_ino}")


RACY_SECONDS = 2
"""A file modified this close to its reading may change again within one timestamp tick (FAT: 2 s)
with nothing to show it: as git does, such a validation is not remembered."""


def _unchanged_since_read(recorded: Recorder) -> bool:
    """Whether every file the validation read is as it was when first seen, and was not modified
    within :data:`RACY_SECONDS` of that moment."""
    libraries = _library_folders()
    for path, (state, seen_ns) in recorded.read.items():
        if not _watched(path, libraries):
            continue
        if _state(path) != state:
            return False
        try:
            found = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(found.st_mode) and found.st_mtime_ns > seen_ns - RACY_SECONDS * 1_000_000_000:
            return False
    return True


def _names(folder: str) -> str:
    """The folder's names; for each ``*.dist-info`` also its inode and ctime, so that a reinstall
    of the same version (the same name, other files) counts as a change."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as error:
        return f"missing {error.errno}"
    listed = []
    for name in names:
        if name.endswith(".dist-info"):
            try:
                found = os.stat(os.path.join(folder, name))
                name = f"{name} {found.st_ino} {found.st_ctime_ns}"
            except OSError as error:
                name = f"{name} missing {error.errno}"
        listed.append(name)
    return "\0".join(listed)


def _digest(salt: str, inputs: dict) -> str:
    """One digest of the current state of everything an entry depends on."""
    digest = hashlib.sha256(salt.encode())
    for path in inputs["files"]:
        digest.update(f"f{path}\0{_state(path)}\n".encode("utf-8", "surrogateescape"))
    for folder in inputs["folders"]:
        digest.update(f"d{folder}\0{_names(folder)}\n".encode("utf-8", "surrogateescape"))
    for name in inputs["variables"]:
        value = os.environ.get(name)
        digest.update(f"e{name}\0{'-' if value is None else '+' + value}\n".encode("utf-8", "surrogateescape"))
    if inputs["all_variables"]:
        digest.update(("E" + "\0".join(sorted(os.environ))).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def recall(file: str) -> str | None:
    """The line a full validation of ``file`` printed, if nothing it depended on has changed
    since; None otherwise (no entry, expired, changed, unreadable or corrupt)."""
    import json

    try:
        with open(os.path.join(cache_folder(), _entry_name(file)), encoding="utf-8") as stream:
            entry = json.load(stream)
        if entry["format"] != FORMAT or entry["expires"] <= time.time() or entry["file"] != file:
            return None
        inputs = entry["inputs"]
        inputs = {**inputs, "folders": [*inputs["folders"], *_environment_folders()]}
        if _digest(entry["salt"], inputs) != entry["digest"]:
            return None
        return str(entry["line"])
    except Exception:  # noqa: BLE001 - any trouble with the cache means a full validation
        return None


def remember(file: str, line: str, recorded: Recorder, expires: float) -> None:
    """Keep ``line`` as the answer for ``file`` while what ``recorded`` saw stays the same, until
    ``expires`` (seconds since the epoch). A cache that cannot be written is left alone."""
    with recorded.paused():
        try:
            if _rememberable(file):
                _write(file, line, recorded, expires)
        except Exception:  # noqa: BLE001 - the cache changes nothing but the speed
            pass


def forget(file: str) -> None:
    """Delete what is remembered of ``file`` (found invalid, or validated with ``--no-cache``)."""
    with contextlib.suppress(OSError):
        os.remove(os.path.join(cache_folder(), _entry_name(file)))


def _rememberable(file: str) -> bool:
    """Only a regular file whose state is watched: stdin, ``/dev/fd``, a fifo or a process
    substitution can say something else the next time with nothing to tell it changed."""
    try:
        regular = stat.S_ISREG(os.stat(file).st_mode)
    except OSError:
        return False
    return regular and _watched(os.path.abspath(file), _library_folders())


def _write(file: str, line: str, recorded: Recorder, expires: float) -> None:
    import json

    if recorded.unsaveable or not _unchanged_since_read(recorded):
        return
    libraries = _library_folders()
    modules = (getattr(module, "__file__", None) for module in list(sys.modules.values()))
    files = sorted({path for path in (*recorded.files, *(os.path.abspath(m) for m in modules if isinstance(m, str)))
                    if _watched(path, libraries)})
    inputs = {"files": files, "folders": sorted(p for p in recorded.folders if _watched(p, libraries)),
              "variables": sorted(recorded.variables), "all_variables": recorded.all_variables}
    salt = os.urandom(16).hex()
    digest = _digest(salt, {**inputs, "folders": [*inputs["folders"], *_environment_folders()]})
    entry = {"format": FORMAT, "file": file, "expires": expires, "salt": salt, "inputs": inputs,
             "digest": digest, "line": line}
    folder = cache_folder()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        path = os.path.join(folder, _entry_name(file))
        written = f"{path}.{os.getpid()}.tmp"
        with open(os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as stream:
            json.dump(entry, stream)
        os.replace(written, path)
    except OSError:
        pass


_recording: list[Recorder] = []
_one_at_a_time = threading.Lock()


def _on_audit(event: str, arguments: tuple) -> None:
    if not _recording or not _recording[-1].active:
        return
    if event == "open":
        path = arguments[0]
        if isinstance(path, (str, bytes, os.PathLike)):
            _recording[-1].saw_file(path)
    elif event in ("os.listdir", "os.scandir"):
        path = arguments[0]
        if isinstance(path, (str, bytes, os.PathLike)) or path is None:
            _recording[-1].saw_folder(os.curdir if path is None else path)
        elif isinstance(path, int):  # a folder listed by its descriptor names no path to list again
            _recording[-1].unsaveable = True


class Recorder:
    """Watches validations: the files they open, look at or list, and the environment variables
    they read (``with Recorder() as recorded:``). One at a time, in one thread. A command that
    validates several files keeps one for all: what the first file's validation read once for the
    process (the plugins' allow-list, their entry points) counts for the next ones too."""

    _hooked = False

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.read: dict[str, tuple[str, int]] = {}
        """Each file's state when first seen, and when (``time.time_ns()``): compared before saving."""
        self.folders: set[str] = set()
        self.variables: set[str] = set()
        self.all_variables = False
        self.unsaveable = False
        """Set when validation looked at a file in a way that cannot be watched (``dir_fd=``, a
        folder listed by its descriptor)."""
        self.active = False

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """What runs in here is not validate's (remembering an answer stats and writes files)."""
        was, self.active = self.active, False
        try:
            yield
        finally:
            self.active = was

    def saw_file(self, path) -> None:
        path = os.path.abspath(os.fsdecode(path))  # abspath: realpath would stat, and be watched
        if path not in self.read:  # seen before it is read: a change after this shows when saving
            with self.paused():
                self.read[path] = (_state(path), time.time_ns())
        self.files.add(path)

    def saw_folder(self, path) -> None:
        self.folders.add(os.path.abspath(os.fsdecode(path)))

    def __enter__(self) -> Recorder:
        if not Recorder._hooked:  # an audit hook stays for the process's life: one, idle when not recording
            sys.addaudithook(_on_audit)
            Recorder._hooked = True
        if not _one_at_a_time.acquire(blocking=False):
            raise RuntimeError("a validation Recorder is already recording: one at a time")
        recorder = self
        environ = type(os.environ)
        self._saved = {"stat": os.stat, "lstat": os.lstat, "access": os.access,
                       "getitem": environ.__getitem__, "iter": environ.__iter__}
        getitem, iterate = environ.__getitem__, environ.__iter__

        def watched_getitem(mapping, name):  # get(), in, getenv() come through here too
            if recorder.active and isinstance(name, (str, bytes)):  # os.environb's names are bytes
                recorder.variables.add(os.fsdecode(name))
            return getitem(mapping, name)

        def watched_iter(mapping):
            if recorder.active:
                recorder.all_variables = True
            return iterate(mapping)

        os.stat, os.lstat, os.access = (self._watching(function) for function in (os.stat, os.lstat, os.access))
        environ.__getitem__, environ.__iter__ = watched_getitem, watched_iter
        self.active = True
        _recording.append(self)
        return self

    def _watching(self, function):
        """``function`` (os.stat, lstat, access) that first notes the path it is given; a path
        relative to a ``dir_fd`` cannot be watched: then nothing is remembered."""
        recorder = self

        def watched(path, *args, **kwargs):
            if recorder.active:
                if kwargs.get("dir_fd") is not None:
                    recorder.unsaveable = True
                elif isinstance(path, (str, bytes, os.PathLike)):
                    recorder.saw_file(path)
            return function(path, *args, **kwargs)

        return watched

    def __exit__(self, *exc_info) -> None:
        self.active = False
        _recording.remove(self)
        environ = type(os.environ)
        os.stat, os.lstat, os.access = self._saved["stat"], self._saved["lstat"], self._saved["access"]
        environ.__getitem__, environ.__iter__ = self._saved["getitem"], self._saved["iter"]
        _one_at_a_time.release()
