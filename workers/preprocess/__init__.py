"""Payload preprocessing before the GPU kernel: wasm under wasmtime, numpy fallback, same bytes.

Entry point: `Preprocessor.run(name, data, params, seed)`; valid names are `PREPROCESSORS`.
"""

from shardy.workers.preprocess.plans import PREPROCESSORS
from shardy.workers.preprocess.preprocessor import Preprocessor

__all__ = ["PREPROCESSORS", "Preprocessor"]
