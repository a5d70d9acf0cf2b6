"""Only the optional C extension lives here; everything else is in pyproject.toml.

transforms/_fastseg.c is an accelerator, not a requirement: where no C compiler works (`CC=/bin/false`,
a slim Airflow worker image), the build prints a warning and goes on without it, and the transforms
run the same code paths in Python (transforms/_pyfastseg.py, chosen by transforms/_accel.py).
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that skips an extension it cannot build instead of failing the install."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler at all: distutils' CCompilerError, PlatformError, ...
            self._skip("the C extensions", error)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:  # the compiler is missing or fails (CompileError, LinkError, OSError)
            self._skip(ext.name, error)

    @staticmethod
    def _skip(name, error):
        print(
            f"WARNING: not building {name} ({type(error).__name__}: {error}); the transforms will use "
            "their pure-Python implementation (transforms/_pyfastseg.py): same results, slower.",
            file=sys.stderr,
        )


setup(
    ext_modules=[
        Extension(
            "transforms._fastseg",
            ["transforms/_fastseg.c"],
            # Same double arithmetic as CPython's floats: no fused multiply-add, no fast-math.
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
