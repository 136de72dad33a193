#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Packs the guest's Python into one tarball (see guest-python.sh for why).

usage: guest-python.py KSRC SELFTESTS TARBALL

Only what the tests import: the modules of the standard library (and of
PyYAML) that a Python loads when it imports every module named by an import
statement of the tests (the Python files under SELFTESTS) and of the kernel
tree's YNL and kselftest library, with their byte code. Anything else still
imports, from the host's file system: sitecustomize.py appends the
interpreter's own library to the path. Layout of the tarball:
  bin/python3                 the interpreter (PYTHONHOME is the tmpfs)
  lib/libpython*.so*          when it is linked to one (stripped)
  lib/pythonX.Y/...           the modules, lib-dynload/ among them
  site/                       PYTHONPATH: yaml, sitecustomize.py
  ksrc/                       the kernel tree's YNL, specs, kselftest library
"""

import ast
import compileall
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile

KSRC_PARTS = ["tools/net/ynl/pyynl/__init__.py", "tools/net/ynl/pyynl/lib",
              "tools/testing/selftests/net/lib/py",
              "tools/testing/selftests/drivers/net/lib/py",
              "Documentation/netlink/specs"]

# Run in a fresh interpreter: imports the names given on stdin (JSON), then
# prints the file of every module loaded.
PROBE = """
import importlib, json, sys
for name in json.load(sys.stdin):
    try:
        importlib.import_module(name)
    except Exception:  # a name of the tests' own, or not for this host
        pass
print(json.dumps(sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})))
"""


def imported_names(paths):
    """Top-level module names of every absolute import in the files."""
    names = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def python_files(*roots):
    """The Python files under the roots."""
    for root in roots:
        if os.path.isfile(root):
            yield root
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            yield from (os.path.join(folder, f) for f in files if f.endswith(".py"))


def loaded_files(ksrc, names):
    """Files of the modules a Python loads importing the names."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [f"{ksrc}/tools/testing/selftests/drivers/net", f"{ksrc}/tools/testing/selftests",
         f"{ksrc}/tools"]))
    out = subprocess.run([sys.executable, "-c", PROBE], input=json.dumps(sorted(names)),
                         capture_output=True, text=True, env=env, check=True)
    return [f for f in json.loads(out.stdout) if f]


def main():
    ksrc, selftests, tarball = sys.argv[1:4]
    ver = "python%d.%d" % sys.version_info[:2]
    stdlib = sysconfig.get_paths()["stdlib"]
    dynload = next(p for p in sys.path if p.endswith("lib-dynload"))
    import yaml  # pylint: disable=import-outside-toplevel
    yaml_site = os.path.dirname(os.path.dirname(yaml.__file__))
    exe = os.path.realpath(sys.executable)

    ours = list(python_files(selftests, *(f"{ksrc}/{p}" for p in KSRC_PARTS)))
    names = imported_names(ours) | {"lib.py", "net.lib.py", "yaml", "encodings.latin_1",
                                    "shutil", "tempfile", "subprocess"}
    stage = tempfile.mkdtemp(prefix="rdl-guest-python.")
    # The tests' unprivileged users run it too.
    os.chmod(stage, 0o755)
    try:
        def put(src, dst):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
            if src.endswith(".py"):
                pyc = importlib.util.cache_from_source(src)
                if os.path.exists(pyc):
                    put(pyc, importlib.util.cache_from_source(dst))

        # A package goes whole: its submodules are looked up in its own
        # folder only, never further along the path.
        def put_top(src_root, f, dst_root):
            top = os.path.relpath(f, src_root).split(os.sep)[0]
            src, dst = os.path.join(src_root, top), os.path.join(dst_root, top)
            if os.path.isdir(src):
                if not os.path.exists(dst):
                    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                        "test", "tests", "*.opt-1.pyc", "*.opt-2.pyc"))
            else:
                put(src, dst)

        for f in loaded_files(ksrc, names):
            if f.startswith(dynload + "/"):
                put_top(dynload, f, f"{stage}/lib/{ver}/lib-dynload")
            elif f.startswith(stdlib + "/") and "-packages/" not in f:
                put_top(stdlib, f, f"{stage}/lib/{ver}")
            elif f.startswith(yaml_site + "/") and "yaml" in os.path.relpath(f, yaml_site):
                put_top(yaml_site, f, f"{stage}/site")
        # Modules the list missed come from the interpreter's own library.
        with open(f"{stage}/site/sitecustomize.py", "w", encoding="utf-8") as f:
            f.write("# SPDX-License-Identifier: GPL-2.0\n"
                    "import sys\n"
                    f"sys.path += {[stdlib, dynload]!r}\n")

        put(exe, f"{stage}/bin/python3")
        ldd = subprocess.run(["ldd", exe], capture_output=True, text=True, check=True).stdout
        for line in ldd.splitlines():
            parts = line.split()
            if parts and parts[0].startswith("libpython") and len(parts) > 2:
                subprocess.run(["strip", "-o", f"{stage}/lib/{parts[0]}", parts[2]], check=True)

        for part in KSRC_PARTS:
            src, dst = f"{ksrc}/{part}", f"{stage}/ksrc/{part}"
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                put(src, dst)
        compileall.compile_dir(f"{stage}/ksrc/tools", quiet=1, workers=0)

        with tarfile.open(tarball + ".tmp", "w") as tar:
            tar.add(stage, arcname=".")
        os.replace(tarball + ".tmp", tarball)
    finally:
        shutil.rmtree(stage)


if __name__ == "__main__":
    main()
