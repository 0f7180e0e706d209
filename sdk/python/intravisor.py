"""Intravisor hostcalls for Python programs running as cVMs.

Pure Python (ctypes, no compiled part): each call is libc's syscall() with
the hostcall's number, 0x2000 + nr (sdk/include/iv_hostcalls.h).

    import intravisor
    intravisor.inspect()   # 1 in a cVM started from scratch, 0 in a fork
    intravisor.save()      # template checkpoint; every fork returns 0 here
    intravisor.get_arg()   # the cVM's args (its config's `args`), as text
    intravisor.write(s)    # the cVM's console
    intravisor.exit(code)  # ends the cVM

Outside a cVM every hostcall fails with ENOSYS: the calls then raise
NotInCVM (an OSError whose errno is ENOSYS).  Any other failure raises
OSError with the hostcall's errno.

save() in a cVM restored from an image (resume + snapshot_path): the
monitor resumes only the saving thread; recreating the template's other
threads needs code that runs without a Python interpreter (a clone onto the
thread's saved stack), which libintravisor.so (the C SDK) has.  save() calls
its iv_restore_threads() when it can load it; without it, save() still
announces the restored cVM (its files are reopened) and returns 0 when
there is no other thread to recreate (a single-threaded program), and raises
RuntimeError when there is.
"""

import ctypes
import errno as _errno
import os
import sys

# Hostcall numbers: sdk/include/iv_hostcalls.h (checked by tests/cases/sdk.sh).
IV_HC_BASE = 0x2000
HC_WRITE = 1
HC_EXIT = 13
HC_INSPECT = 114
HC_SAVE = 115
HC_GET_ARG = 116
HC_FORKED = 117
IV_SAVE_RESTORED = 3

# Where `make install` put libintravisor.so.0 (it rewrites this line).
_LIBDIR = None
_SONAME = "libintravisor.so.0"

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _arg(x):
    # syscall() is variadic: every argument must be passed as a full long.
    if isinstance(x, (ctypes._SimpleCData, ctypes.Array, ctypes._Pointer)):
        return x
    return ctypes.c_long(x)


class NotInCVM(OSError):
    """A hostcall answered ENOSYS: this process is not running in a cVM."""


def hostcall(nr, a=0, b=0, c=0):
    """Makes hostcall nr with up to three arguments (ints or ctypes
    pointers); returns its result or raises NotInCVM / OSError."""
    r = _syscall(ctypes.c_long(IV_HC_BASE + nr), _arg(a), _arg(b), _arg(c))
    if r == -1:
        e = ctypes.get_errno()
        if e == _errno.ENOSYS:
            raise NotInCVM(e, "not running in an Intravisor cVM "
                              "(hostcall %d answered ENOSYS)" % nr)
        raise OSError(e, "hostcall %d: %s" % (nr, os.strerror(e)))
    return r


def inspect():
    """1 in a cVM started from scratch (a template or a plain cVM), 0 in a
    fork or a cVM restored from an image."""
    return hostcall(HC_INSPECT)


def get_arg():
    """The cVM's args as its config gives them (a list: items joined by
    single spaces)."""
    size = 256
    while True:
        buf = ctypes.create_string_buffer(size)
        n = hostcall(HC_GET_ARG, buf, size)
        if n < size:
            return buf.raw[:n].decode("utf-8", "surrogateescape")
        size = n + 1


def write(text):
    """Writes text (str or bytes) to the cVM's console; returns the bytes
    written."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
    buf = ctypes.create_string_buffer(data, len(data))
    return hostcall(HC_WRITE, buf, len(data))


def exit(code=0):
    """Ends the cVM with status code at once (sys.stdout and sys.stderr are
    flushed first; nothing else runs)."""
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    hostcall(HC_EXIT, code)
    os._exit(code)


def _sdk_library():
    names = [os.path.join(_LIBDIR, _SONAME)] if _LIBDIR else []
    for name in names + [_SONAME]:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.iv_restore_threads.restype = ctypes.c_long
        lib.iv_restore_threads.argtypes = []
        return lib
    return None


def save():
    """Template checkpoint.  A template freezes here and never returns; each
    fork made of it returns 0 here, with the template's threads.  In a cVM
    with `fork: 0` it returns 0 at once.  See the module's doc for a cVM
    restored from an image."""
    r = hostcall(HC_SAVE)
    if r != IV_SAVE_RESTORED:
        return r
    lib = _sdk_library()
    if lib is not None:
        n = lib.iv_restore_threads()
        if n < 0:
            raise OSError(-n, "restoring threads: %s" % os.strerror(-n))
        return 0
    n = hostcall(HC_FORKED)
    if n > 0:
        raise RuntimeError("restored from an image with %d other thread(s) to recreate, "
                           "which needs %s (the Intravisor C SDK): not found" % (n, _SONAME))
    return 0
