"""Build the compiled kernels: every ``src/**/*.pyx`` becomes an extension module.

Metadata lives in pyproject.toml; this file only lists the Cython extensions
(https://setuptools.pypa.io/en/latest/userguide/ext_modules.html).
"""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

SRC = Path(__file__).parent / "src"


def _extensions() -> list[Extension]:
    exts = []
    for pyx in sorted(SRC.rglob("*.pyx")):
        rel = pyx.relative_to(SRC.parent)
        name = ".".join(pyx.relative_to(SRC).with_suffix("").parts)
        exts.append(Extension(name, [str(rel)], extra_compile_args=["-O3"]))
    return exts


setup(
    ext_modules=cythonize(
        _extensions(),
        language_level=3,
        include_path=[str(SRC)],  # shared .pxd files are cimported by package path
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True, "initializedcheck": False},
    )
)
